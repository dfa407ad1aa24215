"""Retention: remove what is past its period, per kind of data; a dry run only counts."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, Text, cast, delete, exists, func, select
from sqlalchemy.orm import Session

from ..attempts.totals import note_pairs
from ..models import (
    Attempt,
    AuditEvent,
    DeliveryStatus,
    GradeDelivery,
    Launch,
    LaunchFailure,
    RosterMember,
    SandboxLineItem,
    SandboxLink,
    SandboxScore,
)
from ..models.base import Base, utcnow
from .minimise import RAW_KEY, RAW_UNTIL_KEY, raw_expired, without_raw
from .settings import RetentionPolicy

FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED)


@dataclass
class PurgeReport:
    """How many rows of each kind are (or, in a dry run, would be) removed."""

    applied: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows in all."""
        return sum(self.counts.values())


# The WHERE clauses that pick one kind's rows past their period.
Conditions = list[ColumnElement[bool]]


def _targets(policy: RetentionPolicy, now: datetime) -> list[tuple[str, type[Base], Conditions]]:
    """(kind, model, conditions) for each kind whose period is on."""
    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    # A grade still on its way to the VLE keeps its attempt whatever its age.
    waiting = exists().where(GradeDelivery.attempt_id == Attempt.id,
                             GradeDelivery.status == DeliveryStatus.PENDING)
    plan: list[tuple[str, int, type[Base], Callable[[int], Conditions]]] = [
        ("launches", policy.launches, Launch, lambda d: [Launch.created_at < before(d)]),
        ("failures", policy.failures, LaunchFailure,
         lambda d: [LaunchFailure.created_at < before(d)]),
        ("attempts", policy.attempts, Attempt,
         lambda d: [Attempt.updated_at < before(d), ~waiting]),
        ("deliveries", policy.deliveries, GradeDelivery,
         lambda d: [GradeDelivery.status.in_(FINISHED), GradeDelivery.updated_at < before(d)]),
        ("roster", policy.roster, RosterMember, lambda d: [RosterMember.fetched_at < before(d)]),
        ("sandbox_scores", policy.sandbox, SandboxScore,
         lambda d: [SandboxScore.received_at < before(d)]),
        ("sandbox_line_items", policy.sandbox, SandboxLineItem,
         lambda d: [SandboxLineItem.created_at < before(d)]),
        ("sandbox_links", policy.sandbox, SandboxLink,
         lambda d: [SandboxLink.created_at < before(d)]),
        ("audit", policy.audit, AuditEvent, lambda d: [AuditEvent.at < before(d)]),
    ]
    return [(kind, model, conditions(days)) for kind, days, model, conditions in plan if days > 0]


def purge(session: Session, policy: RetentionPolicy, *, apply: bool = False,
          now: datetime | None = None) -> PurgeReport:
    """Count (and with ``apply`` delete, flushed) every row past its period.

    Also drops full id_tokens kept past LTI_TOOL_KEEP_RAW_CLAIMS_SECONDS from launches.
    """
    now = now or utcnow()
    report = PurgeReport(applied=apply)
    for kind, model, conditions in _targets(policy, now):
        if apply and model is Attempt:
            # The students whose attempts go have their course totals recomputed at the commit.
            gone = session.execute(delete(Attempt).where(*conditions).returning(
                Attempt.user_id, Attempt.resource_link_id)
                .execution_options(synchronize_session=False)).tuples().all()
            note_pairs(session, gone)
            report.counts[kind] = len(gone)
        elif apply:
            result = typing.cast("CursorResult[Any]", session.execute(
                delete(model).where(*conditions).execution_options(synchronize_session=False)))
            report.counts[kind] = result.rowcount or 0
        else:
            report.counts[kind] = session.scalar(
                select(func.count()).select_from(model).where(*conditions)) or 0
    # Only launches still carrying a full id_token are read (the JSON as text, on both DBs).
    carrying = select(Launch).where(cast(Launch.claims, Text).contains(f'"{RAW_UNTIL_KEY}"'))
    stale = [launch for launch in session.scalars(carrying)
             if RAW_KEY in (launch.claims or {}) and raw_expired(launch.claims, now)]
    if apply:
        for launch in stale:
            launch.claims = without_raw(launch.claims)
    report.counts["raw_claims"] = len(stale)
    session.flush()
    return report
