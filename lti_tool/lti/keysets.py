"""Download a platform's JWKS within a total deadline and a size cap.

`requests` timeouts are per socket read, so a key set that sends a byte every two seconds
never times out; here every read gets only the time left, and the body stops at MAX_BYTES.
"""

from __future__ import annotations

import json
import threading
import time
import typing as t
from datetime import datetime

import jwt
import requests
import urllib3
from sqlalchemy.orm import Session

from ..models import PlatformKeySet
from ..models.base import utcnow
from ..sqltools import get_or_insert

# A JWKS of ten RSA-4096 keys is about 8 KiB; anything near this is not a key set.
MAX_BYTES = 64 * 1024
CHUNK = 8192
# On a launch signed with an unknown kid, a platform's key set is fetched again at most this
# often: a stranger's tokens with made-up kids cannot make the tool hammer the platform.
REFETCH_INTERVAL = 60


class UnknownKid(Exception):
    """The key set has no usable key with the token's kid."""


class KeysetUnavailable(Exception):
    """The key set could not be read in time, was too large, or is not a JWKS."""


class KeysetTooSlow(KeysetUnavailable):
    """The total deadline passed while the key set was still arriving."""


def read_jwks(http: requests.Session, url: str, deadline: float,
              max_bytes: int = MAX_BYTES) -> dict[str, t.Any]:
    """GET a JWKS: at most `deadline` seconds in all and `max_bytes` of body."""
    end = time.monotonic() + deadline

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise KeysetTooSlow(f"{url} took more than {deadline:g}s")
        return remaining

    try:
        with http.get(url, timeout=(left(), left()), stream=True,
                      headers={"Accept": "application/json",
                               "Accept-Encoding": "identity"}) as response:
            response.raise_for_status()
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise KeysetUnavailable(f"{url} sends {declared} bytes (limit {max_bytes})")
            body = bytearray()
            raw = response.raw
            while True:
                sock = getattr(raw.connection, "sock", None) if raw.connection else None
                if sock is not None:
                    sock.settimeout(left())  # each read waits only for the time left
                chunk = raw.read1(CHUNK)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise KeysetUnavailable(f"{url} sent over {max_bytes} bytes")
                left()
    except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
        raise KeysetTooSlow(f"{url} took more than {deadline:g}s") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if time.monotonic() >= end:
            raise KeysetTooSlow(f"{url} took more than {deadline:g}s") from exc
        raise KeysetUnavailable(f"fetching {url}: {exc}") from exc
    try:
        jwks = json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:
        raise KeysetUnavailable(f"{url} did not return JSON") from exc
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise KeysetUnavailable(f"{url} did not return a JWKS")
    return jwks


class ParsedKeys:
    """Keys parsed from key sets, kept by one app in one process: {url: (fetched_at, keys)}.

    A launch whose kid is here needs no SQL and no RSA key parsing; any other kid goes to the
    shared database row, which another process may have refreshed already.
    """

    def __init__(self) -> None:
        self._sets: dict[str, tuple[datetime, dict[str, t.Any]]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, kid: str, ttl: int, now: datetime) -> t.Any:
        """The key, if this process parsed it from a key set younger than `ttl` seconds."""
        known = self._sets.get(url)
        if known is None or (now - known[0]).total_seconds() >= ttl:
            return None
        return known[1].get(kid)

    def remember(self, url: str, fetched_at: datetime,
                 jwks: dict[str, t.Any]) -> dict[str, t.Any]:
        """Parse a key set's RS256 keys once and keep them."""
        with self._lock:
            known = self._sets.get(url)
            if known is not None and known[0] == fetched_at:
                return known[1]
            keys = _usable_keys(jwks)
            self._sets[url] = (fetched_at, keys)
            return keys


def platform_key(db: Session, http: requests.Session, url: str, kid: str, *, ttl: int,
                 deadline: float, parsed: ParsedKeys) -> t.Any:
    """The platform's public key for `kid`, refetching the JWKS when it is unknown, but at
    most once a minute per key set (made-up kids must not make us hammer the platform)."""
    now = utcnow()
    key = parsed.get(url, kid, ttl, now)
    if key is not None:
        return key
    cached = db.get(PlatformKeySet, url)
    age = (now - cached.fetched_at).total_seconds() if cached is not None else None
    if cached is not None and age is not None and age < ttl:
        keys = parsed.remember(url, cached.fetched_at, _stored_jwks(cached.jwks))
        if kid in keys:
            return keys[kid]
        if age < REFETCH_INTERVAL:
            raise UnknownKid(f"kid {str(kid)[:100]!r} not in the key set at {url} fetched "
                             f"{age:.0f}s ago (refetched at most every {REFETCH_INTERVAL}s)")
    jwks = read_jwks(http, url, deadline)
    if cached is None:  # many first launches at once all fetch; one row results
        cached = get_or_insert(db, PlatformKeySet, {"jwks": "", "fetched_at": now}, url=url)
    cached.jwks, cached.fetched_at = json.dumps(jwks), now
    keys = parsed.remember(url, now, jwks)
    if kid not in keys:
        raise UnknownKid(f"kid {str(kid)[:100]!r} not in the key set at {url}")
    return keys[kid]


def _stored_jwks(text: str) -> dict[str, t.Any]:
    """A stored key set; an unreadable one counts as empty (it is fetched again)."""
    try:
        jwks = json.loads(text)
    except ValueError:
        return {}
    return jwks if isinstance(jwks, dict) else {}


def _usable_keys(jwks: dict[str, t.Any]) -> dict[str, t.Any]:
    """{kid: public key} of the entries that parse as RS256 keys."""
    keys: dict[str, t.Any] = {}
    entries = jwks.get("keys")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        try:
            keys.setdefault(entry["kid"], jwt.PyJWK(entry, algorithm="RS256").key)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
    return keys
