"""A module taken with the keyboard only in Chromium; axe-core checks player, summary, profile."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")
from .keyboard import activate, axe_violations, choose_radio, tab_to  # noqa: E402
expect = sync_api.expect
pytestmark = pytest.mark.browser
def test_module_by_keyboard_with_zero_axe_violations(page, live_server):
    from lti_tool.content import Library
    from lti_tool.numbers import percent, points

    module = Library(store=Path(tempfile.mkdtemp())).get("r4-online-safeguarding")
    page.goto(f"{live_server}/sandbox/")
    page.select_option("#link", "safeguarding")
    page.evaluate("document.querySelector('form.sandbox-launch').target = '_self'")
    page.get_by_role("button", name="Launch as student").click()
    # The module's start page; its button is reached and pressed by keyboard.
    expect(page.get_by_role("heading", level=1)).to_have_text(module.title)
    page.get_by_role("button", name="Start the module").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Before you start: how confident are you?")
    violations = {"confidence": axe_violations(page)}

    def rate_all(value: str) -> None:
        for statement in module.confidence.statements:
            choose_radio(page, f"rating-{statement.id}", value)
        activate(page, "button[type=submit]")

    def next_step() -> None:
        activate(page, "nav.step-nav a.button:not(.secondary)")

    rate_all("3")
    for index, item in enumerate(module.steps, start=1):
        expect(page.locator("#progress-label")).to_have_text(
            f"Step {index + 1} of {len(module.steps) + 2}")
        kind = getattr(item, "type", "page")
        if kind == "page":
            violations.setdefault("page", axe_violations(page))
        elif kind == "single_choice":
            choose_radio(page, "choice", item.best_answer())
            activate(page, "button[type=submit]")
            expect(page.get_by_text("Your answer: right.")).to_be_visible()
            violations.setdefault("feedback", axe_violations(page))
        elif kind == "multiple_response":
            for option_id in sorted(item.best_answer()):
                tab_to(page, f"input[name=choice][value='{option_id}']")
                page.keyboard.press("Space")
            activate(page, "button[type=submit]")
            expect(page.get_by_role("status")).to_contain_text(
                f"You scored {points(item.max_points)} out of {points(item.max_points)}")
        elif kind == "scenario":
            violations.setdefault("scenario", axe_violations(page))
            for choice in item.best_answer():
                choose_radio(page, "choice", choice)
                activate(page, "button[type=submit]")
            expect(page.get_by_role("status")).to_contain_text(
                f"You scored {points(item.max_points)} out of {points(item.max_points)}")
        elif kind == "reflection":
            tab_to(page, "textarea")
            page.keyboard.type("I would listen calmly and follow procedures. "
                               * (item.min_words // 7 + 1))
            activate(page, "button[type=submit]")
            expect(page.get_by_role("status")).to_contain_text("Saved:")
            violations.setdefault("reflection", axe_violations(page))
        next_step()
    rate_all("4")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ready to submit?")
    activate(page, "button[type=submit]")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your result")
    # Everything right but the reflection, which waits for marking.
    waiting = sum(a.max_points for a in module.activities if a.type == "reflection")
    expect(page.locator(".big-score")).to_contain_text(
        percent(100 * (module.max_points - waiting) / module.max_points))
    violations["summary"] = axe_violations(page)

    activate(page, "a.button[href$='/profile']")
    expect(page.get_by_role("heading", level=1)).to_have_text("My capability profile")
    violations["profile"] = axe_violations(page)
    page.set_viewport_size({"width": 375, "height": 740})  # a phone
    violations["profile-phone"] = axe_violations(page)

    assert {where: found for where, found in violations.items() if found} == {}
