"""Caps on what strangers can make the tool write: refused launches and pending deployments.

Anyone can post a bad login, and a platform's key can sign endless new deployment ids; each
used to add a row for ever. Past the caps the refusal is still logged (with its reason) but
not stored: the console shows that launches fail and why, not each of a flood's thousands.
Counts are read before the write, so racing requests can overshoot a cap by a few rows; a
cap is a ceiling on growth, not an exact number. Old failures are expired by
lti_tool.governance.retention.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Deployment, DeploymentStatus, LaunchFailure
from ..models.base import utcnow

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=10)
FAILURES_PER_SOURCE = 20  # refusals stored per code and issuer in WINDOW
FAILURES_IN_ALL = 200  # refusals stored in WINDOW whatever their source
PENDING_PER_REGISTRATION = 25  # deployments waiting for approval under one registration


def failure_worth_storing(session: Session, code: str, issuer: str | None) -> bool:
    """Whether one more refused launch may be stored, or only logged."""
    since = utcnow() - WINDOW
    recent = select(func.count()).select_from(LaunchFailure).where(
        LaunchFailure.created_at >= since)
    if (session.scalar(recent) or 0) >= FAILURES_IN_ALL:
        log.warning("launch failures: over %d in %s; logged, not stored", FAILURES_IN_ALL,
                    WINDOW)
        return False
    same = recent.where(LaunchFailure.code == code, LaunchFailure.issuer == issuer
                        if issuer is not None else LaunchFailure.issuer.is_(None))
    if (session.scalar(same) or 0) >= FAILURES_PER_SOURCE:
        log.warning("launch failures: over %d %s from issuer %r in %s; logged, not stored",
                    FAILURES_PER_SOURCE, code, issuer, WINDOW)
        return False
    return True


def room_for_pending(session: Session, registration_id: int) -> bool:
    """Whether another unknown deployment may be recorded for approval."""
    pending = session.scalar(select(func.count()).select_from(Deployment).where(
        Deployment.registration_id == registration_id,
        Deployment.status == DeploymentStatus.PENDING)) or 0
    return pending < PENDING_PER_REGISTRATION
