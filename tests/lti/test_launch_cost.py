"""What a launch costs the database: statements and commits from the login to the first page.

Counts are deterministic, so they are asserted; time is left to benchmarks/launch.py.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from ..lti_platform import moodle_claims

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


@contextmanager
def database_work(app):
    """Count the statements and commits the app's engine runs inside the block."""
    seen = {"statements": [], "commits": 0}

    def statement(conn, cursor, text, *args):
        seen["statements"].append(text.split()[0].upper() + " " + text[:80])

    def commit(conn):
        seen["commits"] += 1

    engine = app.extensions["lti_tool.engine"]
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def first_launch(app, moodle, sub="4", module="fx-online-safety"):
    """A new student's login and launch and every page up to the module's start page."""
    client = app.test_client()

    def mutate(claims):
        claims["sub"] = sub
        claims[CUSTOM] = {**claims[CUSTOM], "module": module}
        return claims

    with database_work(app) as seen:
        response, _, _ = moodle.launch(client, moodle_claims("student_launch"), mutate=mutate,
                                       login_hint=sub)
        requests = 2
        while response.status_code in (302, 303):
            response = client.get(response.headers["Location"])
            requests += 1
    return response, requests, seen


def test_a_first_launch_takes_three_requests_two_commits_and_few_statements(
        app, moodle, fx_module, monkeypatch):
    import time

    from lti_tool.lti import login

    first_launch(app, moodle, sub="40")  # the key set is fetched and cached once per process
    # The bounded sweep of old logins runs once a minute per process: not due for this launch
    # (otherwise its DELETE lands here whenever the minute happens to end between the two).
    monkeypatch.setattr(login, "_last_purge", [time.monotonic()])
    response, requests, seen = first_launch(app, moodle, sub="41")
    assert response.status_code == 200
    assert "Start the module" in response.get_data(as_text=True)  # straight to the module
    assert requests == 3  # login, launch, the module's start page
    assert seen["commits"] == 2  # the login's state, the launch's records; the page reads
    # Login 1 (INSERT ... SELECT), validation 2 (the login with its registration and
    # deployment; its consumption), the records 4 (user and membership upserts, the course and
    # link read together, the launch), the page 2.
    assert len(seen["statements"]) <= 9, seen["statements"]
    assert not [s for s in seen["statements"] if s.startswith("DELETE")]  # no sweep each time


def test_the_start_page_reuses_the_launch_cookie_and_its_form_works(app, moodle, fx_module):
    import re

    client = app.test_client()
    response, _, _ = moodle.launch(client, moodle_claims("student_launch"), login_hint="60",
                                   mutate=lambda c: {**c, "sub": "60",
                                                     CUSTOM: {"module": "fx-online-safety"}})
    assert "lti_tool_session=" in response.headers.get("Set-Cookie", "")
    page = client.get(response.headers["Location"])
    assert "Start the module" in page.get_data(as_text=True)
    assert "lti_tool_session=" not in page.headers.get("Set-Cookie", "")  # signed once only
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    started = client.post(page.request.path + "start", data={"csrf_token": token, "after": "0"})
    assert started.status_code == 302 and "/step/" in started.headers["Location"]


def test_a_returning_student_updates_in_place(app, moodle, fx_module, db):
    from sqlalchemy import func, select

    from lti_tool.models import LtiUser, Membership, ResourceLink

    first_launch(app, moodle, sub="50")
    response, requests, _ = first_launch(app, moodle, sub="50")
    assert response.status_code == 200 and requests == 3
    assert db.scalar(select(func.count()).select_from(LtiUser).where(LtiUser.sub == "50")) == 1
    assert db.scalar(select(func.count()).select_from(Membership)) == 1
    assert db.scalar(select(func.count()).select_from(ResourceLink)) == 1
