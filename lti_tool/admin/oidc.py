"""The university's OpenID Connect provider, through Authlib's Flask client.

Authlib is kept here, as pylti1p3 is kept in lti/adapter.py. It does discovery
(/.well-known/openid-configuration), the authorization code flow with PKCE (S256), state and
nonce (kept in the signed session cookie, so any process can take the callback), and the
id_token's signature against the provider's JWKS. Two checks are made explicit on top: the
discovery document must name the configured issuer, and the id_token's `iss` and `aud` must
be that issuer and this client (Authlib on its own checks `aud` only through `azp`). Every
way the exchange can fail becomes a ProviderProblem with a kind the view turns into a page.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask, current_app, session
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from werkzeug.wrappers import Response

from ..config import OidcSettings

log = logging.getLogger(__name__)

CLIENT = "university"
EXTENSION = "lti_tool.oidc"
SCOPE = "openid email profile"
# Discovery and the key set are fetched again after a day, so a provider that moves an
# endpoint is followed without a restart (a new signing key is fetched at once, by its kid).
METADATA_TTL = 24 * 3600.0


class ProviderProblem(Exception):
    """Why a university sign-in did not produce trusted claims. `kind` is one of
    "unavailable" (cannot reach the provider), "misconfigured" (its answers do not fit the
    settings), "refused" (it sent error=), "state" (no matching sign-in in this browser) or
    "token" (an id_token that fails a check; `what` names the check)."""

    def __init__(self, kind: str, detail: str, what: str = "", error: str = "",
                 description: str = "") -> None:
        super().__init__(detail)
        self.kind = kind
        self.what = what
        self.error = error
        self.description = description


def discovery_url(issuer: str) -> str:
    """Where the provider's discovery document is (OpenID Connect Discovery, section 4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def init_app(app: Flask) -> None:
    """Register the provider's client when OIDC_* settings are present (no network here)."""
    settings: OidcSettings | None = app.config.get("OIDC")
    if settings is None:
        return
    oauth = OAuth(app)
    oauth.register(CLIENT, client_id=settings.client_id,
                   client_secret=settings.client_secret,
                   server_metadata_url=discovery_url(settings.issuer),
                   client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                                  "default_timeout": app.config["HTTP_TIMEOUT"]})
    app.extensions[EXTENSION] = oauth


def settings() -> OidcSettings | None:
    """This app's OIDC settings, or None when university sign-in is not set up."""
    return cast("OidcSettings | None", current_app.config.get("OIDC"))


def _client() -> FlaskOAuth2App:
    """The registered client of this app."""
    oauth: OAuth = current_app.extensions[EXTENSION]
    return cast(FlaskOAuth2App, oauth.create_client(CLIENT))


def _metadata(client: FlaskOAuth2App, config: OidcSettings) -> dict[str, Any]:
    """The discovery document (fetched at most once a day per process), checked."""
    metadata: dict[str, Any] = client.server_metadata
    if time.time() - metadata.get("_loaded_at", 0) > METADATA_TTL:
        metadata.pop("_loaded_at", None)
        metadata.pop("jwks", None)
    metadata = client.load_server_metadata()
    if metadata.get("issuer") != config.issuer:
        metadata.pop("_loaded_at", None)  # look again next time: it may be fixed
        raise ProviderProblem("misconfigured", f"the discovery document at "
                              f"{discovery_url(config.issuer)} names issuer "
                              f"{metadata.get('issuer')!r:.200}, not {config.issuer!r}")
    supported = metadata.get("token_endpoint_auth_methods_supported") or []
    if "client_secret_basic" not in supported and "client_secret_post" in supported:
        client.client_kwargs["token_endpoint_auth_method"] = "client_secret_post"
    return metadata


def start(redirect_uri: str) -> Response:
    """The redirect to the provider's sign-in page (state, nonce and PKCE verifier saved)."""
    config = _configured()
    client = _client()
    # One sign-in in flight per browser: each start would otherwise add ~0.5 KB of state to
    # the session cookie, and a few restarts would push it past what browsers keep.
    for key in [k for k in session if k.startswith(f"_state_{CLIENT}_")]:
        session.pop(key)
    try:
        _metadata(client, config)
        return cast(Response, client.authorize_redirect(redirect_uri))
    except ProviderProblem:
        raise
    except Exception as error:  # noqa: BLE001 - narrowed by _classify; never a 500
        raise _classify(error, config) from error


def finish(args: dict[str, str], leeway: int) -> dict[str, Any]:
    """The verified id_token claims of the callback whose query is `args`."""
    config = _configured()
    client = _client()
    if args.get("error"):
        # Shown only for a sign-in this browser started: a crafted link cannot put its own
        # words on the tool's page.
        if not args.get("state") or not client.framework.get_state_data(session, args["state"]):
            raise ProviderProblem("state", f"error={args['error']!r:.100} for no sign-in "
                                           "started in this browser")
        client.framework.clear_state_data(session, args["state"])
        raise ProviderProblem("refused", f"the provider answered error={args['error']!r:.100} "
                              f"({args.get('error_description', '')!r:.300})",
                              error=args["error"][:100],
                              description=args.get("error_description", "")[:300])
    if not args.get("code") or not args.get("state"):
        raise ProviderProblem("state", "callback without code or state")
    options = {"iss": {"essential": True, "value": config.issuer},
               "aud": {"essential": True, "value": config.client_id}}
    try:
        _metadata(client, config)
        token = client.authorize_access_token(claims_options=options, leeway=leeway)
    except ProviderProblem:
        raise
    except Exception as error:  # noqa: BLE001 - narrowed by _classify; never a 500
        raise _classify(error, config) from error
    claims = token.get("userinfo") if isinstance(token, dict) else None
    if not isinstance(claims, dict):
        raise ProviderProblem("token", "the token endpoint sent no id_token", what="missing")
    return dict(claims)


def _configured() -> OidcSettings:
    """The settings; callers check first that university sign-in is set up."""
    config = settings()
    if config is None:
        raise ProviderProblem("misconfigured", "university sign-in is not configured")
    return config


def _classify(error: Exception, config: OidcSettings) -> ProviderProblem:
    """The ProviderProblem an Authlib, joserfc or requests error stands for."""
    name = type(error).__name__
    if isinstance(error, MismatchingStateError):
        return ProviderProblem("state", "no sign-in with this state was started in this "
                                        "browser (expired, used, or another browser)")
    if isinstance(error, ExpiredTokenError):
        return ProviderProblem("token", f"id_token expired ({error})", what="expired")
    if isinstance(error, JoseError):
        if isinstance(error, ClaimError):
            what = error.claim
        else:
            what = "signature" if "Signature" in name or "KeyId" in name else "format"
        return ProviderProblem("token", f"id_token refused: {name}: {error}", what=what)
    if isinstance(error, OAuthError):
        # The token endpoint refused the code (already used, expired, wrong client secret).
        return ProviderProblem("refused", f"token endpoint answered {error.error}: "
                               f"{error.description!r:.300}", error=str(error.error)[:100],
                               description=str(error.description or "")[:300])
    if isinstance(error, requests.RequestException):
        return ProviderProblem("unavailable", f"{config.issuer}: {name}: {error}"[:500])
    if isinstance(error, (AuthlibBaseError, ValueError, KeyError, TypeError, RuntimeError)):
        # A discovery document, key set or token answer without what OIDC requires (or an
        # http:// endpoint, which Authlib refuses away from loopback).
        log.warning("unusable answer from the OpenID provider", exc_info=error)
        return ProviderProblem("misconfigured", f"unusable answer from {config.issuer}: "
                                                f"{name}: {error}"[:500])
    raise error
