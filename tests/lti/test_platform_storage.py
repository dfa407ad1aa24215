"""Launches without cookies: state kept in the platform's frame (lti_storage_target), the
second step bound to its login, and Partitioned cookies for the cookie path."""

from __future__ import annotations

import html
import json
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from lti_tool.models import Launch, LoginState

from ..concurrency import together
from ..lti_platform import moodle_claims

SAME_ORIGIN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


def _login(client, platform, storage_target="post_message_forwarding", headers=None):
    params = {"iss": platform.issuer, "target_link_uri": "http://localhost/lti/launch",
              "login_hint": "4", "client_id": platform.client_id, "lti_deployment_id": "1",
              "lti_message_hint": json.dumps({"cmid": 2, "launchid": uuid.uuid4().hex})}
    if storage_target:
        params["lti_storage_target"] = storage_target
    return client.post("/lti/login", data=params, headers=headers or {})


def _data(page: str) -> dict[str, str]:
    """The data-* attributes of the storage page's working box."""
    box = re.search(r'<div id="storage-working"([^>]*)>', page).group(1)
    return {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', box)}


def _fields(page: str) -> dict[str, str]:
    """The hidden fields of the form the launch page resubmits."""
    form = re.search(r'<form id="storage-checked"(.*?)</form>', page, re.S).group(1)
    return {k: html.unescape(v) for k, v in
            re.findall(r'name="([^"]+)" value="([^"]*)"', form)}


def _storage_launch(app, platform, shape="student_launch"):
    """Login and launch in a browser that keeps no cookie; returns (launch page, login data)."""
    browser = app.test_client(use_cookies=False)
    login = _login(browser, platform)
    assert login.status_code == 200, login.get_data(as_text=True)
    data = _data(login.get_data(as_text=True))
    auth = {k: v[0] for k, v in parse_qs(urlsplit(data["next"]).query).items()}
    token = platform.sign(platform.claims(moodle_claims(shape), auth))
    page = browser.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    return page, data


def test_login_with_storage_target_answers_the_storage_page(client, moodle, db):
    response = _login(client, moodle)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    data = _data(page)
    assert data["lti-storage"] == "login"
    # postMessages go to the platform's OIDC auth origin, never "*".
    assert data["origin"] == urlsplit(moodle.auth_login_url)._replace(
        path="", query="").geturl()
    assert data["target"] == "post_message_forwarding"
    auth = parse_qs(urlsplit(data["next"]).query)
    assert data["next"].startswith(moodle.auth_login_url + "?")
    assert auth["state"] == [data["state"]] and auth["nonce"] == [data["nonce"]]
    # A strict CSP is in force: the only script is the static file.
    assert re.findall(r"<script[^>]*>", page).count(
        '<script src="/static/lti-storage.js" defer>') == 1
    assert "<script>" not in page
    # The cookie path still works for browsers that keep the cookie.
    assert any(c.startswith(f"lti1p3-{data['state']}=")
               for c in response.headers.getlist("Set-Cookie"))
    login = db.get(LoginState, data["state"])
    assert login.storage_target == "post_message_forwarding" and login.nonce == data["nonce"]


def test_storage_launch_without_cookies_succeeds_after_the_browser_check(app, moodle, db):
    page, data = _storage_launch(app, moodle)
    assert page.status_code == 200
    html_text = page.get_data(as_text=True)
    launch_data = _data(html_text)
    assert launch_data["lti-storage"] == "launch"
    assert launch_data["state"] == data["state"] and launch_data["origin"] == data["origin"]
    fields = _fields(html_text)
    assert set(fields) == {"state", "id_token", "storage_check"}
    # Nothing is consumed or recorded until the platform's storage confirmed the state.
    assert db.get(LoginState, data["state"]).used_at is None
    assert db.scalar(select(func.count()).select_from(Launch)) == 0

    browser = app.test_client()
    done = browser.post("/lti/launch/checked", data=fields, headers=SAME_ORIGIN)
    assert done.status_code == 303, done.get_data(as_text=True)
    student_page = browser.get(done.headers["Location"])
    assert student_page.status_code == 200
    # The student is signed in: their own page (the link has no module chosen yet).
    assert "This activity is not set up yet" in student_page.get_data(as_text=True)
    db.expire_all()
    assert db.get(LoginState, data["state"]).used_at is not None


def test_the_checked_launch_cannot_be_replayed(app, moodle, db):
    page, data = _storage_launch(app, moodle)
    fields = _fields(page.get_data(as_text=True))
    browser = app.test_client()
    assert browser.post("/lti/launch/checked", data=fields,
                        headers=SAME_ORIGIN).status_code == 303
    again = browser.post("/lti/launch/checked", data=fields, headers=SAME_ORIGIN)
    assert again.status_code == 400
    assert "This launch has already been used" in again.get_data(as_text=True)
    first_step = app.test_client().post("/lti/launch", data={
        "state": fields["state"], "id_token": fields["id_token"]})
    assert first_step.status_code == 400
    assert "This launch has already been used" in first_step.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Launch)) == 1


