"""Real headless Chromium (Debian's package) driven by Playwright; skipped where it is missing."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright, *extra_args: str):
    """A headless Debian Chromium from the run's one Playwright driver."""
    return playwright.chromium.launch(executable_path=_chromium(), headless=True,
                                      args=CHROMIUM_ARGS + list(extra_args))


@pytest.fixture
def page(browser, database_url):  # `browser` comes from tests/conftest.py
    """A fresh browser tab (browser tests run on SQLite only: the database is not the subject)."""
    if database_url.startswith("postgresql"):
        pytest.skip("browser tests run once, on SQLite")
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()
