"""Front page with the URLs an administrator gives a VLE, and a health check."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import text

from ..db import get_session
from ..lti.urls import tool_urls
from . import bp


@bp.get("/")
def index():
    """What the tool is and the values a VLE administrator needs."""
    return render_template("index.html", urls=tool_urls(current_app.config["BASE_URL"]),
                           sandbox=current_app.config["SANDBOX_ENABLED"])


@bp.get("/healthz")
def health():
    """Liveness and database reachability for load balancers."""
    get_session().execute(text("SELECT 1"))
    return {"status": "ok"}
