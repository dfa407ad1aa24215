"""Deep linking: the lecturer's picker, the signed response the platform receives, link setup."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from html import unescape

import jwt
import pytest
import requests
from sqlalchemy import func, select

from lti_tool.content import Library
from lti_tool.models import Attempt, DeepLinkResponse, ResourceLink, SandboxLink

from ..forms import forms
from ..lti.test_sandbox import sandbox_launch
from ..lti_platform import TestPlatform
from .dl_platform import DeepLinkReturnServer

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
MODULE_COUNT = 14
# Line items offer submission review (a grade clicked in the VLE opens the class view).
REVIEW = {"reviewableStatus": ["Started", "InProgress", "Submitted", "Completed"],
          "label": "Open in the class view"}
R4, I1 = "r4-online-safeguarding", "i1-digital-professionalism"


@pytest.fixture(scope="module")
def vle():
    """Moodle's key set and return URL on one loopback server, recording every response."""
    server = DeepLinkReturnServer()
    yield server
    server.close()


@pytest.fixture
def moodle_dl(vle, db, request):
    """A Moodle 4.5 registration whose deep linking answers really arrive over HTTP."""
    platform = TestPlatform(vle, f"moodle-dl-{id(request)}", "http://127.0.0.1:8080",
                            "oVYI0OJl3BFrijK")
    platform.register(db, deployment_ids=("1",))
    vle.received.clear()
    return platform


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return Library(store=tmp_path_factory.mktemp("store"))


def dl_request(vle, *, data=None, accept_multiple=True, roles=None):
    """Mutator for Moodle's deep linking request: our return URL, optional data and settings."""
    def mutate(claims):
        settings = claims[DL]
        settings["deep_link_return_url"] = vle.return_url()
        settings["accept_multiple"] = accept_multiple
        if data is not None:
            settings["data"] = data
        if roles is not None:
            claims[ROLES] = roles
    return mutate


def open_picker(client, platform, vle, query: str = "", **kwargs):
    """Launch a deep linking request as Moodle's teacher; returns (picker page, launch id)."""
    response, _, _ = platform.launch(client, "deeplink_request", login_hint="3",
                                     mutate=dl_request(vle, **kwargs))
    assert response.status_code == 303
    launch_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    landing = client.get(response.headers["Location"])
    assert landing.headers["Location"].endswith(f"/i/{launch_id}/modules")
    return client.get(f"/i/{launch_id}/modules{query}"), launch_id


def picker_form(html: str) -> dict:
    """The picker's POST form (the other form is the GET filter)."""
    return next(f for f in forms(html) if f["method"] == "post")


def listed_modules(html: str) -> list[str]:
    """Module ids offered on the picker, in order."""
    return re.findall(r'<input type="(?:checkbox|radio)" name="module" value="([\w-]+)"', html)


def choose(client, launch_id: str, page_html: str, modules: dict[str, dict], **extra):
    """Submit the picker as a browser would: CSRF token, ticked modules, their settings."""
    form = picker_form(page_html)
    data = {"csrf_token": form["fields"]["csrf_token"], "module": list(modules), **extra}
    for module_id, settings in modules.items():
        for name, value in settings.items():
            data[f"{name}-{module_id}"] = value
    return client.post(form["action"], data=data)


def post_back(page_html: str, vle) -> dict:
    """Do what the auto-submitting page does: POST its form to the platform; return claims."""
    form = forms(page_html)[0]
    assert form["method"] == "post" and form["action"] == vle.return_url()
    assert list(form["fields"]) == ["JWT"]
    answer = requests.post(vle.return_url(), data=form["fields"], timeout=10)
    assert answer.status_code == 200
    return vle.received[-1]


def verified(client, token: str, platform) -> dict:
    """The response's claims, verified with the key set the tool publishes."""
    jwks = client.get("/.well-known/jwks.json").get_json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=platform.issuer,
                      issuer=platform.client_id)


