"""The sandbox platform's grade service and gradebook page, over real HTTP."""

from __future__ import annotations

import json
import time

import jwt
import requests
from sqlalchemy.orm import sessionmaker

from lti_tool.content import Library
from lti_tool.db import make_engine
from lti_tool.grades import deliver_pending
from lti_tool.keys import Keyring
from lti_tool.sandbox import platform as sandbox

from ..forms import forms
from ..lti.test_sandbox import sandbox_launch

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"


def post(browser: requests.Session, url: str, data: dict, form_page: str | None = None):
    page = browser.get(form_page or url)
    token = next(f["fields"]["csrf_token"] for f in forms(page.text)
                 if "csrf_token" in f["fields"])
    return browser.post(url, data={**data, "csrf_token": token}, allow_redirects=False)


def take_module(browser: requests.Session, step_url: str, module) -> None:
    """Answer every step with its best answer, then submit."""
    base = step_url.rsplit("/", 1)[0]
    ratings = {f"rating-{s.id}": "4" for s in module.confidence.statements}
    post(browser, f"{base}/0", ratings)
    for index, item in enumerate(module.steps, start=1):
        if not hasattr(item, "score"):
            continue  # a page
        if item.type == "scenario":
            for choice in item.best_answer():
                post(browser, f"{base}/{index}", {"choice": choice})
        elif item.type == "reflection":
            post(browser, f"{base}/{index}", {"text": " ".join(["idea"] * (item.min_words + 3))})
        else:
            answer = item.best_answer()
            post(browser, f"{base}/{index}",
                 {"choice": sorted(answer) if isinstance(answer, (list, set)) else answer})
    post(browser, f"{base}/{len(module.steps) + 1}", ratings)
    done = post(browser, base.replace("/step", "/submit"), {},
                form_page=base.replace("/step", "/review"))
    assert done.status_code == 302


def test_a_students_grade_appears_in_the_sandbox_gradebook(live_server, database_url,
                                                           tmp_path):
    landing = sandbox_launch(live_server, "student")  # the welcome link: the intro module
    module = Library(store=tmp_path / "store").get("intro-digital-social-work")
    browser = _browser_of(landing)  # the launch's browser session
    started = post(browser, landing.url.rstrip("/") + "/start", {"after": "0"},
                   form_page=landing.url)  # the start page's button
    assert started.status_code == 302 and started.headers["Location"].endswith("/step/0")
    take_module(browser, landing.url.rstrip("/") + "/step/0", module)

    # The worker (as `lti-tool grades work --once` would) sends it to the sandbox.
    engine = make_engine(database_url)
    with requests.Session() as http:
        report = deliver_pending(sessionmaker(bind=engine, expire_on_commit=False), http,
                                 keyring=Keyring(tmp_path / "keys"))
    engine.dispose()
    assert len(report.delivered) == 1, report

    page = requests.get(f"{live_server}/sandbox/gradebook")
    assert page.status_code == 200
    html = page.text
    assert "Digital capabilities: getting started" in html
    row = html[html.index("Sam Okafor"):]
    row = row[:row.index("</tr>")]
    points = float(module.max_points)
    # Every best answer, but the reflection waits for the lecturer: its points are not given.
    given = points - sum(float(a.max_points) for a in module.activities
                         if a.type == "reflection")
    assert f"<strong>{round(given, 4):g}</strong> of {points:g}" in row
    assert "Submitted, PendingManual" in row
    assert "Priya Shah" in html and "No score" in html  # the other student: nothing yet
    index = requests.get(f"{live_server}/sandbox/").text
    assert "/sandbox/gradebook" in index


def _browser_of(response: requests.Response) -> requests.Session:
    """The requests session that made a response (sandbox_launch keeps its own)."""
    browser = requests.Session()
    for r in [*response.history, response]:
        browser.cookies.update(r.cookies)
    return browser


def _tool_token(live_server: str, tmp_path, scope: str) -> requests.Response:
    """Ask the sandbox for a token as the tool does."""
    now = int(time.time())
    assertion = Keyring(tmp_path / "keys").sign({
        "iss": sandbox.CLIENT_ID, "sub": sandbox.CLIENT_ID, "aud": f"{live_server}/sandbox/token",
        "iat": now, "exp": now + 60, "jti": "j1"})
    return requests.post(f"{live_server}/sandbox/token", data={
        "grant_type": "client_credentials", "client_assertion": assertion, "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})


def test_sandbox_score_endpoint_checks_like_moodle(live_server, tmp_path):
    scope = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
    url = f"{live_server}/sandbox/lineitems/sandbox-link-welcome/scores"
    score = {"userId": "sandbox-student-1", "scoreGiven": 3, "scoreMaximum": 4,
             "activityProgress": "Completed", "gradingProgress": "FullyGraded",
             "timestamp": "2026-11-22T12:00:00+00:00"}
    assert requests.post(url, data=json.dumps(score),
                         headers={"Content-Type": SCORE_TYPE}).status_code == 401

    answer = _tool_token(live_server, tmp_path, scope)
    assert answer.headers["Content-Type"].startswith("text/html")  # Moodle's quirk
    token = answer.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.post(url, data=json.dumps(score),
                         headers={**auth, "Content-Type": "application/json"}).status_code == 415
    bad = requests.post(url, data=json.dumps({**score, "scoreGiven": "three"}),
                        headers={**auth, "Content-Type": SCORE_TYPE})
    assert bad.status_code == 400 and "scoreGiven" in bad.text
    ok = requests.post(url, data=json.dumps(score), headers={**auth, "Content-Type": SCORE_TYPE})
    assert ok.status_code == 200
    again = requests.post(url, data=json.dumps(score),
                          headers={**auth, "Content-Type": SCORE_TYPE})
    assert again.status_code == 409  # not later than the one it holds
    # A token for scores only cannot create line items.
    assert requests.post(f"{live_server}/sandbox/lineitems", json={"label": "x"},
                         headers=auth).status_code == 401
    assert "3</strong> of 4" in requests.get(f"{live_server}/sandbox/gradebook").text


def test_sandbox_line_items_list_and_create(live_server, tmp_path):
    scope = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
    token = _tool_token(live_server, tmp_path, scope).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    items = requests.get(f"{live_server}/sandbox/lineitems", headers=auth).json()
    assert {i["resourceLinkId"] for i in items} >= {"sandbox-link-welcome",
                                                    "sandbox-link-safeguarding"}
    created = requests.post(f"{live_server}/sandbox/lineitems", headers=auth, json={
        "label": "Extra", "scoreMaximum": 20, "resourceId": "r4-online-safeguarding",
        "tag": "practice"})
    assert created.status_code == 201
    item = created.json()
    assert item["id"].startswith(f"{live_server}/sandbox/lineitems/")
    assert requests.get(item["id"], headers=auth).json()["label"] == "Extra"
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
