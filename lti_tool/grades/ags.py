"""Assignment and Grade Services calls: post a score, find or create a line item.

Every answer is sorted into delivered, worth retrying (timeouts, 5xx, 429 with Retry-After)
or refused (400/401/403/404, with what to change in the VLE). A 401 first costs the cached
token and one retry with a new one, since platforms revoke tokens early.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ..lti.constants import (
    CONTAINER_TYPE,
    LINEITEM_TYPE,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READ,
    SCOPE_SCORE,
    SCORE_TYPE,
)
from .errors import DeliveryError, refused, transient
from .tokens import RegistrationInfo, Timeout, TokenSource

log = logging.getLogger(__name__)

MAX_PAGES = 100
RETRYABLE = {408, 425, 429}


class Conflict(DeliveryError):
    """The platform holds a score at least as new as ours (Moodle answers 409)."""


def scopes_for(offered: list[str] | None) -> frozenset[str]:
    """The AGS scopes to ask for: score, plus line item access when the platform offers it.

    One scope set per registration, so one cached token serves scores and line items alike;
    asking for a scope the platform did not offer gets Moodle's `invalid_scope`.
    """
    offered_set = set(offered or [])
    if not offered_set:
        return frozenset({SCOPE_SCORE, SCOPE_LINEITEM})
    wanted = {SCOPE_SCORE}
    if SCOPE_LINEITEM in offered_set:
        wanted.add(SCOPE_LINEITEM)
    elif SCOPE_LINEITEM_READ in offered_set:
        wanted.add(SCOPE_LINEITEM_READ)
    return frozenset(wanted)


def scores_url(lineitem_url: str) -> str:
    """`<lineitem>/scores`, keeping any query (Moodle's line items end in `?type_id=1`)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@dataclass
class AgsClient:
    """Service calls for one registration, with its tokens and advice for its VLE."""

    http: requests.Session
    tokens: TokenSource
    registration: RegistrationInfo
    scopes: frozenset[str]
    now: datetime
    timeout: Timeout = (5, 30)

    def call(self, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
        """One authorised request; a 401 renews the token once. DeliveryError unless 2xx."""
        token = self.tokens.get(self.registration, self.scopes, self.now)
        response = self._send(method, url, token, what, **kwargs)
        if response.status_code == 401:
            log.info("%s %s: 401, renewing the token once", method, url)
            self.tokens.invalidate(self.registration, self.scopes, token)
            token = self.tokens.get(self.registration, self.scopes, self.now)
            response = self._send(method, url, token, what, **kwargs)
        status = response.status_code
        if 200 <= status < 300:
            return response
        body = response.text
        if status >= 500 or status in RETRYABLE:
            raise transient(f"The VLE was busy or unavailable when {what} ({status}); the "
                            "grade will be sent again shortly.", status=status, body=body,
                            retry_after=retry_after(response.headers.get("Retry-After")))
        if status == 409:
            raise Conflict(f"The VLE already holds a score at least as new as this one when "
                           f"{what} (409).", permanent=False, status=status, body=body)
        raise refused(status, body, self.registration.platform, what=what)

    def _send(self, method: str, url: str, token: str, what: str,
              **kwargs: Any) -> requests.Response:
        """The HTTP request; network trouble is worth retrying."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        try:
            return self.http.request(method, url, headers=headers, timeout=self.timeout,
                                     allow_redirects=False, **kwargs)
        except requests.Timeout as exc:
            raise transient(f"The VLE did not answer in time when {what}; the grade will "
                            "be sent again shortly.") from exc
        except requests.RequestException as exc:
            raise transient(f"The VLE could not be reached when {what} "
                            f"({type(exc).__name__}); the grade will be sent again "
                            "shortly.") from exc

    # -- scores ----------------------------------------------------------------------------
    def post_score(self, lineitem_url: str, payload: dict[str, Any]) -> None:
        """POST one score to the line item's scores endpoint."""
        self.call("POST", scores_url(lineitem_url), what="sending the score",
                  data=json.dumps(payload),
                  headers={"Content-Type": SCORE_TYPE, "Accept": "application/json"})

    # -- line items ------------------------------------------------------------------------
    def find_lineitem(self, lineitems_url: str, resource_link_id: str,
                      resource_id: str | None) -> str | None:
        """The line item bound to this link (or, failing that, unbound with our resourceId)."""
        by_resource: str | None = None
        url: str | None = lineitems_url
        seen: set[str] = set()
        while url and url not in seen and len(seen) < MAX_PAGES:
            seen.add(url)
            response = self.call("GET", url, what="looking for the grade column",
                                 headers={"Accept": CONTAINER_TYPE})
            for item in _items(response):
                if str(item.get("resourceLinkId") or "") == resource_link_id:
                    return str(item["id"])
                if by_resource is None and resource_id and not item.get("resourceLinkId") \
                        and item.get("resourceId") == resource_id:
                    by_resource = str(item["id"])
            # Moodle sends everything at once; Brightspace and others page with Link headers.
            url = (response.links.get("next") or {}).get("url")
        return by_resource

    def create_lineitem(self, lineitems_url: str, spec: dict[str, Any]) -> str:
        """POST a new line item and return its URL."""
        response = self.call("POST", lineitems_url, what="creating the grade column",
                             data=json.dumps(spec),
                             headers={"Content-Type": LINEITEM_TYPE, "Accept": LINEITEM_TYPE})
        item = _json(response.text)
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise DeliveryError("The VLE created a grade column but did not say where it is "
                                "(no id in its answer). Check the VLE's gradebook for a new "
                                "column, then resend.", permanent=True,
                                status=response.status_code, body=response.text)
        return str(item["id"])


def _items(response: requests.Response) -> list[dict[str, Any]]:
    """Line items from a container answer (a JSON list), ignoring anything malformed."""
    data = _json(response.text)
    if isinstance(data, dict) and isinstance(data.get("lineItems"), list):
        data = data["lineItems"]
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _json(text: str) -> Any:
    """JSON whatever the content type claims; None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None