# -- the picker ----------------------------------------------------------------------------
def test_moodle_request_opens_the_picker_with_every_module(client, moodle_dl, vle, library):
    page, _ = open_picker(client, moodle_dl, vle)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Add activities to your course" in html and "LTI Lab Course" in html
    # Every module, in the order of the Digital Capabilities Statement.
    # (A module aligned to several elements sits at its first: r6 is aligned to P3 as well.)
    assert listed_modules(html) == [
        "intro-digital-social-work", "p1-professional-standards", "p2-user-carer-involvement",
        "r6-money-and-numbers", "p3-values-ethics", "p4-relationship-based-practice",
        "p5-online-support-groups", "r1-online-use-tech-needs",
        "r2-delivering-services-digitally", "r3-ethical-decision-making", R4,
        "r5-legislation-regulation", I1, "i2-leadership-advocacy"]
    assert sorted(listed_modules(html)) == [m.id for m in library.modules()]
    assert f"Showing {MODULE_COUNT} of {MODULE_COUNT} modules" in html
    r4 = library.get(R4)
    assert r4.summary in html and f"{r4.estimated_minutes} minutes" in html
    assert re.search(r"Digital Capabilities Statement: R4\s+\(Practice\)", html)
    # The preview: outcomes and page titles, and a link to the first page.
    assert r4.learning_outcomes[0] in html and r4.pages[0].title in html
    assert 'type="checkbox"' in html  # Moodle accepts several
    form = picker_form(html)
    assert form["fields"][f"max_points-{R4}"] == f"{r4.max_points:g}"
    assert form["fields"][f"pass_mark-{R4}"] == "60" and form["fields"][f"max_attempts-{R4}"] == ""


DOMAINS = {"purpose": {"P1", "P2", "P3", "P4", "P5"}, "practice": {"R1", "R2", "R3", "R4", "R5"},
           "impact": {"I1", "I2"}}


@pytest.mark.parametrize("query, domain, element", [
    ("?domain=impact", "impact", None),
    ("?element=R4", None, "R4"),
    ("?domain=purpose&element=P2", "purpose", "P2"),
    ("?domain=impact&element=I2", "impact", "I2"),
])
def test_picker_filters_by_domain_and_element(client, moodle_dl, vle, library, query, domain,
                                              element):
    everything = listed_modules(open_picker(client, moodle_dl, vle)[0].get_data(as_text=True))
    aligned = {m.id: set(m.alignment["dcs-2020"]) for m in library.modules()}
    # Worked out here from the modules' own alignment, in the unfiltered list's order.
    expected = [m for m in everything
                if (domain is None or aligned[m] & DOMAINS[domain])
                and (element is None or element in aligned[m])]
    assert "intro-digital-social-work" in expected  # aligned to all twelve elements
    page, _ = open_picker(client, moodle_dl, vle, query)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert listed_modules(html) == expected
    assert f"Showing {len(expected)} of {MODULE_COUNT} modules" in html
    assert "Show all modules" in html


def test_unknown_filter_is_a_clear_400(client, moodle_dl, vle):
    page, _ = open_picker(client, moodle_dl, vle, "?domain=wellbeing")
    assert page.status_code == 400
    assert "There is no domain called “wellbeing”" in page.get_data(as_text=True)


def test_preview_shows_the_first_page(client, moodle_dl, vle, library):
    _, launch_id = open_picker(client, moodle_dl, vle)
    page = client.get(f"/i/{launch_id}/modules/{R4}/preview")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Preview: Online safeguarding" in html
    assert "The first page, as students see it" in html
    assert client.get(f"/i/{launch_id}/modules/nope/preview").status_code == 404


