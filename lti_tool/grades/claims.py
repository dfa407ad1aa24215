"""Leases on outbox rows, taken in batches: claim, renew, release, mark delivered.

A claim leases up to `size` due rows under one random token in one short transaction. On
PostgreSQL the rows are picked with `SELECT ... FOR UPDATE SKIP LOCKED`, so two workers pick
different rows without waiting for each other; on SQLite the pick and the lease are one
conditional UPDATE, and SQLite runs one writer at a time, so of two workers exactly one wins
each row. No database lock is held while the VLE is called: a worker that dies only leaves
leases that run out.

Order per student and link: a row is claimable only when no other row of the same student
and link is leased and no newer one is pending or delivered (such an older row is marked
superseded instead, never sent). So at most one score per student and link is ever in
flight, whichever worker holds it, and an older score never reaches the VLE after a newer one.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    case,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from ..models.grades import DeliveryStatus, GradeDelivery

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
# Short, and renewed before a score is posted when less than RENEW_BELOW is left (see
# `renew`): a worker that dies holding rows delays those students' newer scores this long.
LEASE_SECONDS = 90
# More than a score POST may take with the worker's usual timeouts (connect 5 s + read 30 s):
# a lease with this much left cannot run out while the request is on its way. Longer timeouts
# raise it (delivery.renew_below).
RENEW_BELOW = 45
# Rows leased per claim: big enough that claiming costs little per score, small enough that a
# worker holds only a few seconds of work (newer scores of those students wait behind it).
CLAIM_SIZE = 50


@dataclass
class Claim:
    """Rows leased together under one token, valid (as the database has it) until `until`."""

    lease: str
    until: datetime
    ids: list[int] = field(default_factory=list)
    superseded: int = 0  # older rows found replaced while claiming (never sent)


def _key_of(other: Any, row: Any) -> ColumnElement[bool]:
    """`other` is another row for the same student and link as `row`."""
    return and_(other.user_id == row.user_id, other.resource_link_id == row.resource_link_id,
                other.id != row.id)


def in_flight(row: Any, now: Any) -> ColumnElement[bool]:
    """Another row of the same student and link is leased right now."""
    other = aliased(GradeDelivery, name="leased")
    return exists().where(_key_of(other, row), other.lease_until > now)


def newer(row: Any) -> ColumnElement[bool]:
    """A newer row of the same student and link is pending or already delivered."""
    other = aliased(GradeDelivery, name="newer")
    return exists().where(
        _key_of(other, row),
        other.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DELIVERED)),
        or_(other.score_timestamp > row.score_timestamp,
            and_(other.score_timestamp == row.score_timestamp, other.id > row.id)))


def free(row: Any, now: Any) -> ColumnElement[bool]:
    """Nobody holds a live lease on the row."""
    return or_(row.lease_until.is_(None), row.lease_until <= now)


def _due(row: Any, by_user: bool) -> ColumnElement[bool]:
    """Pending, due, not leased, and no score of the same student and link in flight."""
    now: BindParameter[Any] = bindparam("now")
    conditions = [row.status == DeliveryStatus.PENDING, row.next_attempt_at <= now,
                  free(row, now), ~in_flight(row, now)]
    if by_user:
        conditions.append(row.user_id == bindparam("only_user"))
    return and_(*conditions)


@functools.cache
def _claim_statements(postgres: bool, by_user: bool) -> tuple[Any, Any, Any]:
    """(pick, supersede, lease), built once: they are the same for every claim but their
    parameters (now, size, only_user, ids, lease, until), and building them costs more than
    running them."""
    now: BindParameter[Any] = bindparam("now")
    pick: Any
    if postgres:
        # Rows another worker is claiming are skipped, not waited for; ours stay locked
        # until the commit, so the two UPDATEs below see them as they were picked.
        pick = select(GradeDelivery.id).where(_due(GradeDelivery, by_user)).order_by(
            GradeDelivery.next_attempt_at, GradeDelivery.id).limit(bindparam("size")) \
            .with_for_update(skip_locked=True, of=GradeDelivery)
        picked: Any = bindparam("ids", expanding=True)
    else:
        # The pick is a subquery of each UPDATE, run while this connection holds SQLite's
        # one write lock: another worker's claim sees our leases and picks other rows.
        window = aliased(GradeDelivery, name="candidate")
        picked = select(window.id).where(_due(window, by_user)).order_by(
            window.next_attempt_at, window.id).limit(bindparam("size")).scalar_subquery()
    # An older score with a newer one waiting is never sent: it is superseded.
    supersede = update(GradeDelivery).where(GradeDelivery.id.in_(picked), newer(GradeDelivery)) \
        .values(status=DeliveryStatus.SUPERSEDED, updated_at=now).returning(GradeDelivery.id) \
        .execution_options(synchronize_session=False)
    # The conditions again in the UPDATE itself: a row leased is a row still claimable.
    lease = update(GradeDelivery).where(
        GradeDelivery.id.in_(picked), _due(GradeDelivery, by_user), ~newer(GradeDelivery)) \
        .values(lease_token=bindparam("lease"), lease_until=bindparam("until"),
                updated_at=now).returning(GradeDelivery.id) \
        .execution_options(synchronize_session=False)
    return (pick if postgres else None), supersede, lease


def claim(session_factory: SessionFactory, now: datetime, size: int = CLAIM_SIZE,
          lease_seconds: int = LEASE_SECONDS, user_id: int | None = None) -> Claim:
    """Lease up to `size` due rows (only `user_id`'s when given), oldest due first."""
    result = Claim(lease=secrets.token_hex(16), until=now + timedelta(seconds=lease_seconds))
    params: dict[str, Any] = {"now": now, "size": size, "lease": result.lease,
                              "until": result.until}
    if user_id is not None:
        params["only_user"] = user_id
    with session_factory() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        pick, supersede, lease = _claim_statements(postgres, user_id is not None)
        if pick is not None:
            params["ids"] = list(session.scalars(pick, params))
            if not params["ids"]:
                session.rollback()
                return result
        result.superseded = len(session.scalars(supersede, params).all())
        result.ids = list(session.scalars(lease, params))
        session.commit()
    return result


def claim_next(session_factory: SessionFactory, now: datetime,
               lease_seconds: int = LEASE_SECONDS,
               user_id: int | None = None) -> tuple[int, str] | None:
    """Lease the next due row: (id, lease token), or None when nothing is due."""
    taken = claim(session_factory, now, 1, lease_seconds, user_id)
    return (taken.ids[0], taken.lease) if taken.ids else None


def _mine(taken: Claim, ids: Sequence[int]) -> ColumnElement[bool]:
    """The rows are still leased under this claim's token."""
    return and_(GradeDelivery.id.in_(ids), GradeDelivery.lease_token == taken.lease)


def renew(session_factory: SessionFactory, taken: Claim, ids: Sequence[int],
          now: datetime, seconds: float = LEASE_SECONDS) -> list[int]:
    """Extend the lease of `ids` to `seconds` from `now`; the ones still ours (a lease that ran
    out is lost: another worker may have the row, so it must not be posted)."""
    until = now + timedelta(seconds=seconds)
    with session_factory() as session:
        kept = list(session.scalars(update(GradeDelivery).where(
            _mine(taken, ids), GradeDelivery.lease_until > now).values(lease_until=until)
            .returning(GradeDelivery.id).execution_options(synchronize_session=False)))
        session.commit()
    taken.until = until
    for row_id in sorted(set(ids) - set(kept)):
        log.warning("grade delivery %s: lease lost before sending; left for the next pass",
                    row_id)
    return kept


def release(session_factory: SessionFactory, taken: Claim, ids: Sequence[int],
            now: datetime) -> None:
    """Give up the lease of rows not sent (replaced meanwhile, or the worker is stopping)."""
    if not ids:
        return
    with session_factory() as session:
        session.execute(update(GradeDelivery).where(_mine(taken, ids)).values(
            lease_token=None, lease_until=None, updated_at=now)
            .execution_options(synchronize_session=False))
        session.commit()


def current_status(session_factory: SessionFactory, taken: Claim,
                   ids: Sequence[int]) -> dict[int, DeliveryStatus]:
    """The status of those of `ids` still leased under this claim."""
    with session_factory() as session:
        return {row_id: status for row_id, status in session.execute(
            select(GradeDelivery.id, GradeDelivery.status).where(_mine(taken, ids))).tuples()}


def mark_delivered(session_factory: SessionFactory, taken: Claim, lineitems: dict[int, str],
                   now: datetime) -> list[int]:
    """The VLE has these rows (id -> line item posted to): delivered for good, even if a
    newer score arrived meanwhile; returns the ids whose lease was still ours."""
    if not lineitems:
        return []
    with session_factory() as session:
        done = list(session.scalars(update(GradeDelivery).where(
            _mine(taken, list(lineitems))).values(
            status=DeliveryStatus.DELIVERED, delivered_at=now,
            lineitem_url=case(lineitems, value=GradeDelivery.id),
            attempts=GradeDelivery.attempts + 1, lease_token=None, lease_until=None,
            last_error_status=None, last_error_body=None, last_error_explanation=None,
            updated_at=now).returning(GradeDelivery.id)
            .execution_options(synchronize_session=False)))
        session.commit()
    for row_id in sorted(set(lineitems) - set(done)):
        log.warning("grade delivery %s was sent but its lease had run out; another worker "
                    "may send it again", row_id)
    return done
