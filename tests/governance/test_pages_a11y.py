"""The data protection pages in Chromium: axe-core finds no WCAG 2.2 AA violation; keyboard use."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")
from ..browser.keyboard import axe_violations  # noqa: E402

expect = sync_api.expect
pytestmark = pytest.mark.browser
EMAIL, PASSWORD = "dpo@uni.example.ac.uk", "correct horse battery staple"


def seed(database_url: str) -> None:
    """An administrator and a few audit rows."""
    from lti_tool.admin.accounts import create_admin
    from lti_tool.governance import audit

    engine = create_engine(database_url)
    with Session(engine) as db:
        create_admin(db, EMAIL, PASSWORD)
        audit.record(db, "cli:root", "keys.rotate", "key k1")
        audit.record(db, "lti:user#3", "marks.save", "attempt#9", {"activities": ["r1"]})
        db.commit()
    engine.dispose()


def test_data_pages_by_keyboard_with_zero_axe_violations(page, live_server, database_url):
    seed(database_url)
    page.goto(f"{live_server}/admin/login")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{live_server}/admin/data/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data protection")
    violations = {"overview": axe_violations(page)}

    # Purging with the keyboard: the button, then the message saying what happened.
    page.get_by_role("button", name="Purge").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Purged")
    violations["after purge"] = axe_violations(page)

    page.goto(f"{live_server}/admin/data/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    violations["audit"] = axe_violations(page)
    page.get_by_label("Action").select_option("marks.save")
    page.get_by_role("button", name="Filter").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("tbody tr")).to_have_count(1)
    violations["audit filtered"] = axe_violations(page)
    assert {k: v for k, v in violations.items() if v} == {}
