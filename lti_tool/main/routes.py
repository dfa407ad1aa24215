"""Front page with the URLs an administrator gives a VLE (probes live in observability.py)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template
from flask.typing import ResponseReturnValue

from ..content import render_markdown

from ..lti.urls import tool_urls
from . import bp


@bp.get("/")
def index() -> ResponseReturnValue:
    """What the tool is and the values a VLE administrator needs."""
    return render_template("index.html", urls=tool_urls(current_app.config["BASE_URL"]),
                           sandbox=current_app.config["SANDBOX_ENABLED"])


@bp.get("/accessibility")
def accessibility() -> ResponseReturnValue:
    """The accessibility statement (the same file as docs/accessibility.md)."""
    text = (Path(current_app.root_path) / "templates" / "accessibility.md").read_text("utf-8")
    return render_template("statement.html", title="Accessibility statement",
                           html=render_markdown(text))
