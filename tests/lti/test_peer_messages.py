"""Messages and roles peers support (issue 15): submission review, mentors, the lti1p1 claim."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from lti_tool.lti import lti1p1
from lti_tool.models import Attempt, GradeDelivery, LtiUser

from ..concurrency import together
from ..forms import forms
from ..lti_platform import moodle_claims
from ..player import begin

ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
MESSAGE_TYPE = "https://purl.imsglobal.org/spec/lti/claim/message_type"
FOR_USER = "https://purl.imsglobal.org/spec/lti/claim/for_user"
MENTOR_SCOPE = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"
LTI1P1 = "https://purl.imsglobal.org/spec/lti/claim/lti1p1"
DEPLOYMENT = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
M = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
MODULE = "fx-online-safety"


def launch_as(client, moodle, roles, sub, name, change=None, shape="student_launch"):
    """A Moodle launch into the fixture module's link as this person; the launch response."""
    def mutate(claims):
        claims[ROLES] = roles
        claims["sub"] = sub
        claims["name"], claims["given_name"], claims["family_name"] = name, *name.split()
        claims[CUSTOM] = {**claims[CUSTOM], "module": MODULE}
        claims.pop(NRPS, None)  # the class list comes from launches here
        if change:
            change(claims)
    response, _, _ = moodle.launch(client, moodle_claims(shape), mutate=mutate, login_hint=sub)
    return response


def launch_id(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def student_starts(app, moodle, sub, name) -> None:
    """A student opens the activity and starts the module (an attempt in progress)."""
    client = app.test_client()
    assert begin(client, launch_id(launch_as(client, moodle, [M + "Learner"], sub,
                                             name))).status_code == 302


# -- submission review ------------------------------------------------------------------
def review_of(sub):
    """Claims change for an LtiSubmissionReviewRequest about the student `sub`."""
    def change(claims):
        claims[MESSAGE_TYPE] = "LtiSubmissionReviewRequest"
        claims[FOR_USER] = {"user_id": sub, "roles": [M + "Learner"]}
    return change


def test_a_lecturer_clicking_a_grade_lands_on_that_students_attempts(app, moodle, fx_module,
                                                                     db):
    student_starts(app, moodle, "4", "Sam Student")
    student_starts(app, moodle, "5", "Ria Other")
    lecturer = app.test_client()
    response = launch_as(lecturer, moodle, [M + "Instructor"], "3", "Lee Lecturer",
                         review_of("5"), shape="teacher_launch")
    page = lecturer.get(response.headers["Location"], follow_redirects=True)
    html = page.get_data(as_text=True)
    sam, ria = (db.scalar(select(LtiUser.id).where(LtiUser.sub == s)) for s in ("4", "5"))
    assert page.status_code == 200
    assert page.request.path == f"/c/{launch_id(response)}/link/students/{ria}"
    assert "<h1>Ria Other</h1>" in html and "In progress" in html and "Sam Student" not in html


def test_a_student_opening_a_review_sees_their_own_work_only(app, moodle, fx_module, db):
    student_starts(app, moodle, "4", "Sam Student")
    client = app.test_client()
    response = launch_as(client, moodle, [M + "Learner"], "4", "Sam Student", review_of("4"))
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 200 and page.request.path.startswith("/l/")
    assert "/c/" not in page.request.path
    assert db.scalar(select(func.count()).select_from(Attempt)) == 1  # no new attempt


def test_a_review_of_someone_who_never_opened_the_tool_says_so(app, moodle, fx_module):
    lecturer = app.test_client()
    response = launch_as(lecturer, moodle, [M + "Instructor"], "3", "Lee Lecturer",
                         review_of("99"), shape="teacher_launch")
    page = lecturer.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 404
    assert "This student has not opened the activity yet" in page.get_data(as_text=True)


def test_a_review_without_for_user_is_refused_clearly(app, moodle, fx_module, caplog):
    def change(claims):
        claims[MESSAGE_TYPE] = "LtiSubmissionReviewRequest"
    caplog.set_level(logging.WARNING)
    response = launch_as(app.test_client(), moodle, [M + "Instructor"], "3", "Lee Lecturer",
                         change, shape="teacher_launch")
    assert response.status_code == 400
    assert "The launch was missing required information" in response.get_data(as_text=True)
    assert "for_user is missing for LtiSubmissionReviewRequest" in caplog.text


# -- mentors -----------------------------------------------------------------------------
def mentor_of(*subs):
    def change(claims):
        claims[MENTOR_SCOPE] = list(subs)
    return change


def test_a_mentor_sees_their_mentees_progress_and_nobody_elses(app, moodle, fx_module, db):
    student_starts(app, moodle, "4", "Sam Student")
    student_starts(app, moodle, "5", "Ria Other")
    sam, ria = (db.scalar(select(LtiUser.id).where(LtiUser.sub == s)) for s in ("4", "5"))
    mentor = app.test_client()
    lid = launch_id(launch_as(mentor, moodle, [M + "Mentor"], "20", "Pat Parent",
                              mentor_of("4", "30")))
    page = mentor.get(f"/launch/{lid}", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Students you mentor" in html
    assert f"/l/{lid}/mentees/{sam}" in html and "Ria Other" not in html
    assert "1 student you mentor has not opened the tool yet" in html
    assert not [f for f in forms(html) if f["action"].endswith(("/start", "/retry"))]

    progress = mentor.get(f"/l/{lid}/mentees/{sam}")
    text = progress.get_data(as_text=True)
    assert progress.status_code == 200
    assert "<h1>Sam Student</h1>" in text and "In progress" in text and "read-only" in text
    assert "Mastery per domain and element" in text
    assert "<form" not in text  # nothing to press: read-only

    refused = mentor.get(f"/l/{lid}/mentees/{ria}")
    assert refused.status_code == 403
    assert "only see the students you mentor" in refused.get_data(as_text=True)
    assert "Ria Other" not in refused.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Attempt)) == 2  # none of the mentor's
    assert db.scalar(select(func.count()).select_from(GradeDelivery).where(
        GradeDelivery.user_id.not_in([sam, ria]))) == 0


