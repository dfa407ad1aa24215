"""Deliver the outbox: claim a score, send it, record the outcome; safe in many processes.

A claim is a lease (token + expiry) taken by a conditional UPDATE, after a
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL. No database lock is held while the VLE
is called, so a worker that dies mid-delivery only leaves a lease that runs out; then
another worker sends the score (at least once: if it died after the VLE answered, the VLE
gets the same score twice, which changes nothing there).

Order: a score is claimed only when no row for the same student and link is in flight and
no newer one is pending or delivered, so an older score never reaches the VLE after a
newer one.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import requests
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..keys import Keyring, KeyringError
from ..models import LtiUser, Registration, ResourceLink
from ..models.base import utcnow
from ..models.grades import DeliveryStatus, GradeDelivery, LineItemLink
from .ags import SCOPE_LINEITEM, SCOPE_LINEITEM_READ, AgsClient, Conflict, scopes_for
from .errors import (
    DeliveryError,
    cannot_create_column,
    no_grade_service,
    registration_disabled,
    transient,
)
from .tokens import DatabaseTokenCache, RegistrationInfo, TokenSource

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
# Short, and renewed just before the score is posted (see _renew): a worker that dies holding a
# row delays that student's newer score by this long at most.
LEASE_SECONDS = 90
BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
RETRY_AFTER_CAP = 6 * 3600.0
INLINE_TIMEOUT = (2, 4)


@dataclass
class Report:
    """What one pass of delivery did, by row id."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        """Rows this pass claimed."""
        return len(self.delivered) + len(self.retrying) + len(self.failed) + \
            len(self.superseded)

    def __str__(self) -> str:
        return (f"{len(self.delivered)} delivered, {len(self.retrying)} to retry, "
                f"{len(self.failed)} failed, {len(self.superseded)} superseded")


@dataclass(frozen=True)
class _Job:
    """Everything needed to send one claimed row, read before any network call."""

    id: int
    lease: str
    user_sub: str
    link_id: int
    resource_link_id: str
    lineitem_url: str | None
    link_lineitem_url: str | None
    link_lineitems_url: str | None
    link_scopes: tuple[str, ...]
    spec: dict
    payload: dict
    last_error_status: int | None
    registration: RegistrationInfo


def deliver_pending(session_factory: SessionFactory, http: requests.Session,
                    now: datetime | None = None, limit: int = 100, *, keyring: Keyring,
                    tokens: TokenSource | None = None, user_id: int | None = None,
                    timeout=(5, 30), lease_seconds: int = LEASE_SECONDS,
                    stop: Callable[[], bool] | None = None) -> Report:
    """Send up to `limit` due scores (only `user_id`'s when given); never raises for a VLE.

    `stop` is asked before each score, so a worker told to shut down finishes the one in hand.
    """
    fixed = now  # tests travel in time; otherwise each claim is leased from the real clock
    tokens = tokens or DatabaseTokenCache(session_factory, keyring, http, timeout=timeout)
    report = Report()
    for _ in range(limit):
        if stop is not None and stop():
            break
        now = fixed or utcnow()
        claim = claim_next(session_factory, now, lease_seconds, user_id=user_id)
        if claim is None:
            break
        outcome = deliver_claimed(session_factory, http, claim, now, tokens=tokens,
                                  timeout=timeout)
        getattr(report, outcome).append(claim[0])
    return report


def deliver_for_user(session_factory: SessionFactory, http: requests.Session, user_id: int, *,
                     keyring: Keyring, now: datetime | None = None,
                     timeout=INLINE_TIMEOUT) -> Report | None:
    """Right after a request: try that user's due scores quickly; failures stay queued."""
    try:
        return deliver_pending(session_factory, http, now, limit=5, keyring=keyring,
                               user_id=user_id, timeout=timeout)
    except Exception:  # the student's page must never fail because of the VLE or the outbox
        log.exception("immediate grade delivery for user %s failed; the worker will retry",
                      user_id)
        return None


# -- claiming ------------------------------------------------------------------------------
def _same_key(other, row):
    """The other row is for the same student and link."""
    return and_(other.user_id == row.user_id, other.resource_link_id == row.resource_link_id,
                other.id != row.id)


def _in_flight(row, now: datetime):
    """Another row of the same student and link is leased right now."""
    other = aliased(GradeDelivery)
    return exists().where(_same_key(other, row), other.lease_until > now)


def _newer(row):
    """A newer row of the same student and link is pending or already delivered."""
    other = aliased(GradeDelivery)
    return exists().where(
        _same_key(other, row),
        other.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DELIVERED)),
        or_(other.score_timestamp > row.score_timestamp,
            and_(other.score_timestamp == row.score_timestamp, other.id > row.id)))


