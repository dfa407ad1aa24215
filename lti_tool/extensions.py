"""Flask extensions created once and bound in the app factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask_wtf.csrf import CSRFProtect

View = TypeVar("View", bound=Callable[..., Any])


class TypedCSRFProtect(CSRFProtect):  # type: ignore[misc]  # flask_wtf ships no type hints
    """CSRFProtect whose `exempt` keeps the view's type (flask_wtf leaves it unannotated)."""

    def exempt(self, view: View) -> View:
        """Let requests to `view` through without a CSRF token; the view itself."""
        return cast(View, super().exempt(view))


csrf = TypedCSRFProtect()
