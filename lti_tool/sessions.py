"""Browser sessions that survive inside a VLE's iframe."""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class IframeSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions sent with `SameSite=None; Secure` whenever served over https.

    The VLE frames the tool on another site, so a Lax cookie would not come back; over plain
    http (the local demo) browsers refuse SameSite=None, so the attribute is left off there.
    """

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, made once per set of keys rather than twice a request."""
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = app.extensions.get("lti_tool.session_serializer")
        if cached is None or cached[0] != keys:
            # Building one costs a JSON round trip (itsdangerous probes the serializer).
            cached = (keys, super().get_signing_serializer(app))
            app.extensions["lti_tool.session_serializer"] = cached
        serializer: URLSafeTimedSerializer | None = cached[1]
        return serializer

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """None over https so the cookie travels in third-party frames."""
        return "None" if request.is_secure else app.config.get("SESSION_COOKIE_SAMESITE")

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure whenever the request came over https (directly or via the proxy)."""
        return request.is_secure or bool(app.config.get("SESSION_COOKIE_SECURE"))

    def get_cookie_partitioned(self, app: Flask) -> bool:
        """Partitioned (CHIPS) with SameSite=None: kept per VLE where third-party cookies are
        blocked, instead of being refused."""
        return request.is_secure


def init_app(app: Flask) -> None:
    """Install the iframe-friendly session interface."""
    app.session_interface = IframeSessionInterface()
    app.config.setdefault("SESSION_COOKIE_NAME", "lti_tool_session")
    app.config["SESSION_COOKIE_NAME"] = "lti_tool_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
