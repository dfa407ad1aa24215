"""University sign-in's settings (domains, a required claim, SSO only, no settings) and the
account's own two-factor code after it (issue 13, item 7)."""

from __future__ import annotations

import pyotp
import pytest

from lti_tool.models import AdminUser

from ...concurrency import same_browser
from ...conftest import make_app
from ...forms import forms
from ..helpers import EMAIL, PASSWORD, csrf, sign_in
from .helpers import NAME, audit, sessions, sso_app, sso_sign_in


# -- settings ------------------------------------------------------------------------------
def test_without_settings_there_is_no_university_sign_in(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    try:
        client = app.test_client()
        assert "Sign in with" not in client.get("/admin/login").get_data(as_text=True)
        assert client.get("/admin/login/sso").status_code == 404
        assert client.get("/admin/login/sso/callback?code=x&state=y").status_code == 404
    finally:
        app.extensions["lti_tool.engine"].dispose()


@pytest.mark.parametrize("settings,email,status", [
    ({"email_domains": ("uni.example.ac.uk",)}, EMAIL, 303),
    ({"email_domains": ("other.example.ac.uk",)}, EMAIL, 403),
    ({"required_claim": ("groups", "lti-tool-admins")}, EMAIL, 403),
])
def test_allowed_domains_and_a_required_claim(database_url, tmp_path, provider, admin_user,
                                              settings, email, status):
    app = sso_app(database_url, tmp_path, provider.issuer, **settings)
    try:
        response = sso_sign_in(app.test_client(), provider)
        assert response.status_code == status, response.get_data(as_text=True)
        provider.user["groups"] = ["staff", "lti-tool-admins"]
        assert sso_sign_in(app.test_client(), provider).status_code == (
            303 if "required_claim" in settings else status)
    finally:
        app.extensions["lti_tool.engine"].dispose()


def test_sso_only_switches_the_password_form_off(database_url, tmp_path, provider, admin_user,
                                                 db):
    app = sso_app(database_url, tmp_path, provider.issuer, only=True)
    try:
        client = app.test_client()
        html = client.get("/admin/login").get_data(as_text=True)
        assert f"Sign in with {NAME}" in html
        assert not [f for f in forms(html) if f["action"] == "/admin/login"]
        assert client.get("/admin/login/sso").status_code == 302  # the button still works
        # A form kept from before the switch, with a good CSRF token, is still refused.
        before = make_app(database_url, tmp_path).test_client()
        token = csrf(before.get("/admin/login").get_data(as_text=True))
        client = same_browser(app, before)
        refused = client.post("/admin/login", data={"csrf_token": token, "email": EMAIL,
                                                    "password": PASSWORD})
        assert refused.status_code == 403
        assert "Password sign-in is switched off" in refused.get_data(as_text=True)
        assert sessions(db) == 0
    finally:
        app.extensions["lti_tool.engine"].dispose()


def test_password_sign_in_still_works_beside_it(client, admin_user):
    assert sign_in(client).status_code == 303


# -- the tool's own two-factor code --------------------------------------------------------
def _enrol(db, user_id: int) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    user = db.get(AdminUser, user_id)
    user.totp_secret = secret
    db.commit()
    return pyotp.TOTP(secret)


def _code_form(client) -> dict:
    html = client.get("/admin/login/sso/code").get_data(as_text=True)
    (form,) = [f for f in forms(html) if f["action"] == "/admin/login/sso/code"]
    return form["fields"]


def test_an_account_with_two_factor_is_still_asked_for_its_code(client, provider, admin_user,
                                                                db):
    app_code = _enrol(db, admin_user.id)
    response = sso_sign_in(client, provider, next_url="/admin/keys")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login/sso/code"
    assert client.get("/admin/").status_code == 303  # not signed in yet
    wrong = client.post("/admin/login/sso/code", data={**_code_form(client), "code": "000000"})
    assert wrong.status_code == 400
    assert "not right" in wrong.get_data(as_text=True)
    right = client.post("/admin/login/sso/code",
                        data={**_code_form(client), "code": app_code.now()})
    assert right.status_code == 303 and right.headers["Location"] == "/admin/keys"
    assert client.get("/admin/").status_code == 200
    assert len(audit(db, "admin.sso_sign_in")) == 1 and sessions(db) == 1


def test_code_guesses_are_throttled(client, provider, admin_user, db):
    _enrol(db, admin_user.id)
    assert sso_sign_in(client, provider).status_code == 303
    statuses = [client.post("/admin/login/sso/code",
                            data={**_code_form(client), "code": f"{n:06d}"}).status_code
                for n in range(6)]
    assert statuses == [400] * 5 + [429]


def test_the_code_step_expires_and_needs_a_sign_in_first(client, provider, admin_user, db):
    assert client.get("/admin/login/sso/code").status_code == 400  # nothing started
    _enrol(db, admin_user.id)
    assert sso_sign_in(client, provider).status_code == 303
    with client.session_transaction() as saved:
        pending = dict(saved["admin_sso_pending"])
        saved["admin_sso_pending"] = {**pending, "at": pending["at"] - 301}
    answer = client.get("/admin/login/sso/code")
    assert answer.status_code == 400 and "Start the sign-in again" in answer.get_data(
        as_text=True)


def test_skip_totp_trusts_the_providers_mfa(database_url, tmp_path, provider, admin_user, db):
    _enrol(db, admin_user.id)
    app = sso_app(database_url, tmp_path, provider.issuer, skip_totp=True)
    try:
        response = sso_sign_in(app.test_client(), provider)
        assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    finally:
        app.extensions["lti_tool.engine"].dispose()
