"""The browser fixtures, for the pages-in-Chromium checks of the security headers."""

from ..browser.conftest import page  # noqa: F401 - fixture used by name
