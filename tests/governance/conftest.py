"""Fixtures for data governance: the class-view VLE (a class with names, emails and work)."""

from __future__ import annotations

from ..admin.conftest import admin_client, admin_user  # noqa: F401
from ..classview.conftest import frozen_modules, library, vle, vle_server  # noqa: F401
from ..browser.conftest import page  # noqa: E402,F401
