"""Deliver the outbox: claim scores in batches, send them, record the outcomes; safe in many
processes.

A worker leases up to `claims.CLAIM_SIZE` due rows at a time (`claims.claim`), reads what it
needs for all of them in one query, posts them one by one over its one keep-alive HTTP
session with one cached token per platform, and marks those the VLE took as delivered in one
statement. A lease is renewed before a post when less than `claims.RENEW_BELOW` seconds of it
are left, and a row whose lease was lost is not posted. A worker that dies mid-claim only
leaves leases that run out; then another worker sends those scores (at least once: if it died
after the VLE answered, the VLE gets the same score twice, which changes nothing there).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests

from ..keys import Keyring, KeyringError
from ..models.base import utcnow
from ..models.grades import DeliveryStatus
from .ags import AgsClient, Conflict, scopes_for
from .claims import (
    CLAIM_SIZE,
    LEASE_SECONDS,
    RENEW_BELOW,
    Claim,
    SessionFactory,
    claim,
    current_status,
    mark_delivered,
    release,
    renew,
)
from .errors import DeliveryError, registration_disabled, transient
from .jobs import Job, load_jobs
from .lineitems import resolve_lineitem
from .outcomes import conflict, failed
from .tokens import DatabaseTokenCache, Timeout, TokenSource

log = logging.getLogger(__name__)

TIMEOUT: Timeout = (5, 30)
INLINE_TIMEOUT: Timeout = (2, 4)
# Seconds after which the rows of a claim still to send are looked at again before the next
# post, so a score replaced meanwhile by a newer one is not sent (the newer one goes instead).
LOOK_AGAIN = 1.0


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


def deliver_pending(session_factory: SessionFactory, http: requests.Session,
                    now: datetime | None = None, limit: int = 100, *, keyring: Keyring,
                    tokens: TokenSource | None = None, user_id: int | None = None,
                    timeout: Timeout = TIMEOUT, lease_seconds: int = LEASE_SECONDS,
                    stop: Callable[[], bool] | None = None,
                    claim_size: int = CLAIM_SIZE) -> Report:
    """Send up to `limit` due scores (only `user_id`'s when given); never raises for a VLE.

    `stop` is asked before each score, so a worker told to shut down finishes the one in hand
    and gives back the rest of its claim at once.
    """
    fixed = now  # tests travel in time; otherwise each claim is leased from the real clock
    tokens = tokens or DatabaseTokenCache(session_factory, keyring, http, timeout=timeout)
    report = Report()
    while report.handled < limit:
        if stop is not None and stop():
            break
        now = fixed or utcnow()
        taken = claim(session_factory, now, min(claim_size, limit - report.handled),
                      lease_seconds, user_id=user_id)
        if not taken.ids:
            if taken.superseded:
                continue  # only replaced scores were due; there may be more behind them
            break
        deliver_claimed(session_factory, http, taken, now, tokens=tokens, timeout=timeout,
                        stop=stop, report=report, clock=fixed)
    return report


def deliver_for_user(session_factory: SessionFactory, http: requests.Session, user_id: int, *,
                     keyring: Keyring, now: datetime | None = None,
                     timeout: Timeout = INLINE_TIMEOUT) -> Report | None:
    """Right after a request: try that user's due scores quickly; failures stay queued."""
    try:
        return deliver_pending(session_factory, http, now, limit=5, keyring=keyring,
                               user_id=user_id, timeout=timeout)
    except Exception:  # the student's page must never fail because of the VLE or the outbox
        log.exception("immediate grade delivery for user %s failed; the worker will retry",
                      user_id)
        return None


@dataclass
class _Batch:
    """A claim being sent: what is left, what went, and when its rows were last looked at."""

    taken: Claim
    left: list[Job]
    report: Report
    timeout: Timeout
    delivered: dict[int, str] = field(default_factory=dict)
    lineitems: dict[int, str] = field(default_factory=dict)  # link id -> column found
    looked: float = field(default_factory=time.monotonic)


def deliver_claimed(session_factory: SessionFactory, http: requests.Session, taken: Claim,
                    now: datetime, *, tokens: TokenSource, timeout: Timeout = TIMEOUT,
                    stop: Callable[[], bool] | None = None, report: Report | None = None,
                    clock: datetime | None = None) -> Report:
    """Send a claim's rows in order and record each outcome in `report` (a new one if None).

    `clock` is the time to use instead of the real clock when deciding whether a lease needs
    renewing (tests travel in time); the lease itself runs on the database's stored times.
    """
    report = report if report is not None else Report()
    jobs = load_jobs(session_factory, taken)
    # Lost or replaced between the claim and now: nothing to send.
    report.superseded.extend(sorted(set(taken.ids) - {job.id for job in jobs}))
    batch = _Batch(taken, jobs, report, timeout)
    try:
        while batch.left:
            if stop is not None and stop():
                break
            job = batch.left.pop(0)
            outcome = _send_one(session_factory, http, batch, job, now, tokens=tokens,
                                timeout=timeout, clock=clock)
            if outcome != "delivered":
                getattr(report, outcome).append(job.id)
    except BaseException:
        _settle(session_factory, batch, now, report, quietly=True)
        raise
    _settle(session_factory, batch, now, report)
    return report


def _send_one(session_factory: SessionFactory, http: requests.Session, batch: _Batch, job: Job,
              now: datetime, *, tokens: TokenSource, timeout: Timeout,
              clock: datetime | None) -> str:
    """Post one row, unless it was replaced or its lease lost; its outcome."""
    lineitem: str | None = None
    try:
        if not job.registration.enabled:
            raise registration_disabled()
        client = AgsClient(http, tokens, job.registration, scopes_for(list(job.link_scopes)),
                           now, timeout)
        lineitem = job.lineitem_url or batch.lineitems.get(job.link_id)
        if lineitem is None:
            lineitem = batch.lineitems[job.link_id] = resolve_lineitem(
                session_factory, client, job, now)
        if not _still_ours(session_factory, batch, job, now, clock):
            return "superseded"
        client.post_score(lineitem, job.payload)
    except Conflict as exc:
        return conflict(session_factory, job, exc, now, lineitem)
    except DeliveryError as exc:
        return failed(session_factory, job, exc, now, lineitem)
    except KeyringError as exc:
        return failed(session_factory, job, transient(
            f"The tool cannot sign its token request ({exc}). The tool's administrator "
            "must fix its keys (`lti-tool keys list`); nothing needs changing in the VLE."), now)
    except Exception as exc:  # a bug must not lose the score: keep it queued and say so
        log.exception("grade delivery %s: unexpected error", job.id)
        return failed(session_factory, job, transient(
            f"Unexpected error in the tool ({type(exc).__name__}); it will try again."), now)
    batch.delivered[job.id] = lineitem
    return "delivered"


def _still_ours(session_factory: SessionFactory, batch: _Batch, job: Job, now: datetime,
                clock: datetime | None) -> bool:
    """A last look before posting: the lease holds long enough, the row was not replaced.

    The lease is renewed (for every row left in the claim at once) when little of it is left,
    so a slow VLE or line item search never posts a row another worker may hold by then.
    """
    current = max(now, clock or utcnow())
    below = renew_below(batch.timeout)
    if batch.taken.until - current < timedelta(seconds=below):
        kept = set(renew(session_factory, batch.taken,
                         [job.id] + [other.id for other in batch.left], current,
                         max(LEASE_SECONDS, 2 * below)))
        _drop(batch, lambda other: other.id in kept)
        if job.id not in kept:
            return False
    if time.monotonic() - batch.looked >= LOOK_AGAIN:
        ids = [job.id] + [other.id for other in batch.left]
        status = current_status(session_factory, batch.taken, ids)
        batch.looked = time.monotonic()
        replaced = [i for i in ids if status.get(i) == DeliveryStatus.SUPERSEDED]
        release(session_factory, batch.taken, replaced, now)
        _drop(batch, lambda other: status.get(other.id) == DeliveryStatus.PENDING)
        if status.get(job.id) != DeliveryStatus.PENDING:
            return False
    return True


def renew_below(timeout: Timeout) -> float:
    """Seconds of lease that must be left before a post: more than the post can take."""
    total = sum(timeout) if isinstance(timeout, tuple) else timeout
    return max(RENEW_BELOW, total + 10)


def _drop(batch: _Batch, keep: Callable[[Job], bool]) -> None:
    """Stop sending the rows left that `keep` rejects (replaced, or their lease lost)."""
    batch.report.superseded.extend(job.id for job in batch.left if not keep(job))
    batch.left = [job for job in batch.left if keep(job)]


def _settle(session_factory: SessionFactory, batch: _Batch, now: datetime, report: Report,
            *, quietly: bool = False) -> None:
    """Mark what the VLE took as delivered and give back the rows not tried."""
    try:
        mark_delivered(session_factory, batch.taken, batch.delivered, now)
        release(session_factory, batch.taken, [job.id for job in batch.left], now)
    except Exception as error:
        if not quietly:
            raise
        # Already failing (the worker logs why, once per outage): the leases run out and
        # those scores are sent again, at least once.
        log.warning("grade delivery: the end of a claim could not be recorded (%s); its %s "
                    "score(s) are sent again when their leases run out", type(error).__name__,
                    len(batch.delivered) + len(batch.left))
        return
    report.delivered.extend(batch.delivered)
    for row_id, lineitem in batch.delivered.items():
        log.info("delivered grade %s to line item %s", row_id, lineitem)  # where it went