# -- the response --------------------------------------------------------------------------
def test_two_modules_return_a_signed_response_checked_field_by_field(
        client, moodle_dl, vle, db, library):
    page, launch_id = open_picker(client, moodle_dl, vle)
    sent = choose(client, launch_id, page.get_data(as_text=True), {
        R4: {"max_points": "20", "pass_mark": "70", "max_attempts": "3",
             "counting": "latest", "reflection_marking": "completion"},
        I1: {"max_points": "", "pass_mark": "", "max_attempts": "",
             "counting": "best", "reflection_marking": "manual"},
    })
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200
    assert "Adding 2 activities to your course" in html
    assert "<button type=\"submit\">Continue</button>" in html  # for browsers without JS

    received = post_back(html, vle)
    claims = verified(client, received["JWT"], moodle_dl)
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == \
        "LtiDeepLinkingResponse"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/version"] == "1.3.0"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] == "1"
    assert claims["iss"] == "oVYI0OJl3BFrijK" and claims["aud"] == "http://127.0.0.1:8080"
    assert claims["nonce"] and claims["iat"] <= time.time() + 5 < claims["exp"]
    assert DATA not in claims  # Moodle's request had no data
    header = jwt.get_unverified_header(received["JWT"])
    assert header["alg"] == "RS256" and header["kid"]

    r4, i1 = claims[ITEMS]
    assert r4 == {
        "type": "ltiResourceLink", "title": "Online safeguarding",
        "text": library.get(R4).summary, "url": "http://localhost/lti/launch",
        "custom": {"module": R4, "max_attempts": "3", "counting": "latest",
                   "reflection_marking": "completion", "pass_mark": "70", "max_points": "20"},
        "lineItem": {"scoreMaximum": 20, "label": "Online safeguarding", "resourceId": R4,
                     "tag": "practice", "submissionReview": REVIEW},
    }
    assert i1["type"] == "ltiResourceLink" and i1["url"] == "http://localhost/lti/launch"
    assert i1["title"] == "Digital professionalism"
    # Blank fields took the module's own defaults.
    assert i1["custom"] == {"module": I1, "max_attempts": "unlimited", "counting": "best",
                            "reflection_marking": "manual", "pass_mark": "60",
                            "max_points": "14"}
    assert i1["lineItem"] == {"scoreMaximum": 14, "label": "Digital professionalism",
                              "resourceId": I1, "tag": "impact", "submissionReview": REVIEW}

    record = db.scalar(select(DeepLinkResponse))
    assert record.launch_id == launch_id
    assert [item["lineItem"]["resourceId"] for item in record.content_items] == [R4, I1]


def test_data_is_echoed_exactly(client, moodle_dl, vle):
    page, launch_id = open_picker(client, moodle_dl, vle, data="opaque:ctx=2&x=ü")
    sent = choose(client, launch_id, page.get_data(as_text=True), {"intro-digital-social-work": {}})
    claims = verified(client, post_back(sent.get_data(as_text=True), vle)["JWT"], moodle_dl)
    assert claims[DATA] == "opaque:ctx=2&x=ü"
    (item,) = claims[ITEMS]
    assert item["lineItem"]["tag"] == "purpose+practice+impact"  # aligned to every domain
    assert item["lineItem"]["scoreMaximum"] == 15


def test_replaying_the_picker_after_sending_sends_nothing(client, moodle_dl, vle, db):
    page, launch_id = open_picker(client, moodle_dl, vle)
    html = page.get_data(as_text=True)
    assert choose(client, launch_id, html, {R4: {}}).status_code == 200
    sent = db.scalar(select(DeepLinkResponse))
    sent.sent_at = datetime(2026, 7, 5, 13, 7, tzinfo=timezone.utc)
    db.commit()
    again = client.get(f"/i/{launch_id}/modules")
    assert again.status_code == 409
    assert "These activities have already been sent" in again.get_data(as_text=True)
    assert "Online safeguarding" in again.get_data(as_text=True)
    # When, on the lecturer's clock: 13:07 UTC in July is 14:07 BST.
    assert re.search(r"to your course on\s+5 Jul 2026, 14:07 BST:", again.get_data(as_text=True))
    resent = choose(client, launch_id, html, {I1: {}})
    assert resent.status_code == 409
    assert "JWT" not in resent.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(DeepLinkResponse)) == 1


def test_a_racing_second_submission_is_stopped_by_the_database(client, moodle_dl, vle, db,
                                                              monkeypatch):
    from lti_tool.instructor import deeplinking

    page, launch_id = open_picker(client, moodle_dl, vle)
    html = page.get_data(as_text=True)
    assert choose(client, launch_id, html, {R4: {}}).status_code == 200
    # The second submission checked before the first was committed: it saw nothing sent.
    real, calls = deeplinking.sent_response, []

    def stale(session, launch):
        calls.append(launch.id)
        return None if len(calls) <= 2 else real(session, launch)
    monkeypatch.setattr(deeplinking, "sent_response", stale)
    second = choose(client, launch_id, html, {I1: {}})
    assert second.status_code == 409
    assert "These activities have already been sent" in second.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(DeepLinkResponse)) == 1


