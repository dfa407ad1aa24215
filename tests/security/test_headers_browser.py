"""The policy in a real browser: the sandbox flow runs with no CSP violation, and a site that
is not a registered platform cannot frame the tool (issue 13, item 2)."""

from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser


def test_pages_run_under_the_policy_without_violations(page, live_server):
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.log('CSP violation: ' + e.violatedDirective))")
    page.goto(f"{live_server}/sandbox/")
    frame = page.frame_locator("iframe[name=tool]")
    page.get_by_role("button", name="Launch as student").click()
    # The cookie check and the sandbox's auto-posting form are app.js now, not inline.
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Digital social work: an introduction")
    frame.get_by_role("button", name="Start the module").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Before you start: how confident are you?")
    page.get_by_role("button", name="Launch as lecturer").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Hello Tina Morgan, lecturer view")
    assert not [m for m in messages if "CSP violation" in m], messages
    # The check can fail: an injected inline script is refused, and reported.
    ran = page.frame(name="tool").evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.appendChild(s); return window.x === 1; }")
    page.wait_for_timeout(200)
    assert ran is False
    assert any("CSP violation: script-src" in m for m in messages), messages


def test_a_site_that_is_not_a_platform_cannot_frame_the_tool(page, live_server):
    for origin, allowed in (("http://evil.example", False), (live_server, True)):
        page.route(f"{origin}/framer", lambda route: route.fulfill(
            content_type="text/html",
            body=f'<iframe name="t" src="{live_server}/" width="600" height="400"></iframe>'))
        page.goto(f"{origin}/framer")
        page.wait_for_load_state("load")
        framed = page.frame(name="t")
        # Chromium replaces a refused frame with its own error page.
        text = framed.locator("body").inner_text() if framed else ""
        assert ("Digital capabilities for social work" in text) is allowed, (origin, framed.url)
