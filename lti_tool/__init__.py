"""Digital capability modules for social work students, delivered over LTI 1.3.

The package root imports nothing heavy, so `lti_tool.content` stays usable without Flask.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .config import Config


def create_app(config: "Config | None" = None) -> "Flask":
    """Build the Flask app (see lti_tool.app.create_app)."""
    from .app import create_app as factory

    return factory(config)
