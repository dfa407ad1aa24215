"""Cookies in iframes, several app instances, key caching and rotation."""

from __future__ import annotations

from datetime import timedelta

import jwt
from sqlalchemy import func, select

from lti_tool.keys import Keyring
from lti_tool.models import Launch, PlatformKeySet

from ..conftest import make_app
from ..lti_platform import moodle_claims


def _set_cookie_headers(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_cookies_are_samesite_none_secure_behind_https_proxy(client, moodle):
    headers = {"X-Forwarded-Proto": "https"}
    login = moodle.login(client, headers=headers)
    state_cookie = next(c for c in _set_cookie_headers(login) if c.startswith("lti1p3-state"))
    assert "Secure" in state_cookie and "SameSite=None" in state_cookie
    assert "HttpOnly" in state_cookie
    auth = moodle.auth_request(login)
    token = moodle.sign(moodle.claims(moodle_claims("student_launch"), auth))
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]},
                           headers=headers)
    assert response.status_code == 303
    session_cookie = next(c for c in _set_cookie_headers(response)
                          if c.startswith("lti_tool_session="))
    assert "Secure" in session_cookie and "SameSite=None" in session_cookie


def test_plain_http_cookies_carry_no_samesite_none(client, moodle):
    login = moodle.login(client)
    state_cookie = next(c for c in _set_cookie_headers(login) if c.startswith("lti1p3-state"))
    # Browsers drop SameSite=None cookies that are not Secure; over http leave it off.
    assert "SameSite=None" not in state_cookie and "Secure" not in state_cookie


def test_login_inside_an_iframe_checks_cookies_and_offers_a_new_window(client, moodle):
    response = moodle.login(client, headers={"Sec-Fetch-Dest": "iframe"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'target="_blank"' in html and "Open in a new window" in html
    assert 'name="lti_new_window" value="1"' in html
    assert 'name="iss" value="http://127.0.0.1:8080"' in html
    assert moodle.auth_login_url in html  # where the check sends the browser when cookies work


def test_new_window_login_redirects_straight_away(client, moodle):
    response = client.post("/lti/login", headers={"Sec-Fetch-Dest": "iframe"}, data={
        "iss": moodle.issuer, "login_hint": "4", "client_id": moodle.client_id,
        "target_link_uri": "http://localhost/lti/launch", "lti_new_window": "1"})
    assert response.status_code == 302


def test_login_by_get_works_too(client, moodle):
    response = moodle.login(client, method="GET")
    assert moodle.auth_request(response)["state"].startswith("state-")


def test_login_served_by_one_instance_and_launch_by_another(database_url, tmp_path, moodle,
                                                           db):
    first = make_app(database_url, tmp_path)
    second = make_app(database_url, tmp_path)
    browser_one, browser_two = first.test_client(), second.test_client()

    login = moodle.login(browser_one)
    auth = moodle.auth_request(login)
    cookie = f"lti1p3-{auth['state']}"
    # The same browser, but its next request lands on the other instance.
    browser_two.set_cookie(cookie, browser_one.get_cookie(cookie).value)
    token = moodle.sign(moodle.claims(moodle_claims("student_launch"), auth))
    response = browser_two.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    assert response.status_code == 303
    landing = browser_two.get(response.headers["Location"], follow_redirects=True)
    assert "Hello Sam Student" in landing.get_data(as_text=True)

    for instance in (browser_one, browser_two):
        instance.set_cookie(cookie, auth["state"])
        replay = instance.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
        assert replay.status_code == 400
        assert "already been used" in replay.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Launch)) == 1
    for app in (first, second):
        app.extensions["lti_tool.engine"].dispose()


def test_platform_keyset_is_cached_between_launches(client, moodle):
    moodle.launch(client)
    moodle.launch(client)
    assert moodle.jwks_fetches == 1


def test_unknown_kid_refetches_the_platform_keyset_once(client, moodle, db):
    moodle.launch(client)
    assert moodle.jwks_fetches == 1
    # A minute later (refetches on an unknown kid are limited to one a minute: see
    # tests/security/test_keysets.py) the platform signs with a key the tool has not seen.
    for row in db.scalars(select(PlatformKeySet)):
        row.fetched_at -= timedelta(seconds=61)
    db.commit()
    moodle.rotate(key_index=2)
    response, _, _ = moodle.launch(client)
    assert response.status_code == 303
    assert moodle.jwks_fetches == 2


def test_tool_jwks_publishes_current_and_previous_until_retired(client, app, runner):
    first = client.get("/.well-known/jwks.json").json["keys"]
    assert len(first) == 1 and first[0]["alg"] == "RS256" and first[0]["use"] == "sig"
    old_kid = first[0]["kid"]
    # A platform holding a token signed with the old key must still verify it after rotation.
    old_token = Keyring(app.config["KEYS_DIR"]).sign({"iss": "tool", "aud": "platform"})

    result = runner.invoke(["keys", "rotate"])
    assert result.exit_code == 0, result.output
    published = client.get("/.well-known/jwks.json").json["keys"]
    assert {k["kid"] for k in published} == {old_kid, Keyring(app.config["KEYS_DIR"]).current().kid}
    old_public = next(k for k in published if k["kid"] == old_kid)
    assert jwt.decode(old_token, jwt.PyJWK(old_public).key, algorithms=["RS256"],
                      audience="platform")["iss"] == "tool"
    new_token = Keyring(app.config["KEYS_DIR"]).sign({"iss": "tool"})
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid

    listed = runner.invoke(["keys", "list"]).output
    assert "current" in listed and "previous" in listed
    assert runner.invoke(["keys", "retire", old_kid]).exit_code == 0
    after = client.get("/.well-known/jwks.json").json["keys"]
    assert [k["kid"] for k in after] == [Keyring(app.config["KEYS_DIR"]).current().kid]


def test_key_files_are_private(app):
    ring = Keyring(app.config["KEYS_DIR"])
    for path in ring.directory.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_current_key_cannot_be_retired(runner, app):
    kid = Keyring(app.config["KEYS_DIR"]).current().kid
    result = runner.invoke(["keys", "retire", kid])
    assert result.exit_code == 1 and "rotate first" in result.output


def test_jwks_without_keys_is_a_clear_503(database_url, tmp_path):
    from lti_tool.config import TestConfig
    from lti_tool import create_app

    app = create_app(TestConfig(INSTANCE_DIR=tmp_path / "i", SQLALCHEMY_DATABASE_URL=database_url,
                                KEYS_DIR=tmp_path / "empty-keys"))
    response = app.test_client().get("/.well-known/jwks.json")
    assert response.status_code == 503
    assert "lti-tool keys generate" in response.get_data(as_text=True)
    app.extensions["lti_tool.engine"].dispose()


def test_launch_does_not_need_the_tools_own_keys(client, moodle, app):
    # Checking a platform's launch uses the platform's keys only; a tool whose key folder is
    # missing (keys not generated yet, or a mount gone) must still let students in.
    import shutil

    shutil.rmtree(app.config["KEYS_DIR"])
    response, _, _ = moodle.launch(client)
    assert response.status_code == 303
