"""Security headers on every response: CSP, framing by registered VLEs only, no caching.

The tool lives in its VLEs' iframes, so `frame-ancestors` lists the origins of the
registered platforms (their issuer and OIDC login URL), plus `LTI_TOOL_FRAME_ANCESTORS`
for a VLE served from another host (a Canvas school's own domain). The list is read from the
database at most once a minute per process; a newly registered platform can frame the tool
within a minute. Scripts come only from /static (no inline script anywhere), so XSS in a
page cannot run; pages carry personal data and are never stored by browsers or proxies.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from flask import Flask, Response, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

ORIGINS_TTL = 60.0  # seconds a process trusts its list of platform origins
HSTS = "max-age=31536000"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors {ancestors}")
_CACHE = "lti_tool.frame_ancestors"


def origin_of(url: str | None) -> str | None:
    """'https://vle.example.ac.uk' for an http(s) URL; None for anything else."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    # Only characters a CSP source may hold: a hostile registration cannot add directives.
    host = parts.netloc.rpartition("@")[2].lower()
    if any(c in host for c in " ;,'\"\\\t\r\n"):
        return None
    return f"{parts.scheme}://{host}"


def platform_origins(app: Flask) -> list[str]:
    """Origins of the enabled registrations and the configured extras, cached briefly."""
    cached: tuple[float, list[str]] | None = app.extensions.get(_CACHE)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    from .models import Registration

    found: set[str] = set()
    try:
        session = app.extensions["lti_tool.sessionmaker"]()
        try:
            rows = session.execute(select(Registration.issuer, Registration.auth_login_url)
                                   .where(Registration.enabled.is_(True))).all()
        finally:
            session.close()
    except SQLAlchemyError as error:
        # Without the database only the tool itself may frame its pages; try again soon.
        log.warning("frame-ancestors: cannot read registrations: %s", error)
        rows = []
        now -= ORIGINS_TTL - 5
    for issuer, login_url in rows:
        found.update(o for o in (origin_of(issuer), origin_of(login_url)) if o)
    for extra in (app.config.get("FRAME_ANCESTORS") or "").split():
        if origin_of(extra):
            found.add(origin_of(extra))  # type: ignore[arg-type]
    origins = sorted(found)
    app.extensions[_CACHE] = (now + ORIGINS_TTL, origins)
    return origins


def forget_origins(app: Flask) -> None:
    """Read the registrations again on the next response (after adding a platform)."""
    app.extensions.pop(_CACHE, None)


def init_app(app: Flask) -> None:
    """Add the headers to every response, error pages and redirects included."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        ancestors = " ".join(["'self'", *platform_origins(app)])
        headers.setdefault("Content-Security-Policy", CSP.format(ancestors=ancestors))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.endpoint != "static" and "Cache-Control" not in headers:
            # Every page names a person or shows their work: nothing may keep a copy.
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response
