"""The console's pages do what the CLI does: registrations, deployments, links, keys, failures."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

import jwt
import pytest
from sqlalchemy import select

from lti_tool.keys import Keyring
from lti_tool.models import (Deployment, DeploymentStatus, LaunchFailure, Registration,
                             RegistrationInvite)
from lti_tool.models.base import utcnow

from ..lti.test_dynreg import FakeMoodle, PlatformServer
from ..lti_platform import rsa_key
from ..grades.conftest import CLIENT_ID
from .helpers import find_form, submit

BLACKBOARD = {
    "name": "Blackboard Learn", "issuer": "https://blackboard.com",
    "client_id": "bb-global-client",
    "auth_login_url": "https://developer.blackboard.com/api/v1/gateway/oidcauth",
    "auth_token_url": "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken",
    "key_set_url": "https://developer.blackboard.com/api/v1/management/applications/"
                   "bb-global-client/jwks.json",
    "auth_audience": "", "deployment_ids": "uni-a\r\nuni-b\r\n\r\nuni-a",
}


def html_of(response) -> str:
    return response.get_data(as_text=True)


# -- registrations -------------------------------------------------------------------------
def test_add_a_registration_by_hand(admin_client, db, log_records):
    response = submit(admin_client, "/admin/registrations/new", "", BLACKBOARD)
    assert response.status_code == 303, html_of(response)
    row = db.scalar(select(Registration))
    assert response.headers["Location"] == f"/admin/registrations/{row.id}"
    assert (row.name, row.issuer, row.client_id) == ("Blackboard Learn",
                                                    "https://blackboard.com",
                                                    "bb-global-client")
    assert row.auth_audience is None and not row.auto_approve_deployments
    assert [(d.deployment_id, d.status) for d in row.deployments] == [
        ("uni-a", DeploymentStatus.APPROVED), ("uni-b", DeploymentStatus.APPROVED)]
    page = html_of(admin_client.get(response.headers["Location"]))
    assert "Registered Blackboard Learn." in page and "uni-b" in page
    assert any("registered platform" in r.getMessage() for r in log_records.records)
    listed = html_of(admin_client.get("/admin/registrations"))
    assert "Blackboard Learn" in listed and "2 approved" in listed


@pytest.mark.parametrize("change, words", [
    ({"key_set_url": "not-a-url"}, "key set URL must be an absolute http(s) URL"),
    ({"issuer": ""}, "Enter the issuer."),
    ({"client_id": "x" * 501}, "Field cannot be longer than 500 characters."),
    ({"name": "tab\there"}, "name contains control characters"),
])
def test_bad_registration_is_explained_and_nothing_stored(admin_client, db, change, words):
    response = submit(admin_client, "/admin/registrations/new", "", {**BLACKBOARD, **change})
    assert response.status_code == 400
    assert words in unescape(html_of(response))
    assert db.scalar(select(Registration)) is None


def test_duplicate_registration_is_refused(admin_client, db, blackboard):
    response = submit(admin_client, "/admin/registrations/new", "",
                      {**BLACKBOARD, "issuer": blackboard.issuer,
                       "client_id": blackboard.client_id})
    assert response.status_code == 400
    assert "is already registered" in unescape(html_of(response))


def test_edit_a_registration(admin_client, db, moodle):
    row = db.scalar(select(Registration))
    url = f"/admin/registrations/{row.id}/edit"
    form = find_form(html_of(admin_client.get(url)), "")
    assert form["fields"]["issuer"] == moodle.issuer  # the form shows what is stored
    response = admin_client.post(url, data={**form["fields"], "name": "Moodle at Uni A",
                                            "auth_audience": "https://aud.example/token",
                                            "auto_approve": "y"})
    assert response.status_code == 303, html_of(response)
    db.expire_all()
    row = db.get(Registration, row.id)
    assert row.name == "Moodle at Uni A" and row.auth_audience == "https://aud.example/token"
    assert row.auto_approve_deployments and row.issuer == moodle.issuer


def test_edit_refuses_to_collide_with_another_registration(admin_client, db, moodle,
                                                           blackboard):
    row = db.scalar(select(Registration).where(Registration.issuer == moodle.issuer))
    url = f"/admin/registrations/{row.id}/edit"
    form = find_form(html_of(admin_client.get(url)), "")
    response = admin_client.post(url, data={**form["fields"], "issuer": blackboard.issuer,
                                            "client_id": blackboard.client_id})
    assert response.status_code == 400
    assert "is already registration" in unescape(html_of(response))
    db.expire_all()
    assert db.get(Registration, row.id).issuer == moodle.issuer


def test_unknown_registration_is_a_clear_404(admin_client):
    response = admin_client.get("/admin/registrations/999")
    assert response.status_code == 404
    assert "There is no registration 999" in html_of(response)


def test_disable_and_enable_a_registration(admin_client, app, db, moodle):
    row = db.scalar(select(Registration))
    page = f"/admin/registrations/{row.id}"
    action = f"{page}/enabled"
    assert submit(admin_client, page, action, value="off").status_code == 303
    student = app.test_client()
    refused = moodle.login(student)  # refused from the first step of the launch
    assert refused.status_code == 403
    assert "This learning environment has been switched off" in html_of(refused)
    assert submit(admin_client, page, action, value="on").status_code == 303
    accepted, _, _ = moodle.launch(student)
    assert accepted.status_code == 303


def test_auto_approve_lets_new_deployments_in(admin_client, app, db, moodle):
    row = db.scalar(select(Registration))
    page = f"/admin/registrations/{row.id}"
    assert submit(admin_client, page, f"{page}/auto-approve", value="on").status_code == 303
    response, _, _ = moodle.launch(app.test_client(), deployment_id="course-copy")
    assert response.status_code == 303
    assert submit(admin_client, page, f"{page}/auto-approve", value="off").status_code == 303
    response, _, _ = moodle.launch(app.test_client(), deployment_id="another-copy")
    assert response.status_code == 403


def test_switch_without_a_value_is_a_400(admin_client, db, moodle):
    row = db.scalar(select(Registration))
    page = f"/admin/registrations/{row.id}"
    form = find_form(html_of(admin_client.get(page)), f"{page}/enabled")
    response = admin_client.post(f"{page}/enabled",
                                 data={"csrf_token": form["fields"]["csrf_token"]})
    assert response.status_code == 400 and "no on/off value" in html_of(response)


# -- deployments ---------------------------------------------------------------------------
def test_approve_a_pending_deployment_then_launch_through_it(admin_client, app, db, moodle):
    student = app.test_client()
    refused, _, _ = moodle.launch(student, deployment_id="42")
    assert refused.status_code == 403
    assert "Your administrator needs to approve this tool" in html_of(refused)
    pending = db.scalar(select(Deployment).where(Deployment.deployment_id == "42"))
    assert pending.status == DeploymentStatus.PENDING

    dashboard = html_of(admin_client.get("/admin/"))
    assert "Approve 42" in dashboard
    action = f"/admin/registrations/{pending.registration_id}/deployments/status"
    response = submit(admin_client, "/admin/", action, deployment_id="42", status="approved")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    assert "Deployment 42 of" in html_of(admin_client.get("/admin/"))

    accepted, _, _ = moodle.launch(student, deployment_id="42")
    assert accepted.status_code == 303, html_of(accepted)
    landed = student.get(accepted.headers["Location"], follow_redirects=True)
    assert landed.status_code == 200
    db.expire_all()
    assert db.get(Deployment, pending.id).status == DeploymentStatus.APPROVED


def test_disable_a_deployment_then_enable_it(admin_client, app, db, moodle):
    row = db.scalar(select(Registration))
    page = f"/admin/registrations/{row.id}"
    action = f"{page}/deployments/status"
    assert submit(admin_client, page, action, deployment_id="1",
                  status="disabled").status_code == 303
    refused, _, _ = moodle.launch(app.test_client())
    assert refused.status_code == 403
    assert "This connection to the tool has been switched off" in html_of(refused)
    assert "Enable 1" in html_of(admin_client.get(page))
    assert submit(admin_client, page, action, deployment_id="1",
                  status="approved").status_code == 303
    accepted, _, _ = moodle.launch(app.test_client())
    assert accepted.status_code == 303


def test_deployment_status_with_tampered_values(admin_client, db, moodle):
    row = db.scalar(select(Registration))
    page = f"/admin/registrations/{row.id}"
    action = f"{page}/deployments/status"
    form = find_form(html_of(admin_client.get(page)), action, deployment_id="1",
                     status="disabled")
    unknown = admin_client.post(action, data={**form["fields"], "deployment_id": "nope"})
    assert unknown.status_code == 404 and "no deployment &#39;nope&#39;" in html_of(unknown)
    bad = admin_client.post(action, data={**form["fields"], "status": "deleted"})
    assert bad.status_code == 400
    elsewhere = admin_client.post(action, data={**form["fields"],
                                                "next": "https://evil.example/"})
    assert elsewhere.headers["Location"] == page


def test_add_a_deployment(admin_client, db, blackboard):
    row = db.scalar(select(Registration))
    page = f"/admin/registrations/{row.id}"
    action = f"{page}/deployments"
    response = submit(admin_client, page, action, {"deployment_id": "bb-deploy-uni-c",
                                                   "name": "Uni C", "pending": "y"})
    assert response.status_code == 303
    dep = db.scalar(select(Deployment).where(Deployment.deployment_id == "bb-deploy-uni-c"))
    assert dep.status == DeploymentStatus.PENDING and dep.name == "Uni C"
    again = submit(admin_client, page, action, {"deployment_id": "bb-deploy-uni-c"})
    assert again.status_code == 400 and "already exists" in html_of(again)


# -- values to paste -----------------------------------------------------------------------
def test_values_page_and_canvas_json(admin_client, client):
    page = html_of(admin_client.get("/admin/values"))
    for words in ("http://localhost/lti/login", "http://localhost/lti/launch",
                  "http://localhost/.well-known/jwks.json", "<code>localhost</code>",
                  "http://localhost/lti/config.json", "Deep linking"):
        assert words in page, words
    response = client.get("/lti/config.json")  # public: a Canvas admin fetches it by URL
    assert response.status_code == 200 and response.is_json
    document = response.get_json()
    assert document["oidc_initiation_url"] == "http://localhost/lti/login"
    assert document["target_link_uri"] == "http://localhost/lti/launch"
    assert document["public_jwk_url"] == "http://localhost/.well-known/jwks.json"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in document["scopes"]
    (extension,) = document["extensions"]
    assert extension["platform"] == "canvas.instructure.com"
    assert extension["privacy_level"] == "public" and extension["domain"] == "localhost"
    placements = {p["placement"]: p["message_type"]
                  for p in extension["settings"]["placements"]}
    assert placements == {"link_selection": "LtiDeepLinkingRequest",
                          "assignment_selection": "LtiDeepLinkingRequest"}
    # The picker opens in a window big enough for its table; copies keep their module.
    assert {(p["selection_width"], p["selection_height"])
            for p in extension["settings"]["placements"]} == {(1000, 800)}
    assert document["custom_fields"]["resource_link_id_history"] == "$ResourceLink.id.history"
    assert json.loads(unescape(re.search(r"<code>(\{.*?)</code>", page, re.S).group(1))) \
        == document


# -- registration links --------------------------------------------------------------------
@pytest.fixture(scope="module")
def platform_server():
    server = PlatformServer()
    yield server
    server.close()


def test_registration_link_works_once(admin_client, app, db, platform_server):
    response = submit(admin_client, "/admin/registration-links", "",
                      {"hours": "2", "note": "Moodle of Uni A"})
    html = html_of(response)
    assert response.status_code == 200
    url = unescape(re.search(r'id="new-link"[^>]*value="([^"]+)"', html).group(1))
    assert url.startswith("http://localhost/lti/register?invite=")
    assert "shown only this once" in html
    invite = db.scalar(select(RegistrationInvite))
    assert invite.note == "Moodle of Uni A"
    assert abs((invite.expires_at - invite.created_at) - timedelta(hours=2)) \
        < timedelta(minutes=1)
    listed = html_of(admin_client.get("/admin/registration-links"))
    assert url not in listed and "open until" in listed  # never shown again

    token = url.split("invite=", 1)[1]
    site = FakeMoodle(platform_server)
    first = site.open(app.test_client(), token)
    assert first.status_code == 200, html_of(first)
    second = FakeMoodle(platform_server).open(app.test_client(), token)
    assert second.status_code == 403
    assert "already been used" in html_of(second)
    listed = html_of(admin_client.get("/admin/registration-links"))
    assert "used" in listed and "Moodle at 127.0.0.1" in listed


def test_registration_link_form_errors(admin_client, db):
    response = submit(admin_client, "/admin/registration-links", "", {"hours": "0"})
    assert response.status_code == 400 and "Between 0.1 and 720 hours." in html_of(response)
    assert db.scalar(select(RegistrationInvite)) is None


def test_expired_link_is_listed_as_expired(admin_client, db):
    from lti_tool.invites import create_invite

    create_invite(db, lifetime=timedelta(seconds=-1), note="old one")
    db.commit()
    listed = html_of(admin_client.get("/admin/registration-links"))
    assert "old one" in listed and "expired" in listed


# -- keys ----------------------------------------------------------------------------------
def jwks_key(client, kid: str):
    """The public key published under `kid` at the JWKS endpoint, or None."""
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    entry = next((k for k in keys if k["kid"] == kid), None)
    return jwt.PyJWK(entry).key if entry else None


def test_rotate_keys_and_verify_with_the_previous_until_retired(admin_client, client, app):
    ring = Keyring(app.config["KEYS_DIR"])
    claims = {"iss": "tool", "aud": "platform", "sub": "deep-linking-response"}
    old_token = ring.sign(claims)
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    response = submit(admin_client, "/admin/keys", "/admin/keys/rotate")
    assert response.status_code == 303
    page = html_of(admin_client.get("/admin/keys"))
    new_kid = ring.current().kid
    assert new_kid != old_kid and "New signing key" in page
    assert f"Retire {old_kid}" in page and f"Retire {new_kid}" not in page

    # Platforms that cached the old key, or hold a message signed with it, still verify.
    assert jwt.decode(old_token, jwks_key(client, old_kid), algorithms=["RS256"],
                      audience="platform")["sub"] == "deep-linking-response"
    new_token = ring.sign(claims)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert jwt.decode(new_token, jwks_key(client, new_kid), algorithms=["RS256"],
                      audience="platform")

    response = submit(admin_client, "/admin/keys", "/admin/keys/retire", kid=old_kid)
    assert response.status_code == 303
    assert jwks_key(client, old_kid) is None  # no longer published: cannot be verified
    assert jwks_key(client, new_kid) is not None
    assert "retired" in html_of(admin_client.get("/admin/keys"))


def test_the_signing_key_cannot_be_retired(admin_client, app):
    ring = Keyring(app.config["KEYS_DIR"])
    kid = ring.current().kid
    page = html_of(admin_client.get("/admin/keys"))
    form = find_form(page, "/admin/keys/rotate")
    response = admin_client.post("/admin/keys/retire",
                                 data={"csrf_token": form["fields"]["csrf_token"], "kid": kid})
    assert response.status_code == 409
    assert "rotate first" in html_of(response)
    assert ring.current().kid == kid


# -- launch failures -----------------------------------------------------------------------
def test_failures_page_lists_a_refused_launchs_reason(admin_client, app, moodle):
    refused, _, _ = moodle.launch(app.test_client(),
                                  token=lambda claims: moodle.sign(claims, key=rsa_key(7)))
    assert refused.status_code == 400
    page = html_of(admin_client.get("/admin/failures"))
    assert "<code>bad_signature</code>" in page
    assert "Signature verification failed" in page
    assert moodle.issuer in page and moodle.client_id in page
    assert "1 in the last 24 hours" in html_of(admin_client.get("/admin/"))


def test_failures_are_newest_first_and_paginated(admin_client, db):
    start = utcnow() - timedelta(hours=2)
    for n in range(60):
        db.add(LaunchFailure(code="expired", reason=f"failure number {n:02d}",
                             created_at=start + timedelta(minutes=n)))
    db.commit()
    first = html_of(admin_client.get("/admin/failures"))
    assert "failure number 59" in first and "failure number 10" in first
    assert "failure number 09" not in first
    assert first.index("failure number 59") < first.index("failure number 58")
    assert "Page 1 of 2" in first and "Older" in first
    second = html_of(admin_client.get("/admin/failures?page=2"))
    assert "failure number 09" in second and "failure number 00" in second
    assert "failure number 10" not in second and "Newer" in second
    assert "Page 2 of 2" in html_of(admin_client.get("/admin/failures?page=99"))
    assert "Page 1 of 2" in html_of(admin_client.get("/admin/failures?page=x"))


# -- grade deliveries ----------------------------------------------------------------------
@pytest.fixture
def ags(app):
    """A loopback grade service (the grades tests' recording platform)."""
    from ..grades.platform import AgsPlatform

    platform = AgsPlatform(CLIENT_ID, lambda: Keyring(app.config["KEYS_DIR"]).public_jwks())
    yield platform
    platform.close()


def test_failed_grade_delivery_is_listed_and_resent(admin_client, app, db, ags, log_records):
    from lti_tool.grades import Progress
    from lti_tool.models import DeliveryStatus, GradeDelivery

    from ..grades.conftest import make_course

    assert "No grade deliveries have failed." in html_of(admin_client.get("/admin/grades"))
    course = make_course(app, db, ags)
    ags.fail("score", 400, body='{"error": "grade sync is off"}')
    course.queue(course.attempt(course.student("4", "Sam Student"), 50.0), Progress.SUBMITTED)
    assert course.deliver().failed
    (row,) = course.rows()
    assert row.status == DeliveryStatus.FAILED_PERMANENT

    page = html_of(admin_client.get("/admin/grades"))
    assert "Sam Student" in page and "Lab LTI Activity" in page and "HTTP 400" in page
    assert f"Resend delivery {row.id}" in page
    assert "1 refused by a VLE" in html_of(admin_client.get("/admin/"))

    app.config["GRADES_DELIVER_INLINE"] = True  # as in production: resend sends at once
    response = submit(admin_client, "/admin/grades", f"/admin/grades/{row.id}/resend")
    assert response.status_code == 303
    after = html_of(admin_client.get("/admin/grades"))
    assert f"Grade delivery {row.id}: Sent to the gradebook" in after
    assert "No grade deliveries have failed." in after
    assert len(ags.accepted_scores()) == 1  # the platform has the score now
    db.expire_all()
    assert db.get(GradeDelivery, row.id).status == DeliveryStatus.DELIVERED
    assert any(f"resent grade delivery {row.id}" in r.getMessage()
               for r in log_records.records)


def test_resending_what_cannot_be_resent_is_explained(admin_client):
    page = html_of(admin_client.get("/admin/"))
    token = find_form(page, "/admin/logout")["fields"]["csrf_token"]
    response = admin_client.post("/admin/grades/999/resend", data={"csrf_token": token})
    assert response.status_code == 303
    assert "There is no grade delivery 999." in html_of(admin_client.get("/admin/grades"))
