"""An anonymised course export for lecturers' research: stable pseudonyms, no names or text.

Each person appears as ``p-`` and 12 hex digits of an HMAC of their registration and `sub`,
keyed by the installation's secret: the same person has the same pseudonym in every export
of this installation, and nobody without the key can get from a pseudonym back to a `sub`.
No names, emails, VLE ids, free text or exact times leave: days only.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Attempt, AttemptStatus, Context, Deployment, LtiUser, ResourceLink

COLUMNS = ["person", "module", "version", "attempt", "status", "percent", "passed", "points",
           "max_points", "submitted_on", "elements", "confidence_before", "confidence_after"]


class ResearchRow(TypedDict):
    """One attempt in the export; the keys are COLUMNS ("" where a value is missing)."""

    person: str
    module: str
    version: str
    attempt: int
    status: str
    percent: float | str
    passed: str
    points: float | str
    max_points: float | str
    submitted_on: str
    elements: str
    confidence_before: str
    confidence_after: str


class CourseNotFound(LookupError):
    """No course with that id under the registration."""


def pseudonym(key: bytes, registration_id: int, sub: str) -> str:
    """The person's stable research pseudonym."""
    digest = hmac.new(key, f"{registration_id}\x00{sub}".encode(), hashlib.sha256).hexdigest()
    return "p-" + digest[:12]


def find_course(session: Session, registration_id: int, context_id: str) -> Context:
    """The course by the platform's own id, under one registration."""
    row = session.scalar(select(Context).join(Deployment).where(
        Deployment.registration_id == registration_id, Context.context_id == context_id))
    if row is None:
        raise CourseNotFound(f"registration {registration_id} has no course {context_id!r}")
    return row


def _ratings(values: dict[str, Any]) -> str:
    """Confidence ratings as `statement=rating` pairs (numbers only, no text)."""
    return " ".join(f"{k}={v}" for k, v in sorted(values.items()) if isinstance(v, (int, float)))


def course_rows(session: Session, course: Context, key: bytes) -> list[ResearchRow]:
    """One row per attempt in the course, by pseudonym, oldest first."""
    query = (select(Attempt, LtiUser).join(LtiUser, Attempt.user_id == LtiUser.id)
             .join(ResourceLink, Attempt.resource_link_id == ResourceLink.id)
             .where(ResourceLink.context_id == course.id)
             .order_by(Attempt.created_at, Attempt.id))
    rows: list[ResearchRow] = []
    for attempt, user in session.execute(query):
        submitted = attempt.status == AttemptStatus.SUBMITTED
        rows.append({
            "person": pseudonym(key, user.registration_id, user.sub),
            "module": attempt.module_id, "version": attempt.module_version,
            "attempt": attempt.number, "status": attempt.status.value,
            "percent": round(attempt.percent, 1) if attempt.percent is not None else "",
            "passed": "" if attempt.passed is None else ("yes" if attempt.passed else "no"),
            "points": attempt.points if attempt.points is not None else "",
            "max_points": attempt.max_points if attempt.max_points is not None else "",
            "submitted_on": attempt.submitted_at.date().isoformat()
            if submitted and attempt.submitted_at else "",
            "elements": " ".join(f"{e}={p:g}/{m:g}" for e, (p, m) in
                                 sorted((attempt.element_points or {}).items())),
            "confidence_before": _ratings(attempt.confidence_before or {}),
            "confidence_after": _ratings(attempt.confidence_after or {}),
        })
    return rows


def course_csv(rows: list[ResearchRow]) -> str:
    """The rows as CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
