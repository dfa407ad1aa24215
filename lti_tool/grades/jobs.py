"""What sending a claimed row needs, read for a whole claim in one query before any call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..models import LtiUser, Registration, ResourceLink
from ..models.grades import GradeDelivery
from .claims import Claim, SessionFactory
from .tokens import RegistrationInfo


@dataclass(frozen=True)
class Job:
    """One claimed row with its student, link and registration."""

    id: int
    lease: str
    user_sub: str
    link_id: int
    resource_link_id: str
    lineitem_url: str | None
    link_lineitem_url: str | None
    link_lineitems_url: str | None
    link_scopes: tuple[str, ...]
    spec: dict[str, Any]
    payload: dict[str, Any]
    attempts: int
    last_error_status: int | None
    registration: RegistrationInfo


def load_jobs(session_factory: SessionFactory, taken: Claim) -> list[Job]:
    """The claim's rows still leased under it, in the order they fell due."""
    registrations: dict[int, RegistrationInfo] = {}
    jobs = []
    with session_factory() as session:
        rows = session.execute(
            select(GradeDelivery, LtiUser.sub, ResourceLink, Registration)
            .join(LtiUser, LtiUser.id == GradeDelivery.user_id)
            .join(ResourceLink, ResourceLink.id == GradeDelivery.resource_link_id)
            .join(Registration, Registration.id == LtiUser.registration_id)
            .where(GradeDelivery.id.in_(taken.ids), GradeDelivery.lease_token == taken.lease)
            .order_by(GradeDelivery.next_attempt_at, GradeDelivery.id)).tuples()
        for row, sub, link, registration in rows:
            # One object per registration, so its token is looked up once per claim.
            info = registrations.get(registration.id)
            if info is None:
                info = registrations[registration.id] = RegistrationInfo(
                    id=registration.id, client_id=registration.client_id,
                    auth_token_url=registration.auth_token_url,
                    auth_audience=registration.auth_audience, enabled=registration.enabled)
            jobs.append(Job(
                id=row.id, lease=taken.lease, user_sub=sub, link_id=link.id,
                resource_link_id=link.resource_link_id, lineitem_url=row.lineitem_url,
                link_lineitem_url=link.ags_lineitem_url,
                link_lineitems_url=link.ags_lineitems_url,
                link_scopes=tuple(link.ags_scopes or ()), spec=dict(row.lineitem_spec or {}),
                payload=row.payload(sub), attempts=row.attempts,
                last_error_status=row.last_error_status, registration=info))
    return jobs
