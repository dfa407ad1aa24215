"""Service access tokens cached in the database: one token request per platform per lifetime.

Every worker process and web process shares the `service_token` table. The first process
that needs a token takes a short lease on its row, asks the platform, and stores the answer;
the others wait for it instead of asking too. The request itself (the signed client
assertion, Moodle's JSON labelled text/html) is `lti_tool.lti.tokens.request_token`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol, Union

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..keys import Keyring
from ..lti.tokens import EXPIRY_MARGIN, TokenError, request_token
from ..models.grades import ServiceToken
from .errors import Platform, token_refused, transient

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
# How long one process may take to fetch a token before another may try.
FETCH_LEASE = 30
# How long a process waits for another's token request before retrying later.
WAIT_FOR_OTHERS = 10.0
# requests' timeout: seconds for the whole call, or (connect, read).
Timeout = Union[float, tuple[float, float]]


@dataclass
class RegistrationInfo:
    """What token requests and advice need of a registration, read once per claim."""

    id: int
    client_id: str
    auth_token_url: str
    auth_audience: str | None
    enabled: bool = True

    @property
    def platform(self) -> Platform:
        """The kind of VLE, for wording advice."""
        return Platform.of(self.auth_token_url)


class TokenSource(Protocol):
    """Where AGS calls get bearer tokens."""

    def get(self, registration: RegistrationInfo, scopes: frozenset[str],
            now: datetime) -> str: ...

    def invalidate(self, registration: RegistrationInfo, scopes: frozenset[str],
                   token: str) -> None: ...


def scope_key(scopes: frozenset[str]) -> str:
    """A short, stable key for a set of scopes."""
    return hashlib.sha256(" ".join(sorted(scopes)).encode()).hexdigest()


def _fetch(registration: RegistrationInfo, scopes: frozenset[str], keyring: Keyring,
           http: requests.Session, timeout: Timeout) -> tuple[str, float]:
    """One token request: (token, lifetime in seconds); DeliveryError when there is none."""
    try:
        token = request_token(registration, scopes, keyring, http=http, timeout=timeout)
    except TokenError as exc:
        if exc.refused:
            raise token_refused(exc.status, exc.error, exc.reason,
                                registration.platform) from exc
        raise transient(f"The VLE's token endpoint could not be reached or failed: "
                        f"{exc.reason}", status=exc.status) from exc
    return token.value, max(1.0, token.expires_at - time.time())


class DatabaseTokenCache:
    """Tokens in the `service_token` table, per registration and scope set.

    What this process read or fetched is also kept in memory until its renewal margin, so a
    worker sending thousands of scores reads the table once per token, not once per score.
    """

    def __init__(self, session_factory: SessionFactory, keyring: Keyring,
                 http: requests.Session, timeout: Timeout = 10,
                 wait: float = WAIT_FOR_OTHERS) -> None:
        self.session_factory = session_factory
        self.keyring = keyring
        self.http = http
        self.timeout = timeout
        self.wait = wait
        self._memo: dict[tuple[int, str], tuple[str, datetime]] = {}

    def get(self, registration: RegistrationInfo, scopes: frozenset[str],
            now: datetime) -> str:
        """A token valid for a while yet: cached, fetched by us, or fetched by another process."""
        key = scope_key(scopes)
        memo = self._memo.get((registration.id, key))
        if memo is not None and memo[1] > now:
            return memo[0]
        deadline = time.monotonic() + self.wait
        while True:
            with self.session_factory() as session:
                row = self._row(session, registration.id, key, scopes)
                if row.access_token and row.expires_at is not None and _usable(row, now):
                    self._memo[(registration.id, key)] = (row.access_token,
                                                          row.expires_at - _margin(row))
                    return row.access_token
                # A conditional UPDATE is the lock: of several processes exactly one wins.
                claimed = len(session.scalars(
                    update(ServiceToken).where(
                        ServiceToken.id == row.id,
                        or_(ServiceToken.lease_until.is_(None), ServiceToken.lease_until <= now),
                        or_(ServiceToken.access_token.is_(None),
                            ServiceToken.expires_at <= now + _margin(row)))
                    .values(lease_until=now + timedelta(seconds=FETCH_LEASE))
                    .returning(ServiceToken.id)
                    .execution_options(synchronize_session=False)).all()) == 1
                session.commit()
                row_id = row.id
            if claimed:
                return self._fetch_and_store(registration, scopes, row_id, now)
            if time.monotonic() > deadline:
                raise transient("Another process is fetching the access token from the VLE; "
                                "this grade will be sent on the next try.", retry_after=5)
            time.sleep(0.05)

    def _row(self, session: Session, registration_id: int, key: str,
             scopes: frozenset[str]) -> ServiceToken:
        """The cache row for a registration and scope set, created on first use."""
        query = select(ServiceToken).where(ServiceToken.registration_id == registration_id,
                                           ServiceToken.scope_key == key)
        row = session.scalar(query)
        if row is None:
            session.add(ServiceToken(registration_id=registration_id, scope_key=key,
                                     scopes=" ".join(sorted(scopes))))
            try:
                session.commit()
            except IntegrityError:  # another process created it first: use theirs
                session.rollback()
            row = session.scalar(query)
            assert row is not None
        return row

    def _fetch_and_store(self, registration: RegistrationInfo, scopes: frozenset[str],
                         row_id: int, now: datetime) -> str:
        """Ask the platform and share the answer; release the lease whatever happens."""
        try:
            value, lifetime = _fetch(registration, scopes, self.keyring, self.http,
                                     self.timeout)
        except BaseException:
            with self.session_factory() as session:
                session.execute(update(ServiceToken).where(ServiceToken.id == row_id)
                                .values(lease_until=None)
                                .execution_options(synchronize_session=False))
                session.commit()
            raise
        expires_at = now + timedelta(seconds=lifetime)
        with self.session_factory() as session:
            session.execute(update(ServiceToken).where(ServiceToken.id == row_id).values(
                access_token=value, expires_at=expires_at,
                fetched_at=now, lease_until=None).execution_options(synchronize_session=False))
            session.commit()
        self._memo[(registration.id, scope_key(scopes))] = (
            value, expires_at - timedelta(seconds=min(EXPIRY_MARGIN, lifetime / 10)))
        log.info("access token for registration %s (%s) valid %.0fs", registration.id,
                 " ".join(sorted(scopes)), lifetime)
        return value

    def invalidate(self, registration: RegistrationInfo, scopes: frozenset[str],
                   token: str) -> None:
        """Forget a token the platform refused, unless another process already replaced it."""
        key = (registration.id, scope_key(scopes))
        if key in self._memo and self._memo[key][0] == token:
            del self._memo[key]
        with self.session_factory() as session:
            session.execute(update(ServiceToken).where(
                ServiceToken.registration_id == registration.id,
                ServiceToken.scope_key == scope_key(scopes),
                ServiceToken.access_token == token).values(access_token=None, expires_at=None)
                .execution_options(synchronize_session=False))
            session.commit()


class UncachedTokens:
    """A token request for every call: the baseline the benchmark compares the cache with."""

    def __init__(self, keyring: Keyring, http: requests.Session, timeout: Timeout = 10) -> None:
        self.keyring = keyring
        self.http = http
        self.timeout = timeout

    def get(self, registration: RegistrationInfo, scopes: frozenset[str],
            now: datetime) -> str:
        """A fresh token."""
        return _fetch(registration, scopes, self.keyring, self.http, self.timeout)[0]

    def invalidate(self, registration: RegistrationInfo, scopes: frozenset[str],
                   token: str) -> None:
        """Nothing is kept, so nothing to forget."""


def _margin(row: ServiceToken) -> timedelta:
    """Renew this long before expiry: a minute, or a tenth of a short lifetime."""
    if row.expires_at is not None and row.fetched_at is not None:
        lifetime = (row.expires_at - row.fetched_at).total_seconds()
        return timedelta(seconds=min(EXPIRY_MARGIN, lifetime / 10))
    return timedelta(seconds=EXPIRY_MARGIN)


def _usable(row: ServiceToken, now: datetime) -> bool:
    """Whether the cached token lives on past the renewal margin."""
    return bool(row.access_token) and row.expires_at is not None and \
        row.expires_at - _margin(row) > now
