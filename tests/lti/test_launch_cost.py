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


def test_first_launch_probe(app, moodle, fx_module):
    first_launch(app, moodle, sub="40")  # the key set is fetched and cached once
    response, requests, seen = first_launch(app, moodle, sub="41")
    print(requests, len(seen["statements"]), seen["commits"])
    for s in seen["statements"]:
        print(s)
    assert response.status_code == 200
