"""The lecturer's class pages in Chromium: axe-core finds no WCAG 2.2 AA violation, keyboard marking."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import requests

from ..classview.test_sandbox_roster import launch_in
from ..classview.vle import take_module

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")
from .keyboard import activate, axe_violations, tab_to  # noqa: E402

expect = sync_api.expect
pytestmark = pytest.mark.browser


class HttpClient:
    """The player helpers' client interface over real HTTP (redirects not followed)."""

    def __init__(self, base_url: str, session: requests.Session) -> None:
        self.base_url, self.session = base_url, session

    def get(self, path: str, follow_redirects: bool = False):
        return _Response(self.session.get(self.base_url + path,
                                          allow_redirects=follow_redirects))

    def post(self, path: str, data: dict):
        return _Response(self.session.post(self.base_url + path, data=data,
                                           allow_redirects=False))


class _Response:
    """A requests response that reads like a Flask test response."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code, self.headers, self._text = (response.status_code, response.headers,
                                                      response.text)

    def get_data(self, as_text: bool = False) -> str:
        return self._text


def test_class_view_student_and_marking_pages_pass_axe(page, live_server):
    from lti_tool.content import Library

    # A student submits r4 over HTTP; their reflection waits for marking.
    module = Library(store=Path(tempfile.mkdtemp())).get("r4-online-safeguarding")
    student = requests.Session()
    landing = launch_in(student, live_server, "student", "safeguarding")
    launch_id = re.search(r"/l/([\w-]+)/", landing.url).group(1)
    take_module(HttpClient(live_server, student), launch_id, module, {"q1": "b"})

    page.goto(f"{live_server}/sandbox/")
    page.select_option("#link", "safeguarding")
    page.evaluate("document.querySelector('form.sandbox-launch').target = '_self'")
    page.get_by_role("button", name="Launch as lecturer").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("lecturer view")
    violations = {"landing": axe_violations(page)}
    activate(page, "a[href$='/link']")
    expect(page.get_by_role("heading", level=1)).to_have_text("Class view: Online safeguarding")
    expect(page.get_by_role("row", name=re.compile("Alex Kowalski"))).to_contain_text(
        "Never opened the tool")
    violations["class"] = axe_violations(page)
    # The wide table scrolls inside a region a keyboard user can reach.
    tab_to(page, "div.table-scroll")
    page.set_viewport_size({"width": 375, "height": 740})
    violations["class-phone"] = axe_violations(page)
    page.set_viewport_size({"width": 1100, "height": 900})

    activate(page, "a[href*='/students/']")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam Okafor")
    violations["student"] = axe_violations(page)

    activate(page, "a[href*='/marking/']")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mark Sam Okafor's reflection")
    violations["mark"] = axe_violations(page)
    for criterion in ("recognise", "respond", "law", "balance"):
        tab_to(page, f"input[name='mark-r1-{criterion}']")
        page.keyboard.type("1")
    tab_to(page, "textarea")
    page.keyboard.type("Clear and safe.")
    activate(page, "button[type=submit]")
    expect(page.get_by_role("status")).to_contain_text("Marks saved for Sam Okafor:")
    violations["queue"] = axe_violations(page)
    assert {where: found for where, found in violations.items() if found} == {}
