"""Subject rights: everything the tool holds about one person, and erasing it.

A person is one `sub` under one registration (the platform's own id for them). Erasure
pseudonymises rather than deletes what the class's figures are built from: the person's
user row gets a random `sub` with no key kept, their names and emails go, their written text
(reflections, comments) is replaced, and their launches and cached class-list entries are
deleted. Scores stay under the pseudonym, so a course's averages and counts do not change.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, cast

from sqlalchemy import CursorResult, Result, Select, delete, or_, select, update
from sqlalchemy.orm import Session

from ..content.activities.reflection import Reflection
from ..models import (
    Attempt,
    AttemptElementScore,
    AuditEvent,
    Context,
    CourseElementTotal,
    DeepLinkResponse,
    DeliveryStatus,
    Deployment,
    GradeDelivery,
    Launch,
    LtiUser,
    Membership,
    ReflectionMark,
    Registration,
    RosterMember,
    SandboxScore,
)
from ..models.base import utcnow

if TYPE_CHECKING:
    from ..content.library import Library
    from ..content.module import Module

EXPORT_FORMAT = "lti-tool-person-export/1"
ERASED_TEXT = "[erased]"
PSEUDONYM_PREFIX = "erased-"
SANDBOX_CLIENT_ID = "sandbox-tool"  # lti_tool.sandbox.platform.CLIENT_ID (no Flask import)

# What erasure does to each personal column (tests compare this with inventory.COLUMNS).
DELETED = "row deleted"
PSEUDONYM = "replaced by a random pseudonym"
CLEARED = "cleared"
REPLACED = f"written text replaced by {ERASED_TEXT!r}"
KEPT = "kept under the pseudonym (figures stay honest)"

HOLDINGS: dict[str, str | dict[str, str]] = {
    "lti_user": {"id": KEPT, "sub": PSEUDONYM, "name": CLEARED, "given_name": CLEARED,
                 "family_name": CLEARED, "email": CLEARED, "lti1p1_user_id": CLEARED,
                 "last_launch_at": KEPT,
                 "created_at": KEPT},
    "membership": {"user_id": KEPT, "roles": KEPT, "updated_at": KEPT, "created_at": KEPT},
    "launch": DELETED,
    "deep_link_response": DELETED,
    "attempt": {"answers": REPLACED, **{c: KEPT for c in (
        "id", "user_id", "number", "module_id", "module_version", "module_digest", "status",
        "position", "confidence_before", "confidence_after", "marks", "updated_at",
        "submitted_at", "points", "max_points", "percent", "passed", "pending_manual",
        "element_points", "created_at")}},
    "attempt_element_score": {c: KEPT for c in ("attempt_id", "element", "earned", "possible")},
    "course_element_total": {c: KEPT for c in ("context_id", "user_id", "element", "earned",
                                               "possible", "pending")},
    "reflection_mark": {"comment": REPLACED, "attempt_id": KEPT, "marker_id": KEPT,
                        "marked_at": KEPT},
    "grade_delivery": {"comment": CLEARED, "last_error_body": CLEARED, **{c: KEPT for c in (
        "user_id", "attempt_id", "score_given", "score_maximum", "activity_progress",
        "grading_progress", "score_timestamp", "delivered_at", "created_at")}},
    "roster_member": DELETED,
    "sandbox_score": {"user_id": PSEUDONYM, "comment": CLEARED, **{c: KEPT for c in (
        "score_given", "score_maximum", "activity_progress", "grading_progress", "timestamp",
        "received_at")}},
}


class ExportedRegistration(TypedDict):
    """The registration an export was made under."""

    id: int
    name: str | None
    issuer: str
    client_id: str


class PersonExport(TypedDict):
    """Everything held about one person: JSON-ready rows, by table."""

    format: str
    exported_at: str
    registration: ExportedRegistration
    sub: str
    tables: dict[str, list[dict[str, object]]]


class PersonNotFound(LookupError):
    """The registration holds nothing about that `sub`."""


class ErasureRefused(Exception):
    """A grade for the person still waits to reach the VLE; erasing would lose or garble it."""


@dataclass
class ErasureReport:
    """What an erasure did, table by table, in words a DPO can file."""

    user_id: int | None
    pseudonym: str | None
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per kind of change made, then the notes."""
        return [f"{what}: {count}" for what, count in self.counts.items() if count] + self.notes

    def add(self, table: str, what: str, count: int) -> None:
        """Count rows of a table handled in one way."""
        key = f"{table} {what}"
        self.counts[key] = self.counts.get(key, 0) + count


def find_person(session: Session, registration: Registration, sub: str) -> LtiUser | None:
    """The person's user row under this registration, if they ever launched."""
    return session.scalar(select(LtiUser).where(LtiUser.registration_id == registration.id,
                                                LtiUser.sub == sub))


