"""Keyboard-only navigation and axe-core checks shared by the browser tests."""

from __future__ import annotations

import pytest

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "wcag22aa"]}}


def axe_violations(page) -> list[str]:
    """axe-core's WCAG 2.2 AA violations on the page, as readable lines."""
    results = axe_module.Axe().run(page, options=WCAG)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"]]


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector`, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
    raise AssertionError(f"could not reach {selector} with the keyboard")


def activate(page, selector: str) -> None:
    """Tab to a button or link and press Enter, waiting for the page it leads to."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def choose_radio(page, name: str, value: str) -> None:
    """Tab into a radio group and move the selection with the arrow keys."""
    tab_to(page, f"input[name='{name}']")
    for _ in range(12):
        if page.evaluate("v => document.activeElement.value === v", value):
            page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option {value} in {name}")