def test_accept_multiple_false_refuses_two(client, moodle_dl, vle, db):
    page, launch_id = open_picker(client, moodle_dl, vle, accept_multiple=False)
    html = page.get_data(as_text=True)
    assert 'type="radio" name="module"' in html and 'type="checkbox"' not in html
    refused = choose(client, launch_id, html, {R4: {}, I1: {}})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "takes one activity at a time from here: choose a single module" in text
    assert 'name="JWT"' not in text
    assert db.scalar(select(func.count()).select_from(DeepLinkResponse)) == 0
    # One is fine.
    assert choose(client, launch_id, html, {R4: {}}).status_code == 200


@pytest.mark.parametrize("settings, message", [
    ({"max_points": "0"}, "Online safeguarding: maximum points must be a number greater than 0"),
    ({"max_points": "lots"}, "Online safeguarding: maximum points must be a number"),
    ({"max_points": "1e9"}, "at most 1000"),
    ({"pass_mark": "101"}, "Online safeguarding: the pass mark must be a whole percentage"),
    ({"pass_mark": "55.5"}, "the pass mark must be a whole percentage from 1 to 100"),
    ({"max_attempts": "0"}, "attempts allowed must be a whole number from 1 to 100, or blank"),
    ({"max_attempts": "-2"}, "attempts allowed must be a whole number"),
    ({"counting": "first"}, "choose whether the best or the latest attempt counts"),
    ({"reflection_marking": "peer"}, "choose whether you mark reflections"),
])
def test_invalid_settings_are_a_400_that_keeps_the_input(client, moodle_dl, vle, db,
                                                         settings, message):
    page, launch_id = open_picker(client, moodle_dl, vle)
    good = {"max_points": "12.5", "pass_mark": "65", "max_attempts": "2"}
    refused = choose(client, launch_id, page.get_data(as_text=True),
                     {R4: {**good, **settings}, I1: {}})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert message in html and "Nothing has been sent to your course yet." in html
    assert 'name="JWT"' not in html and vle.received == []
    assert db.scalar(select(func.count()).select_from(DeepLinkResponse)) == 0
    kept = picker_form(html)["fields"]
    for name, value in {**good, **settings}.items():
        if name in ("counting", "reflection_marking"):
            continue
        assert kept[f"{name}-{R4}"] == value
    assert re.search(rf'name="module" value="{R4}" checked', html)
    assert re.search(rf'name="module" value="{I1}" checked', html)


def test_nothing_chosen_or_unknown_module_is_refused(client, moodle_dl, vle, db):
    page, launch_id = open_picker(client, moodle_dl, vle)
    html = page.get_data(as_text=True)
    none = choose(client, launch_id, html, {})
    assert none.status_code == 400 and "Choose a module first." in none.get_data(as_text=True)
    unknown = choose(client, launch_id, html, {"no-such-module": {}})
    assert unknown.status_code == 400
    assert "“no-such-module” is not one of this tool's modules" in unescape(
        unknown.get_data(as_text=True))
    assert db.scalar(select(func.count()).select_from(DeepLinkResponse)) == 0


def test_picker_form_needs_its_csrf_token(client, moodle_dl, vle):
    _, launch_id = open_picker(client, moodle_dl, vle)
    refused = client.post(f"/i/{launch_id}/modules", data={"module": R4})
    assert refused.status_code == 400
    assert "This form has expired" in refused.get_data(as_text=True)


def test_student_with_a_deep_linking_request_gets_a_403_page(client, moodle_dl, vle, db):
    response, _, _ = moodle_dl.launch(client, "deeplink_request", login_hint="4",
                                      mutate=dl_request(vle, roles=[LEARNER]))
    assert response.status_code == 303
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 403
    assert "Only lecturers can choose modules" in page.get_data(as_text=True)
    launch_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    posted = client.post(f"/i/{launch_id}/modules", data={"module": R4})
    assert posted.status_code in (400, 403)  # CSRF or role: either way nothing is sent
    assert db.scalar(select(func.count()).select_from(DeepLinkResponse)) == 0


def test_return_url_that_is_not_http_is_refused(client, moodle_dl, vle):
    def javascript_url(claims):
        claims[DL]["deep_link_return_url"] = "javascript:alert(1)"
    response, _, _ = moodle_dl.launch(client, "deeplink_request", login_hint="3",
                                      mutate=javascript_url)
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.status_code == 400
    assert "did not say where to send the chosen activities" in page.get_data(as_text=True)


