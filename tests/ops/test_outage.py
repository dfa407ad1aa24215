"""A database outage: people get a 503 to retry, the grades worker waits it out, no traceback."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import pytest

from lti_tool.grades import Progress

from ..conftest import make_app
from ..grades.conftest import make_course
from ..grades.platform import AgsPlatform
from .helpers import BIN, ROOT, clean_env

LOGIN = ("/lti/login?iss=https%3A%2F%2Fmoodle.example.ac.uk&login_hint=2&client_id=abc"
         "&target_link_uri=http%3A%2F%2Flocalhost%2Flti%2Flaunch")


def _assert_try_again(response) -> None:
    """The page a person sees while the database is away."""
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert "try again in a minute" in body
    assert response.headers["Retry-After"] == "60"
    assert "Traceback" not in body and "OperationalError" not in body


@pytest.mark.postgres
def test_web_answers_503_during_an_outage_and_recovers(server, tmp_path):
    app = make_app(server.url, tmp_path)
    client = app.test_client()
    assert client.get(LOGIN).status_code == 400  # unknown platform: the database answered
    server.stop()
    try:
        _assert_try_again(client.get(LOGIN))
        assert client.get("/healthz").status_code == 200  # the process is fine: no restart
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["database"] != "ok"
    finally:
        server.start()
    assert client.get(LOGIN).status_code == 400
    assert client.get("/readyz").get_json()["checks"]["database"] == "ok"
    app.extensions["lti_tool.engine"].dispose()


@pytest.mark.postgres
def test_a_restart_between_requests_goes_unnoticed(server, tmp_path, monkeypatch):
    """A pooled connection idle for longer than PING_AFTER_IDLE_S is checked before use."""
    monkeypatch.setattr("lti_tool.db.PING_AFTER_IDLE_S", 0.0)
    app = make_app(server.url, tmp_path)
    client = app.test_client()
    assert client.get(LOGIN).status_code == 400
    server.stop()
    server.start()  # nobody asked meanwhile: the pool still holds the cut connection
    assert client.get(LOGIN).status_code == 400
    app.extensions["lti_tool.engine"].dispose()


@pytest.mark.postgres
def test_a_restart_within_the_ping_interval_costs_one_try_again(server, tmp_path, monkeypatch):
    """Connections in steady use are not pinged: the first request on a cut one gets the
    try-again page, and the pool is renewed for the next."""
    monkeypatch.setattr("lti_tool.db.PING_AFTER_IDLE_S", 3600.0)
    app = make_app(server.url, tmp_path)
    client = app.test_client()
    assert client.get(LOGIN).status_code == 400
    server.stop()
    server.start()
    _assert_try_again(client.get(LOGIN))
    assert client.get(LOGIN).status_code == 400
    app.extensions["lti_tool.engine"].dispose()


def test_sqlite_file_gone_is_a_503_too(tmp_path, sqlite_template):
    path = tmp_path / "tool.sqlite3"
    shutil.copyfile(sqlite_template, path)
    app = make_app(f"sqlite:///{path}", tmp_path)
    client = app.test_client()
    assert client.get(LOGIN).status_code == 400
    app.extensions["lti_tool.engine"].dispose()
    path.unlink()
    path.mkdir()  # the file cannot be opened: as when its volume is gone
    _assert_try_again(client.get(LOGIN))
    app.extensions["lti_tool.engine"].dispose()


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.postgres
def test_worker_rides_out_an_outage_and_delivers_after(server, tmp_path):
    app = make_app(server.url, tmp_path)
    db = app.extensions["lti_tool.sessionmaker"]()
    from lti_tool.keys import Keyring

    ags = AgsPlatform("oVYI0OJl3BFrijK", lambda: Keyring(app.config["KEYS_DIR"]).public_jwks())
    course = make_course(app, db, ags)
    first = course.attempt(course.student("s1"), 80)
    course.queue(first)
    env = clean_env(LTI_TOOL_DATABASE_URL=server.url + "?connect_timeout=2",
                    LTI_TOOL_KEYS_DIR=str(app.config["KEYS_DIR"]),
                    LTI_TOOL_INSTANCE_DIR=str(tmp_path / "instance"),
                    LTI_TOOL_BASE_URL="http://localhost")
    worker = subprocess.Popen([str(BIN / "lti-tool"), "grades", "work", "--interval", "0.2"],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        _wait(lambda: len(ags.accepted_scores()) == 1, 60, "the first score")
        db.close()
        server.stop()
        time.sleep(7)  # longer than the 5 s that used to end the worker with a traceback
        assert worker.poll() is None, "the worker exited during the outage"
        server.start()
        second = course.attempt(course.student("s2"), 60)
        course.queue(second, Progress.SUBMITTED)
        _wait(lambda: len(ags.accepted_scores()) == 2, 90, "the score queued after the outage")
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        db.close()
        ags.close()
        app.extensions["lti_tool.engine"].dispose()
    assert worker.returncode == 0, err
    assert "Traceback" not in err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    down = [e for e in lines if "database unreachable" in e["message"]]
    back = [e for e in lines if "working again" in e["message"]]
    assert len(down) == 1 and len(back) == 1, err  # one line per outage, not one per try
    assert down[0]["level"] == "error"
    assert "grades: stopped" in out
