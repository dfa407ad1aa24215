"""Erasure requests a person makes from a Data Privacy Launch, waiting for an admin to act.

A request is an audit row (`data.erase_request`, target ``user#N``); it is pending until a
`data.erase` row names the same person. No table of its own: the log is the record anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, LtiUser
from . import audit

REQUEST = "data.erase_request"


def person_target(user: LtiUser) -> str:
    """How requests and erasures name a person (the same in both, so they can be matched)."""
    return f"registration {user.registration_id} user#{user.id}"


@dataclass(frozen=True)
class Pending:
    """One request waiting for an administrator, with the person (None if gone meanwhile)."""

    event: AuditEvent
    user: LtiUser | None


def pending_requests(session: Session) -> list[Pending]:
    """Requests with no erasure of the same person after them, oldest first."""
    requests = list(session.scalars(select(AuditEvent).where(AuditEvent.action == REQUEST)
                                    .order_by(AuditEvent.id)))
    if not requests:
        return []
    erased = {row.target: row.id for row in session.scalars(
        select(AuditEvent).where(AuditEvent.action == "data.erase",
                                 AuditEvent.target.in_({r.target for r in requests})))}
    out, seen = [], set()
    for row in requests:
        if row.target in seen or erased.get(row.target, 0) > row.id:
            continue
        seen.add(row.target)
        user = session.get(LtiUser, row.details.get("user_id")) if row.details else None
        out.append(Pending(row, user))
    return out


def request_erasure(session: Session, user: LtiUser) -> tuple[AuditEvent, bool]:
    """Record the person's request (flushed); (the request, whether it is new)."""
    target = person_target(user)
    for pending in pending_requests(session):
        if pending.event.target == target:
            return pending.event, False
    row = audit.record(session, audit.lti_actor(user), REQUEST, target,
                       {"user_id": user.id}, summary="asked for their data to be erased")
    return row, True
