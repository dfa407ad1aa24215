"""A Data Privacy Launch shows the person their data; their erasure request reaches the console."""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.models import AuditEvent, LtiUser

from ..admin.helpers import submit
from ..forms import csrf

MESSAGE_TYPE = "https://purl.imsglobal.org/spec/lti/claim/message_type"
LINK = "https://purl.imsglobal.org/spec/lti/claim/resource_link"


def privacy_launch(platform, client, login_hint="4"):
    """A LtiDataPrivacyLaunchRequest signed by the platform; returns the page it leads to."""
    def mutate(claims):
        claims[MESSAGE_TYPE] = "LtiDataPrivacyLaunchRequest"
        claims.pop(LINK, None)

    response, _, _ = platform.launch(client, "student_launch", mutate=mutate,
                                     login_hint=login_hint)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client.get(response.headers["Location"], follow_redirects=True)


def test_a_signed_privacy_launch_shows_the_learner_their_data(app, client, moodle, db):
    moodle.launch(client, "student_launch")  # an ordinary launch first
    page = privacy_launch(moodle, client)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.request.path.startswith("/p/")
    assert "Your data in this tool" in html
    assert "Sam Student" in html and "student1@example.com" in html and "<code>4</code>" in html
    assert "Records of when you opened the tool: 2." in html
    assert "Entries in class lists your lecturers opened: 0." in html

    download = client.post(f"{page.request.path}/export", data={"csrf_token": csrf(html)})
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == "attachment; filename=my-data.json"
    assert download.json["tables"]["lti_user"][0]["email"] == "student1@example.com"
    assert "Tina" not in download.get_data(as_text=True)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "data.export"))
    assert event.actor.startswith("lti:user#")


def test_an_ordinary_launch_cannot_open_the_privacy_page(app, client, moodle, db):
    from lti_tool.models import Launch

    moodle.launch(client, "student_launch")
    launch_id = db.scalar(select(Launch.id))
    assert client.get(f"/p/{launch_id}").status_code == 404
    # Another browser, without the launch in its session, is told its session has ended.
    stranger = app.test_client().get(f"/p/{launch_id}")
    assert stranger.status_code == 401 and "Sam" not in stranger.get_data(as_text=True)


def test_an_erasure_request_waits_for_an_admin_who_confirms_it(app, client, moodle, db,
                                                                 admin_client):
    page = privacy_launch(moodle, client)
    html = page.get_data(as_text=True)
    asked = client.post(f"{page.request.path}/erase", data={"csrf_token": csrf(html)},
                        follow_redirects=True)
    text = asked.get_data(as_text=True)
    assert "Your request is recorded" in text and "is waiting for an administrator" in text
    again = client.post(f"{page.request.path}/erase", data={"csrf_token": csrf(text)})
    assert again.status_code == 303  # the form is gone; a replay changes nothing
    assert len(db.scalars(select(AuditEvent).where(
        AuditEvent.action == "data.erase_request")).all()) == 1

    user = db.scalar(select(LtiUser))
    overview = admin_client.get("/admin/data/").get_data(as_text=True)
    target = f"registration {user.registration_id} user#{user.id}"
    assert f"Erase {target}" in overview
    done = submit(admin_client, "/admin/data/", "/admin/data/erase", {"confirm": "yes"},
                  sub="4")
    assert done.status_code == 303
    db.expire_all()
    assert db.scalar(select(LtiUser)).sub.startswith("erased-")
    assert "No erasure request is waiting." in admin_client.get("/admin/data/").get_data(
        as_text=True)
