"""A course's class list from the platform's Names and Role Provisioning Service, cached in a table.

The platform lists everyone enrolled, so the lecturer also sees students who never opened the
tool. Pages are followed through `Link: <...>; rel="next"` headers; role names may be full
URIs or the short names Moodle sends ("Learner"). Functions flush; the caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast
from urllib.parse import urljoin, urlsplit

import requests
from requests.utils import parse_header_links
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..keys import Keyring
from ..lti.constants import full_role_uri
from ..lti.services import clean_text
from ..lti.tokens import (
    TokenCache,
    TokenError,
    TokenRegistration,
    access_token,
    forget_token,
)
from ..models import Context, RosterMember
from ..models.base import utcnow

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MAX_AGE = timedelta(hours=1)
MAX_PAGES = 200  # a platform that pages forever must not hold the lecturer's page forever
STATUSES = ("Active", "Inactive", "Deleted")

MOODLE_ADVICE = ("In Moodle, the site administrator opens Site administration → Plugins → "
                 "Activity modules → External tool → Manage tools, edits this tool and sets "
                 "“IMS LTI Names and Role Provisioning” to “Use this service to retrieve "
                 "members' information”. In other VLEs, allow the tool to read course "
                 "memberships (Names and Role Provisioning Service).")
PROBLEMS = {
    "not_offered": "Your learning environment did not offer the class list to the tool, so "
                   "only students who have opened the tool are shown. " + MOODLE_ADVICE,
    "not_enabled": "Your learning environment refused to give the tool the class list, so "
                   "only students who have opened the tool are shown. " + MOODLE_ADVICE,
    "unreachable": "The class list could not be fetched from your learning environment just "
                   "now (it did not answer properly). The list below may be out of date; try "
                   "“Refresh the class list” again in a few minutes.",
}


class RosterUnavailable(Exception):
    """The class list could not be had; `kind` picks the words shown to the lecturer."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason

    @property
    def message(self) -> str:
        """What the lecturer is told, with what to change."""
        return PROBLEMS[self.kind]


@dataclass(frozen=True)
class Member:
    """One person in the platform's membership list."""

    sub: str
    name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    roles: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class Roster:
    """The cached class list of a course, when it was fetched, and why it may be incomplete."""

    members: list[RosterMember]
    fetched_at: datetime | None
    problem: RosterUnavailable | None = None


class ServiceAuth(Protocol):
    """Where NRPS calls get bearer tokens; both methods may raise TokenError."""

    def token(self) -> str:
        """A token for the membership scope."""

    def forget(self, token: str) -> None:
        """Drop a token the platform refused, so the next call asks for a fresh one."""


class ProcessTokenAuth:
    """Tokens for the NRPS scope from this process's TokenCache (when no shared cache exists)."""

    def __init__(self, registration: TokenRegistration, keyring: Keyring, cache: TokenCache,
                 *, http: Any = None, timeout: float = 10) -> None:
        self.registration, self.keyring, self.cache = registration, keyring, cache
        self.http, self.timeout = http, timeout

    def token(self) -> str:
        """A token for the membership scope."""
        return access_token(self.registration, {SCOPE}, self.keyring, self.cache,
                            http=self.http, timeout=self.timeout)

    def forget(self, token: str) -> None:
        """Drop the cached token."""
        forget_token(self.registration, {SCOPE}, self.cache)


def fetch_members(url: str, auth: ServiceAuth, *, http: Any = None,
                  timeout: float = 10) -> list[Member]:
    """Every member of the context, following `rel="next"` pages. Raises RosterUnavailable."""
    http = http or requests
    origin = _origin(url)
    members: dict[str, Member] = {}
    seen: set[str] = set()
    next_url: str | None = url
    pages = 0
    while next_url is not None:
        if next_url in seen or pages >= MAX_PAGES:
            log.warning("NRPS paging stopped after %d pages at %s", pages, next_url)
            break
        seen.add(next_url)
        response = _get_page(next_url, auth, http, timeout)
        pages += 1
        for member in _members(response):
            members[member.sub] = member  # a member repeated across pages counts once
        next_url = _next_link(response, next_url)
        if next_url is not None and _origin(next_url) != origin:
            # Our bearer token must never be sent to another site named in a header.
            log.warning("NRPS next page %s leaves %s; not followed", next_url, origin)
            next_url = None
    log.info("NRPS %s: %d members in %d page(s)", url, len(members), pages)
    return list(members.values())


def _get_page(url: str, auth: ServiceAuth, http: Any, timeout: float) -> requests.Response:
    """One page of the membership list, renewing the token once if the platform refused it."""
    for renewed in (False, True):
        try:
            token = auth.token()
        except TokenError as exc:
            raise RosterUnavailable("not_enabled" if exc.refused else "unreachable",
                                    exc.reason) from exc
        try:
            response = http.get(url, timeout=timeout, headers={
                "Authorization": f"Bearer {token}", "Accept": MEDIA_TYPE})
        except requests.RequestException as exc:
            raise RosterUnavailable("unreachable", f"GET {url}: {exc}") from exc
        if response.status_code in (401, 403) and not renewed:
            auth.forget(token)  # a revoked or expired token: one fresh try before giving up
            continue
        if response.status_code in (401, 403):
            raise RosterUnavailable("not_enabled", f"GET {url}: {response.status_code}")
        if response.status_code != 200:
            raise RosterUnavailable("unreachable", f"GET {url}: {response.status_code}")
        return cast(requests.Response, response)
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises


def _members(response: requests.Response) -> list[Member]:
    """The members on one page; entries without a user id are skipped."""
    try:
        body = response.json()
    except ValueError as exc:
        raise RosterUnavailable("unreachable", f"{response.url}: not JSON") from exc
    raw = body.get("members") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        raise RosterUnavailable("unreachable", f"{response.url}: no members list")
    out = []
    for entry in raw:
        sub = clean_text(entry.get("user_id"), 255) if isinstance(entry, dict) else None
        if not sub:
            log.info("NRPS member without user_id skipped at %s", response.url)
            continue
        roles = entry.get("roles") if isinstance(entry.get("roles"), list) else []
        status = entry.get("status") if entry.get("status") in STATUSES else "Active"
        out.append(Member(
            sub=sub, name=clean_text(_str(entry.get("name")), 255),
            given_name=clean_text(_str(entry.get("given_name")), 255),
            family_name=clean_text(_str(entry.get("family_name")), 255),
            email=clean_text(_str(entry.get("email")), 320),
            roles=tuple(full_role_uri(r) for r in roles if isinstance(r, str)),
            status=status))
    return out


def _next_link(response: requests.Response, current: str) -> str | None:
    """The absolute URL of the `rel="next"` link, if the platform sent one."""
    header = response.headers.get("Link")
    if not header:
        return None
    for link in parse_header_links(header):
        if "next" in str(link.get("rel", "")).lower().split() and link.get("url"):
            return urljoin(current, link["url"])
    return None


def _origin(url: str) -> tuple[str, str]:
    """Scheme and host:port of a URL."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _str(value: object) -> str | None:
    """A string claim, or None for anything else."""
    return value if isinstance(value, str) else None


# -- the cache ------------------------------------------------------------------------------

def cached_members(session: Session, context: Context) -> list[RosterMember]:
    """The stored class list of a course."""
    return list(session.scalars(select(RosterMember).where(
        RosterMember.context_id == context.id).order_by(RosterMember.id)))


def store_members(session: Session, context: Context, members: list[Member]) -> None:
    """Replace the stored class list of a course with a fresh one (flushed)."""
    now = utcnow()
    existing = {row.user_sub: row for row in cached_members(session, context)}
    fresh = {m.sub for m in members}
    gone = [row.id for sub, row in existing.items() if sub not in fresh]
    if gone:
        session.execute(delete(RosterMember).where(RosterMember.id.in_(gone)))
    for member in members:
        row = existing.get(member.sub)
        if row is None:
            row = RosterMember(context_id=context.id, user_sub=member.sub)
            session.add(row)
        row.name, row.given_name, row.family_name = (member.name, member.given_name,
                                                     member.family_name)
        row.email, row.roles, row.status = member.email, list(member.roles), member.status
        row.fetched_at = now
    session.flush()


def load_roster(session: Session, context: Context, fetch: Callable[[Context], list[Member]],
                *, refresh: bool = False, max_age: timedelta = MAX_AGE,
                now: datetime | None = None) -> Roster:
    """The class list: from the cache, or fetched when asked or older than `max_age`.

    A failed fetch keeps whatever was cached and says why; it never raises. Call it before
    the request writes anything else: a clash with a concurrent refresh rolls the session back.
    """
    rows = cached_members(session, context)
    fetched_at = min((r.fetched_at for r in rows), default=None)
    stale = fetched_at is None or (now or utcnow()) - fetched_at > max_age
    if not (refresh or stale):
        return Roster(rows, fetched_at)
    try:
        members = fetch(context)
    except RosterUnavailable as problem:
        log.warning("class list of context %s unavailable: %s", context.id, problem)
        return Roster(rows, fetched_at, problem)
    try:
        store_members(session, context, members)
    except IntegrityError:
        # Another lecturer's refresh stored the same list at the same moment: use theirs.
        session.rollback()
        log.info("class list of context %s refreshed concurrently", context.id)
    rows = cached_members(session, context)
    return Roster(rows, min((r.fetched_at for r in rows), default=None))


def nrps_fetcher(auth: ServiceAuth, *, http: Any = None,
                 timeout: float = 10) -> Callable[[Context], list[Member]]:
    """A `fetch` for load_roster that calls the context's NRPS endpoint with `auth`'s tokens."""

    def fetch(context: Context) -> list[Member]:
        if not context.nrps_url:
            raise RosterUnavailable("not_offered", f"context {context.id} has no NRPS URL")
        return fetch_members(context.nrps_url, auth, http=http, timeout=timeout)

    return fetch