def test_two_racing_resubmissions_start_one_launch(app, moodle, db):
    page, _ = _storage_launch(app, moodle)
    fields = _fields(page.get_data(as_text=True))
    first, second = together(
        lambda: app.test_client().post("/lti/launch/checked", data=fields, headers=SAME_ORIGIN),
        lambda: app.test_client().post("/lti/launch/checked", data=fields, headers=SAME_ORIGIN))
    assert sorted([first.status_code, second.status_code]) == [303, 400]
    assert db.scalar(select(func.count()).select_from(Launch)) == 1


def test_a_check_for_another_state_is_refused(app, moodle, db, log_records):
    mine, _ = _storage_launch(app, moodle)
    theirs, theirs_login = _storage_launch(app, moodle)
    mine_fields = _fields(mine.get_data(as_text=True))
    theirs_fields = _fields(theirs.get_data(as_text=True))
    # The state and token of one login with the check of another: refused, nothing consumed.
    forged = {**theirs_fields, "storage_check": mine_fields["storage_check"]}
    response = app.test_client().post("/lti/launch/checked", data=forged, headers=SAME_ORIGIN)
    assert response.status_code == 400
    assert "Your browser did not keep the sign-in cookie" in response.get_data(as_text=True)
    assert "storage check absent or not for this state and token" in log_records.text
    # A token from one login under the other login's state: refused as well.
    swapped = {**mine_fields, "id_token": theirs_fields["id_token"]}
    assert app.test_client().post("/lti/launch/checked", data=swapped,
                                  headers=SAME_ORIGIN).status_code == 400
    db.expire_all()
    assert db.get(LoginState, theirs_login["state"]).used_at is None
    assert db.scalar(select(func.count()).select_from(Launch)) == 0


def test_the_second_step_is_refused_from_another_site(app, moodle, db):
    page, data = _storage_launch(app, moodle)
    fields = _fields(page.get_data(as_text=True))
    for headers in ({"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
                    {"Origin": "https://attacker.example"},
                    {"Sec-Fetch-Site": "same-site"},
                    {}):
        response = app.test_client().post("/lti/launch/checked", data=fields, headers=headers)
        assert response.status_code == 400, headers
    db.expire_all()
    assert db.get(LoginState, data["state"]).used_at is None
    # The tool's own page still completes it afterwards.
    assert app.test_client().post("/lti/launch/checked", data=fields,
                                  headers=SAME_ORIGIN).status_code == 303


def test_the_second_step_needs_a_storage_login(client, moodle, db):
    # A cookie-path login (no lti_storage_target) cannot be completed by the second step.
    from lti_tool.lti.storage import check_token

    auth = moodle.auth_request(_login(client, moodle, storage_target=None))
    token = moodle.sign(moodle.claims(moodle_claims("student_launch"), auth))
    check = check_token(client.application.config["SECRET_KEY"], auth["state"], token)
    response = client.application.test_client().post(
        "/lti/launch/checked", headers=SAME_ORIGIN,
        data={"state": auth["state"], "id_token": token, "storage_check": check})
    assert response.status_code == 400
    assert "Your browser did not keep the sign-in cookie" in response.get_data(as_text=True)


def test_cookie_path_is_unchanged_without_storage_target(client, app, moodle):
    login = _login(client, moodle, storage_target=None)
    assert login.status_code == 302
    auth = moodle.auth_request(login)
    token = moodle.sign(moodle.claims(moodle_claims("student_launch"), auth))
    # Without the cookie: refused as before, with the new-window advice.
    cookieless = app.test_client(use_cookies=False).post(
        "/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert cookieless.status_code == 400
    assert "Your browser did not keep the sign-in cookie" in cookieless.get_data(as_text=True)
    # With it: straight through.
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert response.status_code == 303


def test_storage_login_whose_cookie_came_back_launches_at_once(client, moodle):
    data = _data(_login(client, moodle).get_data(as_text=True))
    auth = {k: v[0] for k, v in parse_qs(urlsplit(data["next"]).query).items()}
    token = moodle.sign(moodle.claims(moodle_claims("student_launch"), auth))
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert response.status_code == 303


def test_a_storage_target_that_is_not_a_frame_name_is_refused(client, moodle, db):
    response = _login(client, moodle, storage_target='x"><img src=x onerror=alert(1)>')
    assert response.status_code == 400
    assert "could not be read" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(LoginState)) == 0


def test_cookies_are_partitioned_where_samesite_none(client, moodle):
    https = {"X-Forwarded-Proto": "https"}
    login = _login(client, moodle, storage_target=None, headers=https)
    state_cookie = next(c for c in login.headers.getlist("Set-Cookie")
                        if c.startswith("lti1p3-state"))
    assert "Partitioned" in state_cookie and "SameSite=None" in state_cookie
    auth = moodle.auth_request(login)
    token = moodle.sign(moodle.claims(moodle_claims("student_launch"), auth))
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]},
                           headers=https)
    session_cookie = next(c for c in response.headers.getlist("Set-Cookie")
                          if c.startswith("lti_tool_session="))
    assert "Partitioned" in session_cookie and "Secure" in session_cookie
    # Over plain http (the local demo) no cookie claims what http cannot give.
    plain = _login(client, moodle, storage_target=None)
    assert not any("Partitioned" in c for c in plain.headers.getlist("Set-Cookie"))