def _context_ids(registration: Registration) -> Select[tuple[int]]:
    """A subquery: ids of the courses seen through the registration's deployments."""
    return (select(Context.id).join(Deployment, Context.deployment_id == Deployment.id)
            .where(Deployment.registration_id == registration.id))


def _plain(value: object) -> object:
    """A column value as JSON: times in ISO 8601, enums by value."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _row(row: object) -> dict[str, object]:
    """Every column of a model row."""
    table = row.__table__  # type: ignore[attr-defined]
    return {c.key: _plain(getattr(row, c.key)) for c in table.columns}


def _count(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (the ORM types every result as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount or 0


def _is_sandbox(registration: Registration) -> bool:
    """Whether this is the built-in sandbox platform (whose gradebook is in this database)."""
    return registration.client_id == SANDBOX_CLIENT_ID and registration.issuer.endswith("/sandbox")


def export_person(session: Session, registration: Registration, sub: str,
                  now: datetime | None = None) -> PersonExport:
    """Everything held about the person, by table, as JSON-ready data; PersonNotFound if nothing."""
    user = find_person(session, registration, sub)
    roster = list(session.scalars(select(RosterMember).where(
        RosterMember.user_sub == sub, RosterMember.context_id.in_(_context_ids(registration)))
        .order_by(RosterMember.id)))
    if user is None and not roster:
        raise PersonNotFound(f"registration {registration.id} holds nothing about that user")
    tables: dict[str, list[dict[str, object]]] = {name: [] for name in (*HOLDINGS, "audit_event")}
    tables["roster_member"] = [_row(r) for r in roster]
    if user is not None:
        tables["lti_user"] = [_row(user)]
        for name, model in (("membership", Membership), ("launch", Launch),
                            ("attempt", Attempt), ("grade_delivery", GradeDelivery)):
            rows = session.scalars(select(model).where(model.user_id == user.id)
                                   .order_by(model.id))
            tables[name] = [_row(r) for r in rows]
        attempt_ids = [a["id"] for a in tables["attempt"]]
        tables["attempt_element_score"] = [_row(r) for r in session.scalars(
            select(AttemptElementScore).where(AttemptElementScore.attempt_id.in_(attempt_ids))
            .order_by(AttemptElementScore.attempt_id, AttemptElementScore.element))]
        tables["course_element_total"] = [_row(r) for r in session.scalars(
            select(CourseElementTotal).where(CourseElementTotal.user_id == user.id)
            .order_by(CourseElementTotal.context_id, CourseElementTotal.element))]
        tables["reflection_mark"] = [_row(r) for r in session.scalars(
            select(ReflectionMark).where(or_(ReflectionMark.attempt_id.in_(attempt_ids),
                                             ReflectionMark.marker_id == user.id))
            .order_by(ReflectionMark.id))]
        launch_ids = [launch["id"] for launch in tables["launch"]]
        tables["deep_link_response"] = [_row(r) for r in session.scalars(
            select(DeepLinkResponse).where(DeepLinkResponse.launch_id.in_(launch_ids))
            .order_by(DeepLinkResponse.id))]
        # What they did as a lecturer, and requests and exports about them (by tool id only).
        tables["audit_event"] = [_row(r) for r in session.scalars(
            select(AuditEvent).where(or_(AuditEvent.actor == f"lti:user#{user.id}",
                                         AuditEvent.target.endswith(f" user#{user.id}")))
            .order_by(AuditEvent.id))]
    if _is_sandbox(registration):
        tables["sandbox_score"] = [_row(r) for r in session.scalars(
            select(SandboxScore).where(SandboxScore.user_id == sub).order_by(SandboxScore.id))]
    return {"format": EXPORT_FORMAT, "exported_at": (now or utcnow()).isoformat(),
            "registration": {"id": registration.id, "name": registration.name,
                             "issuer": registration.issuer, "client_id": registration.client_id},
            "sub": sub, "tables": tables}


def pending_grades(session: Session, user: LtiUser) -> list[GradeDelivery]:
    """The person's scores still on their way to the VLE."""
    return list(session.scalars(select(GradeDelivery).where(
        GradeDelivery.user_id == user.id, GradeDelivery.status == DeliveryStatus.PENDING)))


def _scrub_answers(answers: dict[str, Any], module: Module | None) -> dict[str, Any]:
    """The answers with written text replaced; choices and ratings (which scores rest on) kept."""
    if module is not None:
        texts = {a.id for a in module.activities if isinstance(a, Reflection)}
    else:  # module withdrawn: any string may be text the person wrote
        texts = {k for k, v in answers.items() if isinstance(v, str)}
    return {k: (ERASED_TEXT if k in texts and isinstance(v, str) and v.strip() else
                ("" if k in texts and isinstance(v, str) else v))
            for k, v in answers.items()}


