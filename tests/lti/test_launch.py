"""Launches from Moodle and Blackboard through the real OIDC flow, and what they record."""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.models import Context, Deployment, DeploymentStatus, Launch, LtiUser, Membership
from lti_tool.models import ResourceLink

from ..lti_platform import blackboard_claims

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


def test_moodle_student_launch_records_everything_and_greets_student(client, moodle, db):
    response, _, auth = moodle.launch(client, "student_launch")
    assert response.status_code == 303
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Hello Sam Student" in html
    assert "LTI Lab Course" in html
    assert "This activity is not set up yet" in html  # the Moodle link names no module

    # The tool asked Moodle for exactly what LTI 1.3 requires.
    assert auth["scope"] == "openid" and auth["response_type"] == "id_token"
    assert auth["response_mode"] == "form_post" and auth["prompt"] == "none"
    assert auth["redirect_uri"] == "http://localhost/lti/launch"
    assert auth["client_id"] == "oVYI0OJl3BFrijK" and auth["login_hint"] == "4"

    user = db.scalar(select(LtiUser).where(LtiUser.sub == "4"))
    assert (user.name, user.given_name, user.family_name, user.email) == (
        "Sam Student", "Sam", "Student", "student1@example.com")
    context = db.scalar(select(Context))
    assert (context.context_id, context.label, context.title) == ("2", "LTILAB", "LTI Lab Course")
    assert context.nrps_url.endswith("/CourseSection/2/bindings/1/memberships")
    membership = db.scalar(select(Membership))
    assert membership.roles == [LEARNER] and membership.user_id == user.id
    link = db.scalar(select(ResourceLink))
    assert link.resource_link_id == "1" and link.title == "Lab LTI Activity"
    assert link.ags_lineitem_url.endswith("/lineitems/2/lineitem?type_id=1")
    assert link.custom["link_setting_url"].endswith("{link_id}/custom")
    launch = db.scalar(select(Launch))
    assert launch.message_type == "LtiResourceLinkRequest" and launch.user_id == user.id


def test_moodle_teacher_gets_lecturer_view(client, moodle):
    def with_module(claims):
        claims[CUSTOM] = {**claims[CUSTOM], "module": "r4-online-safeguarding"}
    response, _, _ = moodle.launch(client, "teacher_launch", login_hint="3", mutate=with_module)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hello Tina Teacher, lecturer view" in html


def test_moodle_teacher_on_a_link_without_module_gets_the_picker(client, moodle):
    response, _, _ = moodle.launch(client, "teacher_launch", login_hint="3")
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.request.path.endswith("/modules")
    assert "Choose the module for this activity" in page.get_data(as_text=True)


def test_relaunch_updates_rather_than_duplicates(client, moodle, db):
    moodle.launch(client, "student_launch")
    response, _, _ = moodle.launch(client, "student_launch", mutate=lambda c: {**c,
                                   "name": "Sam Student-Jones"})
    assert response.status_code == 303
    users = db.scalars(select(LtiUser)).all()
    assert len(users) == 1 and users[0].name == "Sam Student-Jones"
    assert len(db.scalars(select(Launch)).all()) == 2
    assert len(db.scalars(select(Membership)).all()) == 1


def test_a_relaunch_with_news_about_the_course_or_link_records_it(client, moodle, db):
    """The course and link are written only when a launch tells something new; then they are."""
    context_claim = "https://purl.imsglobal.org/spec/lti/claim/context"
    link_claim = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
    ags_claim = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
    moodle.launch(client, "student_launch")
    moodle.launch(client, "student_launch")  # nothing new: course and link read, not written

    def renamed(claims):
        claims[context_claim] = {**claims[context_claim], "title": "Social work 2027",
                                 "label": None}
        claims[link_claim] = {**claims[link_claim], "title": "Online safety, week 3"}
        claims[ags_claim] = {**claims[ags_claim], "scope": claims[ags_claim]["scope"][:1]}
        claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = {"week": "3"}
        return claims

    response, _, _ = moodle.launch(client, "student_launch", mutate=renamed)
    assert response.status_code == 303
    db.expire_all()
    course = db.scalar(select(Context))
    assert course.title == "Social work 2027"
    assert course.label  # a value the platform left out is kept, as before
    link = db.scalar(select(ResourceLink))
    assert link.title == "Online safety, week 3"
    assert link.custom == {"week": "3"} and len(link.ags_scopes) == 1
    assert len(db.scalars(select(Context)).all()) == 1
    assert len(db.scalars(select(ResourceLink)).all()) == 1