# -- an existing link without a module -----------------------------------------------------
def test_existing_link_setup_is_used_by_student_launches(app, client, moodle_dl, vle, db,
                                                         library):
    lecturer = app.test_client()
    response, _, _ = moodle_dl.launch(lecturer, "teacher_launch", login_hint="3")
    launch_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    page = lecturer.get(response.headers["Location"], follow_redirects=True)
    html = page.get_data(as_text=True)
    assert "Choose the module for this activity" in html
    assert 'type="radio" name="module"' in html  # one module per link
    assert len(listed_modules(html)) == MODULE_COUNT
    saved = choose(lecturer, launch_id, html, {R4: {
        "max_points": "50", "pass_mark": "50", "max_attempts": "2", "counting": "latest",
        "reflection_marking": "manual"}})
    assert saved.status_code == 302
    landing = lecturer.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Saved: this activity now delivers “Online safeguarding”." in landing
    link = db.scalar(select(ResourceLink))
    assert link.module_id == R4
    assert link.settings == {"max_attempts": "2", "counting": "latest",
                             "reflection_marking": "manual", "pass_mark": "50",
                             "max_points": "50"}
    assert db.scalar(select(func.count()).select_from(DeepLinkResponse)) == 0  # no JWT here
    # Opening the picker again shows the saved settings.
    reopened = picker_form(lecturer.get(f"/i/{launch_id}/modules").get_data(as_text=True))
    assert reopened["fields"][f"max_points-{R4}"] == "50"
    assert reopened["fields"][f"max_attempts-{R4}"] == "2"

    # A student launch of the same Moodle link (no custom module) gets the module and settings.
    response, _, _ = moodle_dl.launch(client, "student_launch")
    first = client.get(response.headers["Location"], follow_redirects=True)
    assert "Online safeguarding" in first.get_data(as_text=True)
    student_launch = first.request.path.split("/")[2]
    base = f"/l/{student_launch}"
    module = library.get(R4)
    index, question = next((i, s) for i, s in enumerate(module.steps, start=1)
                           if getattr(s, "type", None) == "single_choice")

    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      first.get_data(as_text=True)).group(1)

    def post(path, data=None):
        return client.post(f"{base}{path}", data={**(data or {}), "csrf_token": token})

    assert post("/start").status_code == 302  # the start page's button
    assert post(f"/step/{index}", {"choice": question.best_answer()}).status_code == 302
    first_result = client.get(post("/submit").headers["Location"]).get_data(as_text=True)
    assert "The pass mark is 50%." in first_result
    assert "1 attempt left" in first_result  # two allowed
    assert post("/retry").status_code == 302
    second = client.get(post("/submit").headers["Location"]).get_data(as_text=True)
    assert "Try again" not in second  # both attempts used
    # "Latest counts": the first attempt's page names the second as the one that counts.
    first_again = client.get(f"{base}/attempts/1").get_data(as_text=True)
    assert "Your latest attempt (number 2, 0%) is the one that counts." in first_again
    # A third try is refused and leads back to the last result.
    refused = client.get(post("/retry").headers["Location"])
    assert refused.headers["Location"].endswith(f"{base}/attempts/2")
    assert db.scalar(select(func.count()).select_from(Attempt)) == 2


def test_link_settings_read_max_points():
    from lti_tool.attempts.settings import link_settings

    link = ResourceLink(resource_link_id="x", custom={"module": R4, "max_points": "12.5"},
                        settings={})
    assert link_settings(link).max_points == 12.5
    link.settings = {"max_points": "nan"}
    assert link_settings(link).max_points is None


