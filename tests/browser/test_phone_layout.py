"""A phone (375 px): a student takes a module and a lecturer marks it; nothing scrolls sideways.

WCAG 1.4.10 (reflow): every page fits 375 CSS px; wide tables scroll inside their own
focusable, labelled region. Focus lands on the feedback after each answer, so screen readers
announce it, and axe-core stays at zero on every page.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")
from .keyboard import axe_violations  # noqa: E402

expect = sync_api.expect
pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}


class Walk:
    """Checks each page the phone shows: width, axe, and where the focus is."""

    def __init__(self, page) -> None:
        self.page, self.too_wide, self.violations, self.seen = page, {}, {}, []

    def check(self, where: str, axe: bool = True) -> None:
        """Record the page's width past 375 px and its axe violations."""
        self.page.wait_for_load_state()  # the stylesheet is in: measure the page as shown
        self.seen.append(where)
        shots = os.environ.get("LTI_TOOL_SCREENSHOTS")  # a folder: keep pictures for reviews
        if shots:
            name = re.sub(r"\W+", "-", where)
            self.page.screenshot(path=f"{shots}/{len(self.seen):02d}-{name}-375.png", full_page=True)
            self.page.set_viewport_size({"width": 1280, "height": 900})
            self.page.screenshot(path=f"{shots}/{len(self.seen):02d}-{name}-1280.png", full_page=True)
            self.page.set_viewport_size(PHONE)
        width = self.page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            # Name the widest elements, so a failure says what to fix.
            self.too_wide[where] = (width, self.page.evaluate("""() => [...document.querySelectorAll(
                'body *')].filter(e => e.getBoundingClientRect().right > 376
                && !(e.parentElement.closest('.table-scroll'))).slice(0, 4).map(
                e => e.tagName + '.' + e.className + ' ' + (e.innerText || '').slice(0, 40))"""))
        if axe:
            found = axe_violations(self.page)
            if found:
                self.violations[where] = found

    def focused(self) -> str:
        """The id and text of the focused element."""
        return self.page.evaluate(
            "(document.activeElement.id || '') + ': ' + document.activeElement.innerText")


