"""Fixtures for data governance: the class-view VLE (a class with names, emails and work)."""

from __future__ import annotations

from ..classview.conftest import frozen_modules, library, vle, vle_server  # noqa: F401