# -- the sandbox ---------------------------------------------------------------------------
def test_sandbox_deep_links_two_modules_and_a_student_launches_one(live_server):
    base = live_server
    browser = requests.Session()
    course = browser.get(f"{base}/sandbox/")
    assert "Add activities (deep linking)" in course.text
    start = next(f for f in forms(course.text) if f["action"].endswith("/sandbox/deep-link"))
    login = forms(browser.post(base + start["action"],
                               data={**start["fields"], "user": "lecturer"}).text)[0]
    assert login["action"] == f"{base}/lti/login"
    auth_page = browser.post(login["action"], data=login["fields"])
    launch = forms(auth_page.text)[0]
    picker = browser.post(launch["action"], data=launch["fields"])
    assert re.search(r"/i/[\w-]+/modules$", picker.url), picker.url
    assert "Add activities to your course" in picker.text

    form = picker_form(picker.text)
    data = {"csrf_token": form["fields"]["csrf_token"], "module": [R4, I1],
            f"max_attempts-{R4}": "1", f"counting-{R4}": "best",
            f"reflection_marking-{R4}": "completion", f"max_points-{R4}": "10",
            f"pass_mark-{R4}": "75", f"counting-{I1}": "latest",
            f"reflection_marking-{I1}": "manual"}
    answer = browser.post(base + form["action"].replace("&amp;", "&"), data=data)
    assert answer.status_code == 200
    returned = forms(answer.text)[0]
    assert returned["action"] == f"{base}/sandbox/deep-link-return"
    added = browser.post(returned["action"], data=returned["fields"])
    assert added.status_code == 200
    assert "2 activities added" in added.text
    assert "Online safeguarding" in added.text and "Digital professionalism" in added.text

    course = browser.get(f"{base}/sandbox/").text
    options = dict((title, key) for key, title in
                   re.findall(r'<option value="(dl-\d+)">([^<]+)</option>', course))
    assert set(options) == {"Online safeguarding", "Digital professionalism"}
    landing = sandbox_launch(base, "student", link=options["Online safeguarding"])
    assert landing.status_code == 200
    assert re.search(r"/l/[\w-]+/$", landing.url), landing.url
    assert "Online safeguarding" in landing.text
    assert "Start the module" in landing.text


def test_sandbox_refuses_a_response_it_cannot_verify(app, client, db):
    from lti_tool.keys import Keyring
    from lti_tool.sandbox import platform as sandbox

    page = client.post("/sandbox/deep-link-return", data={"JWT": "not-a-jwt"})
    assert page.status_code == 400
    assert "refused the tool's answer: the JWT cannot be read" in unescape(
        page.get_data(as_text=True))
    now = int(time.time())
    claims = {"iss": sandbox.CLIENT_ID, "aud": sandbox.issuer("http://localhost"),
              "iat": now, "exp": now + 60, "nonce": "n",
              "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingResponse",
              "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
              "https://purl.imsglobal.org/spec/lti/claim/deployment_id": sandbox.DEPLOYMENT_ID,
              DATA: "d", ITEMS: [{"type": "ltiResourceLink", "title": "Elsewhere",
                                  "url": "https://evil.test/launch"}]}
    keyring = Keyring(app.config["KEYS_DIR"])
    outside = client.post("/sandbox/deep-link-return", data={"JWT": keyring.sign(claims)})
    assert outside.status_code == 400 and "points outside the tool" in \
        outside.get_data(as_text=True)
    other = Keyring(app.config["KEYS_DIR"] / "other")
    other.generate()
    forged = client.post("/sandbox/deep-link-return", data={"JWT": other.sign(claims)})
    assert forged.status_code == 400 and "not in the tool's key set" in \
        unescape(forged.get_data(as_text=True))
    assert db.scalar(select(func.count()).select_from(SandboxLink)) == 0


def test_changing_the_module_of_a_started_activity_warns_first(app, client, moodle_dl, db):
    from ..player import begin

    # A student starts the activity set up with r4 by its custom parameter...
    def with_r4(claims):
        claims[CUSTOM] = {**claims[CUSTOM], "module": R4}
        return claims
    response, _, _ = moodle_dl.launch(client, "student_launch", mutate=with_r4)
    assert begin(client, response.headers["Location"].rstrip("/").rsplit("/", 1)[1]) \
        .status_code == 302
    # ...then the lecturer opens the same activity's picker to change it.
    lecturer = app.test_client()
    response, _, _ = moodle_dl.launch(lecturer, "teacher_launch", login_hint="3", mutate=with_r4)
    launch_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    page = lecturer.get(f"/i/{launch_id}/modules").get_data(as_text=True)
    assert "Students have already started this activity" in page
    assert "1 student made 1 attempt" in " ".join(page.split())
