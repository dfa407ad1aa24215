"""The audit log: who did what, to what, and when, for administrators' and lecturers' actions.

Rows are only ever inserted: the app has no page or function that changes or deletes one
(the retention purge, run by an operator, is the one exception and is itself logged).
"""

from __future__ import annotations

import csv
import getpass
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, LtiUser

# Every action the tool records, with what it means.
ACTIONS: dict[str, str] = {
    "registration.add": "registered a platform",
    "registration.edit": "changed a registration's details",
    "registration.enabled": "enabled or disabled a registration",
    "registration.auto_approve": "switched automatic approval of deployments",
    "deployment.add": "added a deployment",
    "deployment.status": "approved or disabled a deployment",
    "invite.create": "made a one-time registration link",
    "keys.rotate": "rotated the tool's signing key",
    "keys.retire": "retired a previous signing key",
    "grade.resend": "queued a refused grade again",
    "link.module": "chose the module (and its settings) a link delivers",
    "marks.save": "saved marks and comments on an attempt",
    "data.export": "exported a person's data",
    "data.erase": "erased a person's data",
    "data.erase_request": "asked for their own data to be erased (Data Privacy Launch)",
    "data.purge": "purged data past its retention period",
    "data.research_export": "exported a course's attempts, pseudonymised, for research",
    "admin.sso_sign_in": "signed in to the console through the university's sign-in (SSO)",
    "admin.sso_refused": "was refused console sign-in through the university's sign-in (SSO)",
    "admin.other": "another console action",
}

# The console's log templates (lti_tool/admin/routes.py `_audit`): the action each is, and
# its target from the template's values.
CONSOLE_TEMPLATES: dict[str, tuple[str, str]] = {
    "registered platform %s (%s, client %s)": ("registration.add", "registration {0}"),
    "edited registration %s": ("registration.edit", "registration {0}"),
    "%s registration %s": ("registration.enabled", "registration {1}"),
    "auto-approve %s for registration %s": ("registration.auto_approve", "registration {1}"),
    "added deployment %r (%s) to registration %s": ("deployment.add", "registration {2}"),
    "deployment %r of registration %s is now %s": ("deployment.status", "registration {1}"),
    "created registration link %s valid until %s": ("invite.create", "invite {0}"),
    "rotated keys; new signing key %s": ("keys.rotate", "key {0}"),
    "retired key %s": ("keys.retire", "key {0}"),
    "resent grade delivery %s": ("grade.resend", "delivery {0}"),
}

PER_PAGE = 100
MAX_TEXT = 400


def admin_actor(email: str) -> str:
    """How a tool administrator appears in the log."""
    return f"admin:{email}"


def lti_actor(user: LtiUser) -> str:
    """How a VLE user appears: by the tool's id only, so erasing them needs no change here."""
    return f"lti:user#{user.id}"


def cli_actor() -> str:
    """How someone at the server's command line appears."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        name = "unknown"
    return f"cli:{name}"


def record(session: Session, actor: str, action: str, target: str = "",
           details: dict[str, Any] | None = None, summary: str = "") -> AuditEvent:
    """Add one audit row (flushed, not committed: it lands with the change it describes)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to ACTIONS")
    row = AuditEvent(actor=actor[:MAX_TEXT], action=action, target=(target or "")[:MAX_TEXT],
                     details=details or {}, summary=summary or ACTIONS[action])
    session.add(row)
    session.flush()
    return row


def record_console(session: Session, email: str, template: str,
                   args: tuple[object, ...]) -> AuditEvent:
    """Record a console change from its log line's template and values."""
    action, target = CONSOLE_TEMPLATES.get(template, ("admin.other", ""))
    try:
        summary = template % args
        target = target.format(*args)
    except (TypeError, ValueError, IndexError):
        summary = f"{template} {args!r}"
    return record(session, admin_actor(email), action, target=target,
                  details={"values": [str(a) for a in args]}, summary=summary)


@dataclass(frozen=True)
class Filters:
    """What the console's audit page narrows the log to."""

    actor: str = ""
    action: str = ""
    target: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _query(filters: Filters) -> Select[tuple[AuditEvent]]:
    """The filtered select, newest first."""
    query = select(AuditEvent)
    if filters.actor:
        query = query.where(AuditEvent.actor.contains(filters.actor, autoescape=True))
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.target:
        query = query.where(AuditEvent.target.contains(filters.target, autoescape=True))
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def events(session: Session, filters: Filters = Filters(), page: int = 1,
           per_page: int = PER_PAGE) -> tuple[list[AuditEvent], int]:
    """One page of matching events, newest first, and how many match in all."""
    query = _query(filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(rows), total


def last_event(session: Session, action: str) -> AuditEvent | None:
    """The latest event of one kind (the console shows the last purge)."""
    return session.scalar(select(AuditEvent).where(AuditEvent.action == action)
                          .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1))


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def events_csv(session: Session, filters: Filters = Filters()) -> str:
    """Every matching event as CSV, newest first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time_utc", "actor", "action", "target", "summary", "details"])

    for row in session.scalars(_query(filters)):
        writer.writerow([row.id, row.at.isoformat(timespec="seconds"), _cell(row.actor),
                         row.action, _cell(row.target), _cell(row.summary),
                         _cell(json.dumps(row.details, sort_keys=True))])
    return out.getvalue()
