"""The grade column a score goes to: the launch's, else one found or created for the link."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ..lti.constants import SCOPE_LINEITEM, SCOPE_LINEITEM_READ
from ..models.grades import LineItemLink
from .ags import AgsClient
from .claims import SessionFactory
from .errors import cannot_create_column, no_grade_service, transient
from .jobs import Job

log = logging.getLogger(__name__)
# How long one worker may take to find or create a link's column before another may try.
FIND_LEASE = 60
# "Another worker is finding the column": this score is tried again after these seconds.
WAIT_FOR_COLUMN = 5


def resolve_lineitem(session_factory: SessionFactory, client: AgsClient, job: Job,
                     now: datetime) -> str:
    """The launch's line item; else the one found or created for the link (once, shared)."""
    if job.link_lineitem_url:
        return job.link_lineitem_url
    if not job.link_lineitems_url:
        raise no_grade_service(job.registration.platform)
    with session_factory() as session:
        known = session.get(LineItemLink, job.link_id)
        if known is not None and known.url:
            return known.url
        if known is None:
            session.add(LineItemLink(resource_link_id=job.link_id, updated_at=now))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
        # One worker looks for (or creates) the column; two would create two columns.
        claimed = len(session.scalars(update(LineItemLink).where(
            LineItemLink.resource_link_id == job.link_id, LineItemLink.url.is_(None),
            or_(LineItemLink.lease_until.is_(None), LineItemLink.lease_until <= now)).values(
            lease_until=now + timedelta(seconds=FIND_LEASE), updated_at=now)
            .returning(LineItemLink.resource_link_id)
            .execution_options(synchronize_session=False)).all()) == 1
        session.commit()
        if not claimed:
            url = session.scalar(select(LineItemLink.url).where(
                LineItemLink.resource_link_id == job.link_id))
            if url:
                return url
            raise transient("Another worker is finding the grade column for this activity; "
                            "the grade follows in a moment.", retry_after=WAIT_FOR_COLUMN)
    url = None
    try:
        if not client.scopes & {SCOPE_LINEITEM, SCOPE_LINEITEM_READ}:
            raise cannot_create_column(job.registration.platform)
        url = client.find_lineitem(job.link_lineitems_url, job.resource_link_id,
                                   job.spec.get("resourceId"))
        if url is None:
            if SCOPE_LINEITEM not in client.scopes:
                raise cannot_create_column(job.registration.platform)
            url = client.create_lineitem(job.link_lineitems_url, job.spec)
            log.info("created line item %s for link %s", url, job.link_id)
    finally:
        with session_factory() as session:
            session.execute(update(LineItemLink).where(
                LineItemLink.resource_link_id == job.link_id).values(
                url=url, lease_until=None, updated_at=now)
                .execution_options(synchronize_session=False))
            session.commit()
    return url