def test_a_student_cannot_use_the_mentee_page(app, moodle, fx_module, db):
    student_starts(app, moodle, "5", "Ria Other")
    ria = db.scalar(select(LtiUser.id).where(LtiUser.sub == "5"))
    client = app.test_client()
    # A learner whose launch carries the claim anyway is not a mentor.
    lid = launch_id(launch_as(client, moodle, [M + "Learner"], "4", "Sam Student",
                              mentor_of("5")))
    assert client.get(f"/l/{lid}/mentees/{ria}").status_code == 403


def test_a_mentor_without_the_claim_is_told_what_is_missing(app, moodle, fx_module):
    mentor = app.test_client()
    lid = launch_id(launch_as(mentor, moodle, [M + "Mentor"], "20", "Pat Parent"))
    html = mentor.get(f"/l/{lid}/").get_data(as_text=True)
    assert "did not say which students you mentor" in html


# -- the LTI 1.1 migration claim ------------------------------------------------------
SECRET = "tests-own-lti11-secret"


def test_the_signature_matches_the_migration_guides_worked_example():
    claims = {"nonce": "172we8671fd8z", "iat": 1551290796, "exp": 1551290856,
              "iss": "https://lmsvendor.com", "aud": "PM48OJSfGDTAzAo", "sub": "3",
              DEPLOYMENT: "689302"}
    assert lti1p1.base_string(claims, "179248902") == \
        "179248902&689302&https://lmsvendor.com&PM48OJSfGDTAzAo&1551290856&172we8671fd8z"
    assert lti1p1.sign(claims, "179248902", "my-lti11-secret") == \
        "lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps="


def legacy_claim(user_id, secret=SECRET, key="moodle-11-key"):
    def change(claims):
        claims[LTI1P1] = {"user_id": user_id, "oauth_consumer_key": key}
        claims[LTI1P1]["oauth_consumer_key_sign"] = lti1p1.sign(claims, key, secret)
    return change


def set_secret(runner, moodle, db):
    from lti_tool.models import Registration

    reg = db.scalar(select(Registration.id).where(Registration.issuer == moodle.issuer))
    result = runner.invoke(["platform", "set", str(reg), "--lti1p1-key", "moodle-11-key",
                            "--lti1p1-secret", SECRET])
    assert result.exit_code == 0, result.output
    assert "secret set" in result.output and SECRET not in result.output
    shown = runner.invoke(["platform", "show", str(reg)]).output
    assert "moodle-11-key" in shown and SECRET not in shown


def test_a_valid_lti1p1_claim_keeps_the_users_lti11_id(app, moodle, fx_module, db, runner):
    set_secret(runner, moodle, db)
    response = launch_as(app.test_client(), moodle, [M + "Learner"], "4", "Sam Student",
                         legacy_claim("lti11-user-34212"))
    launch_id(response)
    assert db.scalar(select(LtiUser.lti1p1_user_id).where(LtiUser.sub == "4")) == \
        "lti11-user-34212"


def test_a_forged_lti1p1_claim_is_logged_and_ignored(app, moodle, fx_module, db, runner,
                                                      caplog):
    set_secret(runner, moodle, db)
    caplog.set_level(logging.INFO)
    for change in (legacy_claim("stolen-1", secret="not-the-secret"),
                   legacy_claim("stolen-2", key="another-key")):
        page = app.test_client()
        response = launch_as(page, moodle, [M + "Learner"], "4", "Sam Student", change)
        assert page.get(response.headers["Location"], follow_redirects=True).status_code == 200
    assert db.scalar(select(LtiUser.lti1p1_user_id).where(LtiUser.sub == "4")) is None
    assert "oauth_consumer_key_sign does not verify" in caplog.text
    assert "is not the configured LTI 1.1 key" in caplog.text


def test_without_a_configured_secret_the_claim_is_ignored(app, moodle, fx_module, db):
    launch_id(launch_as(app.test_client(), moodle, [M + "Learner"], "4", "Sam Student",
                        legacy_claim("lti11-user-1")))
    assert db.scalar(select(LtiUser.lti1p1_user_id).where(LtiUser.sub == "4")) is None


def test_racing_first_launches_with_the_claim_make_one_user(app, moodle, fx_module, db,
                                                            runner):
    set_secret(runner, moodle, db)
    responses = together(*(lambda: launch_as(app.test_client(), moodle, [M + "Learner"], "4",
                                             "Sam Student", legacy_claim("lti11-user-7"))
                           for _ in range(2)))
    assert [r.status_code for r in responses] == [303, 303]
    assert db.scalars(select(LtiUser.lti1p1_user_id).where(LtiUser.sub == "4")).all() == \
        ["lti11-user-7"]