def _free(now: datetime):
    """Nobody holds a live lease on the row."""
    return or_(GradeDelivery.lease_until.is_(None), GradeDelivery.lease_until <= now)


def claim_next(session_factory: SessionFactory, now: datetime,
               lease_seconds: int = LEASE_SECONDS,
               user_id: int | None = None) -> tuple[int, str] | None:
    """Lease the next due row: (id, lease token), or None when nothing is due."""
    with session_factory() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        query = select(GradeDelivery.id).where(
            GradeDelivery.status == DeliveryStatus.PENDING,
            GradeDelivery.next_attempt_at <= now, _free(now),
            ~_in_flight(GradeDelivery, now)).order_by(
            GradeDelivery.next_attempt_at, GradeDelivery.score_timestamp, GradeDelivery.id)
        if user_id is not None:
            query = query.where(GradeDelivery.user_id == user_id)
        if postgres:
            # Rows another worker is claiming are skipped, not waited for.
            query = query.limit(1).with_for_update(skip_locked=True, of=GradeDelivery)
        else:
            query = query.limit(5)  # SQLite: another worker may win a row; try the next
        for row_id in session.scalars(query).all():
            # An older score with a newer one waiting is never sent: it is superseded.
            session.execute(update(GradeDelivery).where(
                GradeDelivery.id == row_id, GradeDelivery.status == DeliveryStatus.PENDING,
                _newer(GradeDelivery)).values(status=DeliveryStatus.SUPERSEDED, updated_at=now)
                .execution_options(synchronize_session=False))
            lease = secrets.token_hex(16)
            # The conditions again, atomically: of several workers exactly one gets the row.
            won = session.execute(update(GradeDelivery).where(
                GradeDelivery.id == row_id, GradeDelivery.status == DeliveryStatus.PENDING,
                _free(now), ~_in_flight(GradeDelivery, now), ~_newer(GradeDelivery)).values(
                lease_token=lease, lease_until=now + timedelta(seconds=lease_seconds),
                updated_at=now).execution_options(synchronize_session=False)).rowcount == 1
            if won:
                session.commit()
                return row_id, lease
        session.commit()
    return None


# -- sending -------------------------------------------------------------------------------
def deliver_claimed(session_factory: SessionFactory, http: requests.Session,
                    claim: tuple[int, str], now: datetime, *, tokens: TokenSource,
                    timeout=(5, 30)) -> str:
    """Send one claimed row and record the outcome: 'delivered', 'retrying', 'failed' or
    'superseded'."""
    row_id, lease = claim
    job = _load(session_factory, row_id, lease)
    if job is None:
        return "superseded"  # the lease was lost or the row replaced before we began
    try:
        if not job.registration.enabled:
            raise registration_disabled()
        client = AgsClient(http, tokens, job.registration, scopes_for(list(job.link_scopes)),
                           now, timeout)
        lineitem = job.lineitem_url or _resolve_lineitem(session_factory, client, job, now)
        if _superseded(session_factory, job, lineitem):
            return _release(session_factory, job, now)
        if not _renew(session_factory, job, now):
            return "superseded"  # the lease ran out meanwhile: another worker may have it
        client.post_score(lineitem, job.payload)
    except Conflict as exc:
        return _conflict(session_factory, job, exc, now)
    except DeliveryError as exc:
        return _failed(session_factory, job, exc, now)
    except KeyringError as exc:
        return _failed(session_factory, job, transient(
            f"The tool cannot sign its token request ({exc}). The tool's administrator "
            "must fix its keys (`lti-tool keys list`); nothing needs changing in the VLE."), now)
    except Exception as exc:  # a bug must not lose the score: keep it queued and say so
        log.exception("grade delivery %s: unexpected error", row_id)
        return _failed(session_factory, job, transient(
            f"Unexpected error in the tool ({type(exc).__name__}); it will try again."), now)
    return _delivered(session_factory, job, now, lineitem)


