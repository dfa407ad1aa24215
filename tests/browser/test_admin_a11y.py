"""The admin console in Chromium: signing in by keyboard, and axe-core on every page."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")
from .keyboard import axe_violations  # noqa: E402
expect = sync_api.expect
pytestmark = pytest.mark.browser
EMAIL, PASSWORD = "ada.admin@uni.example.ac.uk", "correct horse battery staple"


def seed(database_url: str) -> int:
    """An administrator, a registration with a pending deployment, a refused launch."""
    from lti_tool.admin.accounts import create_admin
    from lti_tool.models import LaunchFailure
    from lti_tool.registrations import add_deployment, add_platform

    engine = create_engine(database_url)
    with Session(engine) as db:
        create_admin(db, EMAIL, PASSWORD)
        row = add_platform(db, issuer="https://blackboard.com", client_id="bb-client",
                           auth_login_url="https://developer.blackboard.com/a",
                           auth_token_url="https://developer.blackboard.com/t",
                           key_set_url="https://developer.blackboard.com/k",
                           name="Blackboard", deployment_ids=("uni-a",))
        add_deployment(db, row, "uni-b", approved=False)
        db.add(LaunchFailure(code="bad_signature", reason="Signature verification failed",
                             issuer="https://blackboard.com", client_id="bb-client"))
        db.commit()
        reg_id = row.id
    engine.dispose()
    return reg_id


def test_console_by_keyboard_with_zero_axe_violations(page, live_server, database_url):
    reg_id = seed(database_url)
    page.goto(f"{live_server}/admin/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Sign in to the tool's administration")
    violations = {"login": axe_violations(page)}
    page.get_by_label("Email address").focus()
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    violations["overview"] = axe_violations(page)

    for name, path in (("registrations", "/admin/registrations"),
                       ("registration", f"/admin/registrations/{reg_id}"),
                       ("new registration", "/admin/registrations/new"),
                       ("values", "/admin/values"), ("links", "/admin/registration-links"),
                       ("keys", "/admin/keys"), ("failures", "/admin/failures"),
                       ("grades", "/admin/grades")):
        page.goto(live_server + path)
        violations[name] = axe_violations(page)

    # A form with errors, announced next to its fields.
    page.goto(f"{live_server}/admin/registrations/new")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".field-error").first).to_be_visible()
    violations["form errors"] = axe_violations(page)

    # Approving the pending deployment from the overview with the keyboard.
    page.goto(f"{live_server}/admin/")
    page.get_by_role("button", name="Approve uni-b").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Deployment uni-b of Blackboard is now "
                                                       "approved")
    assert {k: v for k, v in violations.items() if v} == {}
