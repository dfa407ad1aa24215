"""Download a platform's JWKS within a total deadline and a size cap.

`requests` timeouts are per socket read, so a key set that sends a byte every two seconds
never times out; here every read gets only the time left, and the body stops at MAX_BYTES.
"""

from __future__ import annotations

import json
import time

import requests
import urllib3

# A JWKS of ten RSA-4096 keys is about 8 KiB; anything near this is not a key set.
MAX_BYTES = 64 * 1024
CHUNK = 8192
# On a launch signed with an unknown kid, a platform's key set is fetched again at most this
# often: a stranger's tokens with made-up kids cannot make the tool hammer the platform.
REFETCH_INTERVAL = 60


class KeysetUnavailable(Exception):
    """The key set could not be read in time, was too large, or is not a JWKS."""


class KeysetTooSlow(KeysetUnavailable):
    """The total deadline passed while the key set was still arriving."""


def read_jwks(http: requests.Session, url: str, deadline: float,
              max_bytes: int = MAX_BYTES) -> dict:
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