def _load(session_factory: SessionFactory, row_id: int, lease: str) -> _Job | None:
    """Read the claimed row with its student, link and registration."""
    with session_factory() as session:
        row = session.get(GradeDelivery, row_id)
        if row is None or row.lease_token != lease:
            return None
        user = session.get(LtiUser, row.user_id)
        link = session.get(ResourceLink, row.resource_link_id)
        registration = session.get(Registration, user.registration_id)
        return _Job(
            id=row.id, lease=lease, user_sub=user.sub, link_id=link.id,
            resource_link_id=link.resource_link_id, lineitem_url=row.lineitem_url,
            link_lineitem_url=link.ags_lineitem_url, link_lineitems_url=link.ags_lineitems_url,
            link_scopes=tuple(link.ags_scopes or ()),
            spec=dict(row.lineitem_spec or {}), payload=row.payload(user.sub),
            last_error_status=row.last_error_status,
            registration=RegistrationInfo(
                id=registration.id, client_id=registration.client_id,
                auth_token_url=registration.auth_token_url,
                auth_audience=registration.auth_audience, enabled=registration.enabled))


def _superseded(session_factory: SessionFactory, job: _Job, lineitem: str) -> bool:
    """A last look before sending (a newer score may have arrived); remembers the line item."""
    with session_factory() as session:
        if lineitem != job.lineitem_url:
            session.execute(update(GradeDelivery).where(GradeDelivery.id == job.id)
                            .values(lineitem_url=lineitem)
                            .execution_options(synchronize_session=False))
            session.commit()
        status = session.scalar(select(GradeDelivery.status).where(GradeDelivery.id == job.id))
    return status == DeliveryStatus.SUPERSEDED


def _resolve_lineitem(session_factory: SessionFactory, client: AgsClient, job: _Job,
                      now: datetime) -> str:
    """The launch's line item; else the one found or created for the link (once, shared)."""
    if job.link_lineitem_url:
        return job.link_lineitem_url
    if not job.link_lineitems_url:
        raise no_grade_service(job.registration.platform)
    with session_factory() as session:
        known = session.get(LineItemLink, job.link_id)
        if known is not None and known.url:
            return known.url
        if known is None:
            session.add(LineItemLink(resource_link_id=job.link_id, updated_at=now))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
        # One worker looks for (or creates) the column; two would create two columns.
        claimed = session.execute(update(LineItemLink).where(
            LineItemLink.resource_link_id == job.link_id, LineItemLink.url.is_(None),
            or_(LineItemLink.lease_until.is_(None), LineItemLink.lease_until <= now)).values(
            lease_until=now + timedelta(seconds=60), updated_at=now)
            .execution_options(synchronize_session=False)).rowcount == 1
        session.commit()
        if not claimed:
            url = session.scalar(select(LineItemLink.url).where(
                LineItemLink.resource_link_id == job.link_id))
            if url:
                return url
            raise transient("Another worker is finding the grade column for this activity; "
                            "the grade follows in a moment.", retry_after=5)
    url = None
    try:
        if not client.scopes & {SCOPE_LINEITEM, SCOPE_LINEITEM_READ}:
            raise cannot_create_column(job.registration.platform)
        url = client.find_lineitem(job.link_lineitems_url, job.resource_link_id,
                                   job.spec.get("resourceId"))
        if url is None:
            if SCOPE_LINEITEM not in client.scopes:
                raise cannot_create_column(job.registration.platform)
            url = client.create_lineitem(job.link_lineitems_url, job.spec)
            log.info("created line item %s for link %s", url, job.link_id)
    finally:
        with session_factory() as session:
            session.execute(update(LineItemLink).where(
                LineItemLink.resource_link_id == job.link_id).values(
                url=url, lease_until=None, updated_at=now)
                .execution_options(synchronize_session=False))
            session.commit()
    return url


# -- outcomes ------------------------------------------------------------------------------
def _renew(session_factory: SessionFactory, job: _Job, now: datetime) -> bool:
    """Extend the lease before the score goes out; False when it was lost meanwhile.

    The lease is short, so a worker that dies frees its row (and that student's newer score)
    within a minute and a half; a live worker renews it while its delivery is in flight.
    """
    until = max(now, utcnow()) + timedelta(seconds=LEASE_SECONDS)
    with session_factory() as session:
        kept = session.execute(update(GradeDelivery).where(
            _mine(job), GradeDelivery.lease_until > max(now, utcnow()))
            .values(lease_until=until).execution_options(synchronize_session=False)).rowcount
        session.commit()
    if not kept:
        log.warning("grade delivery %s: lease lost before sending; left for the next pass",
                    job.id)
    return bool(kept)


