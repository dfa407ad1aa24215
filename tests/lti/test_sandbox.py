"""The sandbox platform over real HTTP: the same login and launch path a VLE uses."""

from __future__ import annotations

import re

import jwt
import pytest
import requests

from ..forms import forms


def sandbox_launch(base_url: str, who: str, link: str = "welcome") -> requests.Response:
    """Choose an activity, click 'Launch as …' and follow the flow as a browser would."""
    browser = requests.Session()
    page = browser.get(f"{base_url}/sandbox/")
    assert page.status_code == 200
    form = forms(page.text)[0]
    started = browser.post(f"{base_url}/sandbox/start", data={
        "csrf_token": form["fields"]["csrf_token"], "user": who, "link": link})
    login = forms(started.text)[0]  # the VLE's page that initiates the OIDC login
    assert login["action"] == f"{base_url}/lti/login"
    assert login["fields"]["login_hint"].startswith("sandbox-")
    auth_page = browser.post(login["action"], data=login["fields"])
    assert auth_page.url.startswith(f"{base_url}/sandbox/auth?")
    post_back = forms(auth_page.text)[0]
    assert post_back["action"] == f"{base_url}/lti/launch"
    # The sandbox really signs: the token verifies with the sandbox's published keys.
    token = post_back["fields"]["id_token"]
    jwks = browser.get(f"{base_url}/sandbox/jwks.json").json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="sandbox-tool")
    assert claims["iss"] == f"{base_url}/sandbox"
    return browser.post(post_back["action"], data=post_back["fields"])


@pytest.mark.parametrize("who, path, greeting", [
    ("student", r"/l/[\w-]+/$", "Start the module"),  # the module's start page
    ("lecturer", r"/launch/[\w-]+$", "Hello Tina Morgan, lecturer view"),
    ("admin", r"/launch/[\w-]+$", "Hello Ada Lovell, lecturer view"),
])
def test_sandbox_launches_each_role_through_the_real_flow(live_server, who, path, greeting):
    landing = sandbox_launch(live_server, who)
    assert landing.status_code == 200
    assert re.search(path, landing.url), landing.url
    assert greeting in landing.text


def test_sandbox_link_without_module_shows_not_set_up(live_server):
    landing = sandbox_launch(live_server, "student", link="unset")
    assert "This activity is not set up yet" in landing.text
    assert "Hello Sam Okafor" in landing.text


def test_sandbox_auth_refuses_a_foreign_redirect_uri(live_server):
    response = requests.get(f"{live_server}/sandbox/auth", params={
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post",
        "prompt": "none", "client_id": "sandbox-tool", "redirect_uri": "https://evil.test/",
        "state": "s", "nonce": "n", "login_hint": "sandbox-student-1"})
    assert response.status_code == 400
    assert "redirect_uri" in response.text


def test_sandbox_is_off_unless_enabled(database_url, tmp_path):
    from ..conftest import make_app

    app = make_app(database_url, tmp_path, SANDBOX_ENABLED=False)
    assert app.test_client().get("/sandbox/").status_code == 404
    app.extensions["lti_tool.engine"].dispose()
