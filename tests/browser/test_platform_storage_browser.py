"""Launches inside a VLE's iframe on another site, in Chromium with third-party cookies blocked:
the state kept in the platform's frame (LTI Client Side postMessages), and the cookie path with
Partitioned cookies. The test platform serves the course page, its storage frame and its auth
endpoint on https://localhost; the tool runs on https://127.0.0.1 (another site)."""

from __future__ import annotations

import json
import threading
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lti_tool.models import Launch

from ..conftest import make_app
from ..lti_platform import TestPlatform, moodle_claims
from .conftest import launch_chromium

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser

COURSE = """<!doctype html><html><head><meta charset="utf-8"><title>Course</title></head><body>
<h1>Social Work Practice 2</h1>
<iframe name="post_message_forwarding" src="/forwarding?{forwarding}" hidden></iframe>
<iframe name="tool" title="Digital capabilities" width="1000" height="700"></iframe>
<form id="login" method="post" action="{tool}/lti/login" target="tool">{fields}</form>
<script>
  window.platformLog = [];
  var TOOL = {tool_json};
  // The platform page answers capabilities and names its storage frame (as Canvas does).
  window.addEventListener("message", function (event) {{
    var data = event.data || {{}};
    if (event.origin !== TOOL || data.subject !== "org.imsglobal.lti.capabilities") {{ return; }}
    window.platformLog.push(data.subject);
    event.source.postMessage({{subject: "org.imsglobal.lti.capabilities.response",
      message_id: data.message_id, supported_messages: [
        {{subject: "org.imsglobal.lti.put_data", frame: "post_message_forwarding"}},
        {{subject: "org.imsglobal.lti.get_data", frame: "post_message_forwarding"}}]}},
      event.origin);
  }});
  document.querySelector("iframe[name=post_message_forwarding]").addEventListener(
    "load", function () {{ document.getElementById("login").submit(); }});
</script></body></html>"""

FORWARDING = """<!doctype html><html><head><meta charset="utf-8"></head><body><script>
  var TOOL = {tool_json}, WRONG = {wrong}, store = {{}};
  window.addEventListener("message", function (event) {{
    var data = event.data || {{}};
    if (event.origin !== TOOL) {{ return; }}
    var reply = {{subject: data.subject + ".response", message_id: data.message_id,
                  key: data.key}};
    if (data.subject === "org.imsglobal.lti.put_data") {{
      store[data.key] = data.value; reply.value = data.value;
    }} else if (data.subject === "org.imsglobal.lti.get_data") {{
      reply.value = WRONG ? "state-from-another-login" : store[data.key];
    }} else {{ return; }}
    parent.platformLog.push(data.subject + " " + data.key);
    event.source.postMessage(reply, event.origin);
  }});
</script></body></html>"""

AUTH = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<form method="post" action="{redirect_uri}">
<input type="hidden" name="id_token" value="{id_token}">
<input type="hidden" name="state" value="{state}">
<button type="submit">Continue to the tool</button></form></body></html>"""


class CoursePlatform:
    """A VLE on https://localhost: course page, storage frame and OIDC auth endpoint."""

    def __init__(self, platform: TestPlatform) -> None:
        self.platform = platform
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True,
                                  ssl_context="adhoc")
        self.url = f"https://localhost:{self.server.server_port}"
        self.tool = ""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _app(self, environ, start_response):
        request = Request(environ)
        tool_json = json.dumps(self.tool)
        if request.path == "/course":
            params = {"iss": self.platform.issuer, "login_hint": "4",
                      "target_link_uri": f"{self.tool}/lti/launch",
                      "client_id": self.platform.client_id, "lti_deployment_id": "1",
                      "lti_message_hint": uuid.uuid4().hex}
            if request.args.get("storage"):
                params["lti_storage_target"] = "post_message_forwarding"
            fields = "".join(f'<input type="hidden" name="{k}" value="{v}">'
                             for k, v in params.items())
            body = COURSE.format(tool=self.tool, tool_json=tool_json, fields=fields,
                                 forwarding="wrong=1" if request.args.get("wrong") else "")
        elif request.path == "/forwarding":
            body = FORWARDING.format(tool_json=tool_json,
                                     wrong="true" if request.args.get("wrong") else "false")
        elif request.path == "/auth":
            auth = request.args.to_dict()
            claims = self.platform.claims(moodle_claims("student_launch"), auth)
            body = AUTH.format(redirect_uri=auth["redirect_uri"], state=auth["state"],
                               id_token=self.platform.sign(claims))
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(body, content_type="text/html")(environ, start_response)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()