def _mine(job: _Job):
    """The row is still leased by this worker."""
    return and_(GradeDelivery.id == job.id, GradeDelivery.lease_token == job.lease)


def _delivered(session_factory: SessionFactory, job: _Job, now: datetime, lineitem: str) -> str:
    """The VLE has it: delivered for good (even if a newer score arrived meanwhile)."""
    with session_factory() as session:
        done = session.execute(update(GradeDelivery).where(_mine(job)).values(
            status=DeliveryStatus.DELIVERED, delivered_at=now,
            attempts=GradeDelivery.attempts + 1, lease_token=None, lease_until=None,
            last_error_status=None, last_error_body=None, last_error_explanation=None,
            updated_at=now).execution_options(synchronize_session=False)).rowcount
        session.commit()
    if not done:
        log.warning("grade delivery %s was sent but its lease had run out; another worker "
                    "may send it again", job.id)
    log.info("delivered grade %s to line item %s", job.id, lineitem)  # the one it was posted to
    return "delivered"


def _failed(session_factory: SessionFactory, job: _Job, error: DeliveryError,
            now: datetime) -> str:
    """Retry later with backoff, or stop and explain when the VLE refused for good."""
    with session_factory() as session:
        row = session.get(GradeDelivery, job.id)
        attempts = (row.attempts if row is not None else 0) + 1
        values = dict(attempts=attempts, lease_token=None, lease_until=None,
                      last_error_status=error.status, last_error_body=error.body,
                      last_error_explanation=error.explanation, updated_at=now)
        if error.permanent:
            session.execute(update(GradeDelivery).where(
                _mine(job), GradeDelivery.status == DeliveryStatus.PENDING)
                .values(status=DeliveryStatus.FAILED_PERMANENT)
                .execution_options(synchronize_session=False))
        else:
            values["next_attempt_at"] = now + timedelta(seconds=backoff(attempts,
                                                                        error.retry_after))
        session.execute(update(GradeDelivery).where(_mine(job)).values(**values)
                        .execution_options(synchronize_session=False))
        session.commit()
    log.warning("grade delivery %s %s (attempt %s): %s", job.id,
                "refused for good" if error.permanent else "will be retried", attempts,
                error.explanation)
    return "failed" if error.permanent else "retrying"


def _conflict(session_factory: SessionFactory, job: _Job, error: Conflict,
              now: datetime) -> str:
    """Moodle holds a later second (clocks differ): restamp the score once and retry."""
    if job.last_error_status == 409:
        return _failed(session_factory, job, DeliveryError(
            "The VLE keeps refusing this score because it already holds a later one (409). "
            "Check the student's grade in the VLE; if it is wrong, resend.", permanent=True,
            status=error.status, body=error.body), now)
    with session_factory() as session:
        row = session.get(GradeDelivery, job.id)
        # A superseded row is not restamped: the newer score it would overtake goes instead.
        if row is not None and row.lease_token == job.lease and \
                row.status == DeliveryStatus.PENDING:
            row.score_timestamp = max(now.replace(microsecond=0),
                                      row.score_timestamp) + timedelta(seconds=1)
            session.commit()
    return _failed(session_factory, job, transient(error.explanation, status=error.status,
                                                   body=error.body, retry_after=1), now)


def _release(session_factory: SessionFactory, job: _Job, now: datetime) -> str:
    """Give up the lease of a row that a newer score replaced before it was sent."""
    with session_factory() as session:
        session.execute(update(GradeDelivery).where(_mine(job)).values(
            lease_token=None, lease_until=None, updated_at=now)
            .execution_options(synchronize_session=False))
        session.commit()
    return "superseded"


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: doubling from 30 s to an hour, jittered.

    A wait someone asked for (the VLE's Retry-After, or "another worker is creating the grade
    column, 5 s") replaces the 30 s start: it is waited at least, doubling while the same
    score keeps failing, so a short wait stays short and a stuck one still slows down.
    """
    if retry_after is None:
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
        return delay * (0.5 + random.random() / 2)  # jitter: workers do not retry in lockstep
    asked = min(max(float(retry_after), 0.0), RETRY_AFTER_CAP)
    if attempts <= 1:
        return asked  # exactly when asked: a VLE's Retry-After is when it expects us back
    delay = min(max(asked, BACKOFF_CAP), asked * 2 ** (attempts - 1))
    return delay * (1 + random.random() / 4)  # never earlier than asked

