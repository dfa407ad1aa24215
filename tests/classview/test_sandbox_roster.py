"""The sandbox's class list over real HTTP: its token endpoint, two members per page, Link headers."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import requests

from lti_tool.keys import Keyring
from lti_tool.lti.tokens import TokenError, request_token

from ..forms import forms

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def launch_in(browser: requests.Session, base_url: str, who: str, link: str) -> requests.Response:
    """Launch from the sandbox page in `browser`, following the forms as a browser would."""
    page = browser.get(f"{base_url}/sandbox/")
    form = forms(page.text)[0]
    started = browser.post(f"{base_url}/sandbox/start", data={
        "csrf_token": form["fields"]["csrf_token"], "user": who, "link": link})
    login = forms(started.text)[0]
    auth_page = browser.post(login["action"], data=login["fields"])
    post_back = forms(auth_page.text)[0]
    return browser.post(post_back["action"], data=post_back["fields"])


def token(base_url: str, keys_dir, scope: str) -> str:
    """A bearer token from the sandbox, asked for exactly as the tool asks (signed assertion)."""
    registration = SimpleNamespace(client_id="sandbox-tool", auth_audience=None,
                                   auth_token_url=f"{base_url}/sandbox/token")
    return request_token(registration, frozenset({scope}), Keyring(keys_dir)).value


def test_lecturer_sees_the_sandbox_class_including_students_who_never_launched(live_server):
    assert launch_in(requests.Session(), live_server, "student", "safeguarding").ok
    lecturer = requests.Session()
    landing = launch_in(lecturer, live_server, "lecturer", "safeguarding")
    launch_id = re.search(r"/launch/([\w-]+)$", landing.url).group(1)
    assert f"/c/{launch_id}/link" in landing.text  # the landing page links to the class view
    page = lecturer.get(f"{live_server}/c/{launch_id}/course")
    assert page.status_code == 200, page.text
    names = [n.strip() for n in re.findall(r'<th scope="row">(?:<a [^>]*>)?([^<]+)', page.text)]
    # Students only, by family name; Alex and Bea are enrolled but never launch.
    assert names == ["Alex Kowalski", "Bea Mensah", "Sam Okafor", "Priya Shah"]
    assert page.text.count("Never opened the tool") == 3  # Priya, Alex and Bea
    assert "class list" in page.text and "refused" not in page.text


def test_sandbox_memberships_come_two_per_page_and_need_a_token(live_server, tmp_path):
    url = f"{live_server}/sandbox/memberships"
    assert requests.get(url).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer forged"}).status_code == 401
    bearer = token(live_server, tmp_path / "keys", NRPS_SCOPE)
    seen, pages = [], 0
    while url:
        page = requests.get(url, headers={"Authorization": f"Bearer {bearer}"})
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith(
            "application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
        members = page.json()["members"]
        assert len(members) <= 2
        seen += [(m["user_id"], m["roles"]) for m in members]
        pages += 1
        url = page.links.get("next", {}).get("url")
    assert pages == 3
    assert [sub for sub, _ in seen] == [
        "sandbox-student-1", "sandbox-student-2", "sandbox-lecturer-1", "sandbox-admin-1",
        "sandbox-student-3", "sandbox-student-4"]
    assert seen[0][1] == ["Learner"] and seen[2][1] == ["Instructor"]  # Moodle's short names
    # A token for other scopes does not open the class list.
    other = token(live_server, tmp_path / "keys", SCORE_SCOPE)
    assert requests.get(f"{live_server}/sandbox/memberships",
                        headers={"Authorization": f"Bearer {other}"}).status_code == 401


def test_sandbox_token_endpoint_refuses_assertions_it_cannot_verify(live_server, tmp_path):
    stranger = Keyring(tmp_path / "stranger")
    stranger.generate()
    registration = SimpleNamespace(client_id="sandbox-tool", auth_audience=None,
                                   auth_token_url=f"{live_server}/sandbox/token")
    with pytest.raises(TokenError) as refused:
        request_token(registration, frozenset({NRPS_SCOPE}), stranger)
    assert refused.value.refused and refused.value.status == 401
    with pytest.raises(TokenError) as scope:
        request_token(registration, frozenset({"https://example.com/other"}),
                      Keyring(tmp_path / "keys"))
    assert scope.value.error == "invalid_scope"
