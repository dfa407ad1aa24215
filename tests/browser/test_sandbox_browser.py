"""A newcomer's first minute: the sandbox launches the tool inside its iframe in Chromium."""

from __future__ import annotations

import pytest

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.browser


def test_student_and_lecturer_launch_in_the_iframe_with_the_keyboard(page, live_server):
    page.goto(f"{live_server}/sandbox/")
    frame = page.frame_locator("iframe[name=tool]")

    # Keyboard only: Tab to the student's button and press Enter.
    button = page.get_by_role("button", name="Launch as student")
    button.focus()
    page.keyboard.press("Enter")
    # The frame first shows the cookie check ("Opening the activity…"), then the module's
    # start page, whose button is pressed by keyboard too.
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Digital social work: an introduction")
    frame.get_by_role("button", name="Start the module").focus()
    page.keyboard.press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Before you start: how confident are you?")

    page.get_by_role("button", name="Launch as lecturer").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Hello Tina Morgan, lecturer view")


def test_error_page_in_a_browser_is_plain_words(page, live_server):
    page.goto(f"{live_server}/sandbox/")
    response = page.request.post(f"{live_server}/lti/launch", form={"state": "x"})
    assert response.status == 400
    page.set_content(response.text())
    assert page.get_by_role("alert").inner_text().startswith("The launch request was incomplete")
