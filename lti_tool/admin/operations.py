"""What the console shows: an overview, launch failures page by page, pending deployments.

No Flask here; changes to registrations, invites and keys go through registrations.py,
invites.py and keys.py, which the CLI uses too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..invites import invite_state, list_invites
from ..keys import Keyring, KeyringError, ToolKey
from ..models import (
    DeliveryStatus,
    Deployment,
    DeploymentStatus,
    GradeDelivery,
    LaunchFailure,
    Registration,
)
from ..models.base import utcnow

FAILURES_PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    """One page of a list, newest first."""

    items: list[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when empty)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        """Whether there is a newer page."""
        return self.number > 1

    @property
    def has_next(self) -> bool:
        """Whether there is an older page."""
        return self.number < self.pages


def launch_failures(session: Session, page: int = 1,
                    per_page: int = FAILURES_PER_PAGE) -> Page:
    """Refused logins and launches, newest first; a page past the end is the last page."""
    total = session.scalar(select(func.count()).select_from(LaunchFailure)) or 0
    number = min(max(page, 1), max(1, -(-total // per_page)))
    rows = session.scalars(select(LaunchFailure)
                           .order_by(LaunchFailure.created_at.desc(), LaunchFailure.id.desc())
                           .offset((number - 1) * per_page).limit(per_page))
    return Page(items=list(rows), number=number, per_page=per_page, total=total)


def pending_deployments(session: Session) -> list[Deployment]:
    """Deployments waiting for approval, oldest first (the longest-waiting course first)."""
    return list(session.scalars(select(Deployment)
                                .where(Deployment.status == DeploymentStatus.PENDING)
                                .order_by(Deployment.created_at, Deployment.id)))


@dataclass
class Overview:
    """The dashboard's figures."""

    registrations: int
    disabled_registrations: int
    pending: list[Deployment]
    failures_last_day: int
    open_invites: int
    failed_grades: int
    keys: list[ToolKey] = field(default_factory=list)
    keys_problem: str | None = None

    @property
    def current_key(self) -> ToolKey | None:
        """The signing key, if there is one."""
        return next((k for k in self.keys if k.status == "current"), None)

    @property
    def previous_keys(self) -> list[ToolKey]:
        """Keys still published though no longer signing."""
        return [k for k in self.keys if k.status == "previous"]


def overview(session: Session, keyring: Keyring) -> Overview:
    """Counts and lists for the dashboard."""
    now = utcnow()
    registrations = session.scalar(select(func.count()).select_from(Registration)) or 0
    disabled = session.scalar(select(func.count()).select_from(Registration)
                              .where(Registration.enabled.is_(False))) or 0
    failures = session.scalar(select(func.count()).select_from(LaunchFailure)
                              .where(LaunchFailure.created_at >= now - timedelta(days=1))) or 0
    open_invites = sum(1 for i in list_invites(session) if invite_state(i, now) == "open")
    failed_grades = session.scalar(
        select(func.count()).select_from(GradeDelivery)
        .where(GradeDelivery.status == DeliveryStatus.FAILED_PERMANENT)) or 0
    result = Overview(registrations=registrations, disabled_registrations=disabled,
                      pending=pending_deployments(session), failures_last_day=failures,
                      open_invites=open_invites, failed_grades=failed_grades)
    try:
        result.keys = keyring.keys()
        keyring.current()
    except KeyringError as error:
        result.keys_problem = str(error)
    return result


def parse_deployment_ids(text: str) -> tuple[str, ...]:
    """Deployment ids typed one per line, without blanks or repeats (ids may hold commas)."""
    ids: list[str] = []
    for line in (text or "").splitlines():
        value = line.strip()
        if value and value not in ids:
            ids.append(value)
    return tuple(ids)
