"""Front page with the URLs an administrator gives a VLE (probes live in observability.py)."""

from __future__ import annotations

from flask import current_app, render_template

from ..lti.urls import tool_urls
from . import bp


@bp.get("/")
def index():
    """What the tool is and the values a VLE administrator needs."""
    return render_template("index.html", urls=tool_urls(current_app.config["BASE_URL"]),
                           sandbox=current_app.config["SANDBOX_ENABLED"])
