"""OAuth2 access tokens for LTI Advantage services (client_credentials with a signed JWT).

The tool proves who it is with a short JWT signed by its own key (``private_key_jwt``) and
gets a bearer token for the scopes it asks for. Tokens are cached per token endpoint, client
id and scope set until shortly before they expire, so a page that calls a service many times
asks the platform once. Shared by the roster (NRPS) and anything else that calls a platform.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from ..keys import Keyring, KeyringError

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300
# Refresh this many seconds before the platform's expiry, so a token never dies mid-call.
EXPIRY_MARGIN = 60
DEFAULT_LIFETIME = 3600
# A cached token's key: token endpoint, client id and scope set.
TokenKey = tuple[str, str, frozenset[str]]


class TokenRegistration(Protocol):
    """What the token service needs of a registration (the Registration row has these)."""

    client_id: str
    auth_token_url: str
    auth_audience: str | None


class TokenError(Exception):
    """No token: `refused` when the platform said no (a setting to change), else unavailable."""

    def __init__(self, reason: str, *, refused: bool, status: int | None = None,
                 error: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused
        self.status = status
        self.error = error


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when (time.time()) it stops being usable."""

    value: str
    expires_at: float
    scopes: frozenset[str]


class TokenCache:
    """Tokens of this process, keyed by token endpoint, client id and scope set."""

    def __init__(self, margin: int = EXPIRY_MARGIN) -> None:
        self.margin = margin
        self._tokens: dict[TokenKey, AccessToken] = {}
        self._locks: dict[TokenKey, threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(registration: TokenRegistration, scopes: frozenset[str]) -> TokenKey:
        """The cache key of a registration and scope set."""
        return (registration.auth_token_url, registration.client_id, scopes)

    def lock(self, key: TokenKey) -> threading.Lock:
        """One lock per key, so concurrent callers wait for one token request, not make many."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: TokenKey, now: float | None = None) -> AccessToken | None:
        """A cached token still good for at least `margin` seconds, or None."""
        token = self._tokens.get(key)
        if token is not None and token.expires_at - self.margin > (now or time.time()):
            return token
        return None

    def put(self, key: TokenKey, token: AccessToken) -> None:
        """Remember a token."""
        self._tokens[key] = token

    def drop(self, key: TokenKey) -> None:
        """Forget a token the platform no longer accepts."""
        self._tokens.pop(key, None)


def client_assertion(registration: TokenRegistration, keyring: Keyring,
                     now: float | None = None) -> str:
    """The JWT that authenticates the tool at the token endpoint, signed with the tool's key."""
    issued = int(now or time.time())
    return keyring.sign({
        "iss": registration.client_id, "sub": registration.client_id,
        # Brightspace wants its own audience; everyone else the token endpoint itself.
        "aud": registration.auth_audience or registration.auth_token_url,
        "iat": issued, "exp": issued + ASSERTION_LIFETIME, "jti": secrets.token_hex(16)})


def request_token(registration: TokenRegistration, scopes: frozenset[str], keyring: Keyring, *,
                  http: requests.Session | None = None,
                  timeout: float | tuple[float, float] = 10) -> AccessToken:
    """Ask the platform for a token (no cache). Raises TokenError."""
    try:
        assertion = client_assertion(registration, keyring)
    except KeyringError as exc:
        raise TokenError(f"the tool cannot sign: {exc}", refused=False) from exc
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion, "scope": " ".join(sorted(scopes))}
    url = registration.auth_token_url
    try:
        response = (http or requests).post(url, data=form, timeout=timeout,
                                           headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise TokenError(f"token request to {url} failed: {exc}", refused=False) from exc
    body = _json(response.text)  # Moodle answers JSON labelled text/html
    if response.status_code != 200:
        error = body.get("error") if isinstance(body, dict) else None
        error = error[:100] if isinstance(error, str) else None
        # 400/401/403 are settings to change (scope not allowed, client unknown); 429 and
        # 5xx may pass.
        refused = response.status_code in (400, 401, 403)
        raise TokenError(f"token endpoint {url} answered {response.status_code}"
                         f"{f' ({error})' if error else ''}", refused=refused,
                         status=response.status_code, error=error)
    value = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise TokenError(f"token endpoint {url} sent no access_token", refused=False,
                         status=response.status_code)
    lifetime = body.get("expires_in", DEFAULT_LIFETIME)
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)
    if not isinstance(lifetime, (int, float)) or isinstance(lifetime, bool) or lifetime <= 0:
        lifetime = DEFAULT_LIFETIME
    granted = body.get("scope")
    granted_scopes = frozenset(granted.split()) if isinstance(granted, str) else scopes
    return AccessToken(value, time.time() + float(lifetime), granted_scopes)


def access_token(registration: TokenRegistration, scopes: set[str] | frozenset[str],
                 keyring: Keyring, cache: TokenCache, *, http: requests.Session | None = None,
                 timeout: float = 10) -> str:
    """A bearer token for `scopes`: from the cache, or one request to the platform."""
    scopes = frozenset(scopes)
    key = cache.key(registration, scopes)
    token = cache.get(key)
    if token is not None:
        return token.value
    with cache.lock(key):
        token = cache.get(key)  # another thread may have fetched it while we waited
        if token is None:
            token = request_token(registration, scopes, keyring, http=http, timeout=timeout)
            cache.put(key, token)
            log.info("access token for %s (%s) valid %.0fs", registration.client_id,
                     " ".join(sorted(scopes)), token.expires_at - time.time())
    return token.value


def forget_token(registration: TokenRegistration, scopes: set[str] | frozenset[str],
                 cache: TokenCache) -> None:
    """Drop a cached token the platform refused (it may have been revoked early)."""
    cache.drop(cache.key(registration, frozenset(scopes)))


def app_token_cache(extensions: dict[str, Any]) -> TokenCache:
    """The token cache kept in a Flask app's `extensions` (one per app and process)."""
    cache: TokenCache = extensions.setdefault("lti_tool.token_cache", TokenCache())
    return cache


def _json(text: str) -> Any:
    """Parse a body as JSON whatever its content type says; None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None
