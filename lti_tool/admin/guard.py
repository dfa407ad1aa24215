"""Every console page needs a signed-in administrator; none may be framed or cached."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..db import get_session
from . import accounts, bp

log = logging.getLogger(__name__)

# The admin's key in the browser session; LTI launches use other keys ("user_id",
# "launches"), so a student's or a VLE administrator's launch never opens the console.
SESSION_KEY = "admin_session"
PUBLIC_ENDPOINTS = {"admin.login", "admin.sso_start", "admin.sso_callback", "admin.sso_code"}


def session_limits() -> accounts.SessionLimits:
    """Idle and maximum session length from the configuration."""
    config = current_app.config
    return accounts.SessionLimits(idle=timedelta(seconds=config["ADMIN_SESSION_IDLE"]),
                                  maximum=timedelta(seconds=config["ADMIN_SESSION_MAX"]))


def safe_next(value: str | None, default: str) -> str:
    """A console path to return to, never another site (no scheme, host or `//`)."""
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/admin") or "\\" in value \
            or "//" in value or not value.isprintable():
        return default
    return value


@bp.before_request
def require_admin() -> ResponseReturnValue | None:
    """Resume the admin's session, or send them to sign in and come back."""
    g.admin = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    db = get_session()
    row, why = accounts.resume_session(db, session.get(SESSION_KEY), session_limits())
    db.commit()  # last-seen time, or the removal of an expired session
    if row is not None:
        g.admin = row.admin
        return None
    session.pop(SESSION_KEY, None)
    if why == "expired":
        minutes = current_app.config["ADMIN_SESSION_IDLE"] // 60
        flash(f"Your session ended after {minutes} minutes without activity, or after a "
              "long day. Sign in again.", "error")
        log.info("admin session expired on %s", request.path)
    elif why == "ended":
        log.info("ended or unknown admin session used on %s", request.path)
    # After signing in, come back to the page asked for (forms are simply shown again).
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("admin.login", next=target), code=303)


@bp.after_request
def console_headers(response: Response) -> Response:
    """No framing (the console is not part of a course page), no caching, no referrer."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