@pytest.fixture(scope="module")
def cookieless_browser(playwright_driver):
    """Chromium that blocks third-party cookies (Partitioned ones excepted, as Chrome does)."""
    chromium = launch_chromium(playwright_driver, "--test-third-party-cookie-phaseout")
    yield chromium
    chromium.close()


@pytest.fixture
def course(database_url, tmp_path, jwks_server, cookieless_browser, request):
    """The tool over https on 127.0.0.1, a course on https://localhost framing it, and a tab."""
    if database_url.startswith("postgresql"):
        pytest.skip("browser tests run once, on SQLite")
    tool_server = make_server("127.0.0.1", 0, None, threaded=True, ssl_context="adhoc")
    tool = f"https://127.0.0.1:{tool_server.server_port}"
    app = make_app(database_url, tmp_path, BASE_URL=tool, TRUSTED_PROXIES=0)
    tool_server.app = app
    threading.Thread(target=tool_server.serve_forever, daemon=True).start()

    platform = TestPlatform(jwks_server, f"canvas-{id(request)}", "", "canvas-client")
    vle = CoursePlatform(platform)
    vle.tool = tool
    platform.issuer = vle.url
    platform.auth_login_url = f"{vle.url}/auth"
    session = app.extensions["lti_tool.sessionmaker"]()
    platform.register(session, deployment_ids=("1",))
    session.close()

    context = cookieless_browser.new_context(ignore_https_errors=True,
                                             viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    yield tab, vle, app
    context.close()
    vle.close()
    tool_server.shutdown()
    app.extensions["lti_tool.engine"].dispose()


def _launches(app) -> int:
    session = app.extensions["lti_tool.sessionmaker"]()
    try:
        return session.scalar(select(func.count()).select_from(Launch))
    finally:
        session.close()


def _tool_cookies(tab, vle) -> list[dict]:
    tool_host = urlsplit(vle.tool).hostname
    return [c for c in tab.context.cookies() if c["domain"].lstrip(".") == tool_host]


def test_launch_keeps_its_state_in_the_platform_frame_without_cookies(course):
    tab, vle, app = course
    tab.goto(f"{vle.url}/course?storage=1")
    frame = tab.frame_locator("iframe[name=tool]")
    continue_button = frame.get_by_role("button", name="Continue to the tool")
    expect(continue_button).to_be_visible()
    # The tool's login page stored state and nonce in the platform's frame before it went on.
    log = tab.evaluate("window.platformLog")
    assert log[0] == "org.imsglobal.lti.capabilities"
    assert [entry.split()[0] for entry in log[1:]] == ["org.imsglobal.lti.put_data"] * 2
    state = log[1].split()[1]
    assert state.startswith("state_state-")
    # A browser that keeps no cookie at all for the tool (Safari): the state cookie is gone.
    tab.context.clear_cookies()
    assert _tool_cookies(tab, vle) == []
    continue_button.click()

    expect(frame.get_by_role("heading", level=1)).to_have_text("Hello Sam Student")
    expect(frame.get_by_role("heading", level=2)).to_contain_text(
        "This activity is not set up yet")
    assert tab.evaluate("window.platformLog")[-1] == f"org.imsglobal.lti.get_data {state}"
    assert _launches(app) == 1


def test_a_state_the_platform_does_not_hold_is_refused(course):
    tab, vle, app = course
    tab.goto(f"{vle.url}/course?storage=1&wrong=1")
    frame = tab.frame_locator("iframe[name=tool]")
    continue_button = frame.get_by_role("button", name="Continue to the tool")
    expect(continue_button).to_be_visible()
    tab.context.clear_cookies()
    continue_button.click()

    expect(frame.get_by_role("alert")).to_contain_text("Your sign-in could not be confirmed")
    assert any(e.startswith("org.imsglobal.lti.get_data")
               for e in tab.evaluate("window.platformLog"))
    assert _launches(app) == 0


def test_cookie_path_works_with_partitioned_cookies(course):
    tab, vle, app = course
    tab.goto(f"{vle.url}/course")
    frame = tab.frame_locator("iframe[name=tool]")
    # The cookie check passes (a Partitioned cookie is kept), so no new window is offered.
    continue_button = frame.get_by_role("button", name="Continue to the tool")
    expect(continue_button).to_be_visible()
    state_cookies = [c for c in _tool_cookies(tab, vle) if c["name"].startswith("lti1p3-")]
    assert len(state_cookies) == 1
    continue_button.click()

    expect(frame.get_by_role("heading", level=1)).to_have_text("Hello Sam Student")
    assert tab.evaluate("window.platformLog") == []
    assert _launches(app) == 1