def test_a_student_and_a_lecturer_on_a_phone(browser, live_server, database_url):
    if database_url.startswith("postgresql"):
        pytest.skip("browser tests run once, on SQLite")
    from lti_tool.content import Library

    module = Library(store=Path(tempfile.mkdtemp())).get("r4-online-safeguarding")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    walk = Walk(page)
    page.goto(f"{live_server}/")
    walk.check("front page")
    page.goto(f"{live_server}/sandbox/")
    walk.check("sandbox")
    page.select_option("#link", "safeguarding")
    page.evaluate("document.querySelector('form.sandbox-launch').target = '_self'")
    page.get_by_role("button", name="Launch as student").click()
    page.wait_for_load_state()
    if page.get_by_role("button", name="Start the module").count():
        walk.check("start page")
        page.get_by_role("button", name="Start the module").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Before you start: how confident are you?")
    walk.check("confidence before")
    launch_id = re.search(r"/l/([\w-]+)/", page.url).group(1)

    def rate_all(value: str) -> None:
        for statement in module.confidence.statements:
            page.locator(f"input[name='rating-{statement.id}'][value='{value}']").check()
        page.get_by_role("button", name="Save and continue").click()

    rate_all("3")
    missed_one = False
    for index, item in enumerate(module.steps, start=1):
        expect(page.locator("#progress-label")).to_have_text(f"Step {index + 1} of {len(module.steps) + 2}")
        kind = getattr(item, "type", "page")
        where = f"step {index} ({kind})"
        if kind == "page":
            walk.check(where)
        elif kind in ("single_choice", "multiple_response"):
            walk.check(where)
            expect(page.get_by_role("heading", level=1)).not_to_have_text("Question")
            best = item.best_answer()
            picks = [best] if kind == "single_choice" else sorted(best)
            # One right answer missed on the first multiple response, to see it styled apart.
            miss = kind == "multiple_response" and len(picks) > 1 and not missed_one
            if miss:
                picks, missed_one = picks[:-1], True
            for option_id in picks:
                page.locator(f"input[name=choice][value='{option_id}']").check()
            page.get_by_role("button", name="Check my answer").click()
            expect(page.locator("#feedback")).to_be_focused()
            expect(page.locator("#feedback")).to_contain_text("Partly right." if miss else "Right.")
            if miss:
                expect(page.locator(".option.is-missed")).to_have_count(1)
                expect(page.locator(".option.is-missed")).to_contain_text(
                    "A right answer you did not choose")
            walk.check(where + " feedback")
        elif kind == "scenario":
            walk.check(where)
            for number, choice in enumerate(item.best_answer(), start=1):
                page.locator(f"input[name=choice][value='{choice}']").check()
                page.get_by_role("button", name="Decide").click()
                expect(page.locator("#feedback")).to_be_focused()
                walk.check(f"{where} decision {number}", axe=number == 1)
            expect(page.locator("#feedback")).to_contain_text("You scored 4 out of 4")
        elif kind == "reflection":
            walk.check(where)
            page.locator("textarea").fill("I would listen calmly and follow procedures. " * item.min_words)
            page.get_by_role("button", name="Save my reflection").click()
            expect(page.locator("#feedback")).to_be_focused()
            walk.check(where + " saved")
        assert page.locator("nav.step-nav a.button:not(.secondary)").count(), (where, page.url, page.inner_text("main")[:800])
        page.locator("nav.step-nav a.button:not(.secondary)").click()
    walk.check("confidence after")
    rate_all("4")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ready to submit?")
    walk.check("review")
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your result")
    walk.check("summary")
    # What to revisit links to the question the student lost marks on.
    revisit = page.locator(".revisit a").first
    expect(revisit).to_be_visible()
    page.get_by_role("link", name="My capability profile").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My capability profile")
    walk.check("profile")
    expect(page.locator(".module-progress")).to_contain_text("Done")
    # The chart's words are legible: drawn at 12 px or more on the phone's screen.
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('.profile-chart')]
        .flatMap(svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return [...svg.querySelectorAll('text')].map(
                t => parseFloat(t.getAttribute('font-size')) * scale);
        }))""")
    assert smallest >= 12, smallest
    page.goto(f"{live_server}/l/{launch_id}/evidence")
    walk.check("evidence")
    expect(page.locator("main")).not_to_contain_text("dcs-2020")

    # The lecturer: landing page, class view, one student, the queue, marking.
    page.goto(f"{live_server}/sandbox/")
    page.select_option("#link", "safeguarding")
    page.evaluate("document.querySelector('form.sandbox-launch').target = '_self'")
    page.get_by_role("button", name="Launch as lecturer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("lecturer view")
    walk.check("lecturer landing")
    expect(page.locator(".glance")).to_contain_text("1 waiting for marking")
    lecturer_id = re.search(r"/launch/([\w-]+)", page.url).group(1)
    page.goto(f"{live_server}/l/{lecturer_id}/choose")  # the module picker
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    walk.check("picker")
    page.go_back()
    page.locator("a[href$='/link']").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Class view: Online safeguarding")
    walk.check("class view")
    row = page.get_by_role("row", name=re.compile("Sam Okafor"))
    expect(row.locator("th")).to_contain_text("Waiting for marking")  # beside the name
    expect(row.locator("td").first).to_contain_text("1 of 1 module")
    page.locator("a[href*='/students/']").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam Okafor")
    walk.check("student")
    page.goto(f"{live_server}/c/{launch_id}/marking")  # a student's launch: refused politely
    walk.check("refused", axe=False)
    page.go_back()
    page.locator("a[href*='/marking/']").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mark Sam Okafor's reflection")
    walk.check("mark")
    page.get_by_role("link", name="Marking queue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Marking queue")
    page.wait_for_load_state()
    walk.check("marking queue")
    page.goto(f"{live_server}/sandbox/gradebook")
    walk.check("sandbox gradebook")
    page.goto(f"{live_server}/no/such/page")
    walk.check("not found")
    context.close()
    assert walk.too_wide == {}
    assert walk.violations == {}


def test_the_admin_console_on_a_phone(browser, live_server, database_url):
    if database_url.startswith("postgresql"):
        pytest.skip("browser tests run once, on SQLite")
    from .test_admin_a11y import EMAIL, PASSWORD, seed

    reg_id = seed(database_url)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    walk = Walk(page)
    page.goto(f"{live_server}/admin/")
    walk.check("login")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    walk.check("overview")
    for name, path in (("registrations", "/admin/registrations"),
                       ("registration", f"/admin/registrations/{reg_id}"),
                       ("values", "/admin/values"), ("links", "/admin/registration-links"),
                       ("keys", "/admin/keys"), ("failures", "/admin/failures"),
                       ("grades", "/admin/grades")):
        page.goto(live_server + path)
        walk.check(name)
    # Rotating keys asks first: the button is inside a disclosure that says what happens.
    page.goto(f"{live_server}/admin/keys")
    rotate = page.get_by_role("button", name="Rotate: make a new signing key")
    expect(rotate).to_be_hidden()
    page.get_by_text("Rotate the signing key…").click()
    expect(rotate).to_be_visible()
    context.close()
    assert walk.too_wide == {}
    assert walk.violations == {}
