"""A copied course: its links keep the module chosen for them, and it starts clean."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_tool.models import Attempt

from ..forms import csrf
from ..lti_platform import moodle_claims
from ..player import begin

CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
LINK = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
TITLE = "Meeting professional standards in digital practice"


def launch(client, moodle, shape="student_launch", *, context="2", link="1", custom=None,
           sub=None):
    """A launch into a course and link; the launch id."""
    def mutate(claims):
        claims[CONTEXT] = {**claims[CONTEXT], "id": context}
        claims[LINK] = {**claims[LINK], "id": link}
        claims[CUSTOM] = dict(custom or {})  # no module: it was chosen in the tool's picker
        return claims
    response, _, _ = moodle.launch(client, shape, mutate=mutate, login_hint=sub or "4")
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def set_up_original(app, moodle) -> None:
    """The lecturer chooses p1 for link 1 of course 2 in the tool's picker."""
    lecturer = app.test_client()
    launch_id = launch(lecturer, moodle, "teacher_launch", sub="3")
    page = lecturer.get(f"/i/{launch_id}/modules").get_data(as_text=True)
    saved = lecturer.post(f"/i/{launch_id}/modules", data={
        "module": "p1-professional-standards", "csrf_token": csrf(page)})
    assert saved.status_code == 302


def test_moodle_copy_keeps_the_links_module_and_starts_clean(app, client, moodle, db):
    set_up_original(app, moodle)
    original = launch(client, moodle)
    assert begin(client, original).status_code == 302  # an attempt in the original course
    copied = app.test_client()
    page = copied.get(f"/l/{launch(copied, moodle, context='2-copy')}/", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert TITLE in html and "Start the module" in html  # the module, and no attempt
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Attempt)) == 1


def test_canvas_copy_follows_the_link_id_history(app, client, moodle, db):
    set_up_original(app, moodle)
    history = {"resource_link_id_history": "1", "context_id_history": "2"}
    page = client.get(f"/l/{launch(client, moodle, context='9', link='77', custom=history)}/",
                      follow_redirects=True)
    assert TITLE in page.get_data(as_text=True)


def test_a_platform_without_the_variable_is_not_set_up(app, client, moodle):
    set_up_original(app, moodle)
    unsubstituted = {"resource_link_id_history": "$ResourceLink.id.history"}
    page = client.get(f"/l/{launch(client, moodle, context='9', link='78', custom=unsubstituted)}/",
                      follow_redirects=True)
    assert "This activity is not set up yet" in page.get_data(as_text=True)


def test_first_launches_into_a_copy_at_once_all_get_the_module(app, moodle, db):
    """Several students open the copied link together: each takes the module, none fails."""
    from ..concurrency import together

    set_up_original(app, moodle)
    browsers = [app.test_client() for _ in range(6)]
    prepared = []
    for n, browser in enumerate(browsers):
        auth = moodle.auth_request(moodle.login(browser, login_hint=str(40 + n)))
        claims = moodle.claims(moodle_claims("student_launch"), auth)
        claims["sub"] = str(40 + n)
        claims[CONTEXT] = {**claims[CONTEXT], "id": "2-copy-race"}
        claims[LINK] = {**claims[LINK], "id": "1"}
        claims[CUSTOM] = {}
        prepared.append((browser, {"id_token": moodle.sign(claims), "state": auth["state"]}))
    results = together(*[lambda b=b, f=f: b.post("/lti/launch", data=f) for b, f in prepared])
    assert [r.status_code for r in results] == [303] * len(browsers)
    for (browser, _), result in zip(prepared, results, strict=True):
        page = browser.get(result.headers["Location"], follow_redirects=True)
        assert TITLE in page.get_data(as_text=True)