def _module_of(library: Library | None, attempt: Attempt) -> Module | None:
    """The module version the attempt was taken on, or None when it cannot be loaded."""
    if library is None:
        return None
    try:
        return library.get(attempt.module_id, attempt.module_version)
    except Exception:  # noqa: BLE001 - any load problem means: treat every string as text
        return None


def erase_person(session: Session, registration: Registration, sub: str, *,
                 library: Library | None = None, force: bool = False) -> ErasureReport:
    """Erase or pseudonymise the person everywhere (flushed); ErasureRefused while grades wait.

    With ``force``, grades still waiting for the VLE are dropped (and the report says so).
    """
    # The person's attempts are locked before the person: a submission or a marking holds an
    # attempt and, at its commit, writes rows that refer to the person (course totals, a
    # grade); the other way round each would wait on the other (PostgreSQL's "deadlock").
    session.execute(select(Attempt.id).join(LtiUser, LtiUser.id == Attempt.user_id).where(
        LtiUser.registration_id == registration.id, LtiUser.sub == sub)
        .with_for_update(of=Attempt)).all()
    user = session.scalar(select(LtiUser).where(LtiUser.registration_id == registration.id,
                                                LtiUser.sub == sub).with_for_update())
    contexts = _context_ids(registration)
    roster_count = session.scalar(select(RosterMember.id).where(
        RosterMember.user_sub == sub, RosterMember.context_id.in_(contexts)).limit(1))
    if user is None and roster_count is None:
        raise PersonNotFound(f"registration {registration.id} holds nothing about that user")
    report = ErasureReport(user_id=user.id if user else None, pseudonym=None)
    pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(12)
    if user is not None:
        waiting = pending_grades(session, user)
        if waiting and not force:
            raise ErasureRefused(
                f"{len(waiting)} grade(s) for this person still wait to be sent to the VLE "
                "(`lti-tool grades list`); let them go, or erase with --force to drop them")
        for row in waiting:
            session.delete(row)
        report.add("grade_delivery", "waiting grade(s) dropped", len(waiting))
        if waiting:
            report.notes.append(f"{len(waiting)} grade(s) never reached the VLE: enter them "
                                "there by hand if they are still needed")
        _erase_user_rows(session, user, library, report)
        report.pseudonym = pseudonym
        user.sub, user.name, user.given_name, user.family_name, user.email = (
            pseudonym, None, None, None, None)
        user.lti1p1_user_id = None
        report.add("lti_user", "pseudonymised", 1)
    gone = session.execute(delete(RosterMember).where(
        RosterMember.user_sub == sub, RosterMember.context_id.in_(contexts)))
    report.add("roster_member", "deleted", _count(gone))
    if _is_sandbox(registration):
        done = session.execute(update(SandboxScore).where(SandboxScore.user_id == sub)
                               .values(user_id=pseudonym, comment=None))
        report.add("sandbox_score", "pseudonymised", _count(done))
    session.flush()
    report.notes.append("The VLE still holds this person and their grades: erase them there too.")
    return report


def _erase_user_rows(session: Session, user: LtiUser, library: Library | None,
                     report: ErasureReport) -> None:
    """Launches deleted; written text, comments and error bodies replaced (flushed)."""
    launches = session.execute(delete(Launch).where(Launch.user_id == user.id))
    report.add("launch", "deleted (with any deep linking responses)", _count(launches))
    attempts = list(session.scalars(select(Attempt).where(Attempt.user_id == user.id)))
    for attempt in attempts:
        scrubbed = _scrub_answers(dict(attempt.answers or {}), _module_of(library, attempt))
        if scrubbed != attempt.answers:
            attempt.answers = scrubbed
    report.add("attempt", "kept with written text replaced", len(attempts))
    if attempts:
        comments = session.execute(
            update(ReflectionMark).where(ReflectionMark.attempt_id.in_([a.id for a in attempts]),
                                         ReflectionMark.comment != "")
            .values(comment=ERASED_TEXT))
        report.add("reflection_mark", "comments replaced", _count(comments))
    grades = session.execute(update(GradeDelivery).where(GradeDelivery.user_id == user.id)
                             .values(comment=None, last_error_body=None))
    report.add("grade_delivery", "kept with comment and error text cleared", _count(grades))
    memberships = session.scalar(select(Membership.id).where(Membership.user_id == user.id)
                                 .limit(1))
    if memberships is not None:
        report.notes.append("Course roles kept under the pseudonym, so class figures add up.")