def test_a_custom_value_that_changes_only_its_json_type_is_recorded(client, moodle, db):
    """1, 1.0 and true are equal in Python, not to the settings that read them later."""
    custom = "https://purl.imsglobal.org/spec/lti/claim/custom"
    moodle.launch(client, "student_launch", mutate=lambda c: {
        **c, custom: {"max_attempts": 2.0, "flag": 1}})
    moodle.launch(client, "student_launch", mutate=lambda c: {
        **c, custom: {"max_attempts": 2, "flag": True}})
    db.expire_all()
    stored = db.scalar(select(ResourceLink)).custom
    assert stored == {"max_attempts": 2, "flag": True}
    assert type(stored["max_attempts"]) is int and stored["flag"] is True


def test_names_and_email_are_optional(client, moodle, db):
    def anonymous(claims):
        for field in ("name", "given_name", "family_name", "email"):
            claims.pop(field)
        return claims

    response, _, _ = moodle.launch(client, "student_launch", mutate=anonymous)
    assert response.status_code == 303
    user = db.scalar(select(LtiUser))
    assert user.name is None and user.email is None
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert "Hello there" in page.get_data(as_text=True)


def test_blackboard_two_institutions_under_one_client_id(client, blackboard, db):
    for deployment_id in ("bb-deploy-uni-a", "bb-deploy-uni-b"):
        response, _, _ = blackboard.launch(client, blackboard_claims(),
                                           deployment_id=deployment_id)
        assert response.status_code == 303
        page = client.get(response.headers["Location"], follow_redirects=True)
        assert "Hello Jordan Reid" in page.get_data(as_text=True)
    contexts = db.scalars(select(Context).join(Deployment)).all()
    # Same course id, but two tenants: two separate courses.
    assert sorted(c.deployment.deployment_id for c in contexts) == [
        "bb-deploy-uni-a", "bb-deploy-uni-b"]
    assert len(db.scalars(select(LtiUser)).all()) == 1  # unique per registration and sub


def test_unknown_deployment_is_recorded_pending_until_approved(client, moodle, db, runner):
    response, _, _ = moodle.launch(client, "student_launch", deployment_id="7")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Your administrator needs to approve this tool" in html
    pending = db.scalar(select(Deployment).where(Deployment.deployment_id == "7"))
    assert pending.status == DeploymentStatus.PENDING

    listed = runner.invoke(args=["deployment", "list", "--pending"])
    assert "7" in listed.output and "pending" in listed.output
    result = runner.invoke(args=["deployment", "approve", str(pending.registration_id), "7"])
    assert result.exit_code == 0, result.output

    response, _, _ = moodle.launch(client, "student_launch", deployment_id="7")
    assert response.status_code == 303


def test_auto_approve_lets_new_deployments_in(client, jwks_server, db):
    from ..lti_platform import TestPlatform

    canvas = TestPlatform(jwks_server, "canvas-auto", "https://canvas.instructure.com", "10000")
    canvas.register(db, deployment_ids=(), auto_approve=True)
    response, _, _ = canvas.launch(client, "student_launch", deployment_id="42:abc")
    assert response.status_code == 303
    deployment = db.scalar(select(Deployment).where(Deployment.deployment_id == "42:abc"))
    assert deployment.status == DeploymentStatus.APPROVED


def test_landing_page_needs_the_session_that_launched(client, moodle, app):
    response, _, _ = moodle.launch(client, "student_launch")
    other_browser = app.test_client()
    page = other_browser.get(response.headers["Location"])
    assert page.status_code == 401
    assert "Your session has ended" in page.get_data(as_text=True)


def test_moodle_deep_linking_request_is_accepted_and_recorded(client, moodle, db):
    response, _, _ = moodle.launch(client, "deeplink_request", login_hint="3")
    assert response.status_code == 303
    launch = db.scalar(select(Launch))
    assert launch.message_type == "LtiDeepLinkingRequest"
    assert launch.resource_link is None  # deep linking has no link yet
    settings = launch.claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    assert settings["deep_link_return_url"].endswith("sesskey=dTL5L74Cnd")
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.request.path == f"/i/{launch.id}/modules"
    assert "Add activities to your course" in page.get_data(as_text=True)


def test_deep_linking_request_without_return_settings_is_refused(client, moodle, db):
    def no_settings(claims):
        claims.pop("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings")
    response, _, _ = moodle.launch(client, "deeplink_request", mutate=no_settings)
    assert response.status_code == 400
    assert "missing required information" in response.get_data(as_text=True)
