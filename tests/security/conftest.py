"""The browser fixtures, for the pages-in-Chromium checks of the security headers."""

from ..browser.conftest import browser, page  # noqa: F401 - fixtures used by name
