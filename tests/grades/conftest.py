"""Fixtures for grade delivery: a recording grade service, a course with students, a worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from lti_tool.grades import Progress, deliver_pending, queue_score
from lti_tool.keys import Keyring
from lti_tool.models import (Attempt, AttemptStatus, Context, Deployment, GradeDelivery,
                             LtiUser, ResourceLink)
from lti_tool.models.base import utcnow
from lti_tool.registrations import add_platform

from .platform import OFFERED, AgsPlatform

ISSUER = "http://127.0.0.1:8080"
CLIENT_ID = "oVYI0OJl3BFrijK"
MODULE = "r4-online-safeguarding"


@pytest.fixture
def ags(app):
    """The recording grade service, trusting the test app's keys."""
    platform = AgsPlatform(CLIENT_ID, lambda: Keyring(app.config["KEYS_DIR"]).public_jwks())
    yield platform
    platform.close()


@dataclass
class Course:
    """A registered Moodle-like course with one graded link and a worker to deliver."""

    app: object
    db: object
    ags: AgsPlatform
    registration_id: int
    link: ResourceLink

    @property
    def factory(self):
        return self.app.extensions["lti_tool.sessionmaker"]

    def student(self, sub: str, name: str | None = None) -> LtiUser:
        user = LtiUser(registration_id=self.registration_id, sub=sub, name=name or f"S {sub}")
        self.db.add(user)
        self.db.commit()
        return user

    def attempt(self, user: LtiUser, percent: float | None = None, *, pending: bool = False,
                number: int | None = None, link: ResourceLink | None = None,
                session=None) -> Attempt:
        """An attempt: in progress when `percent` is None, else submitted with that score.

        `session`: another thread's own session (the test's is not thread-safe).
        """
        db = session or self.db
        link = link or self.link
        number = number or 1 + len(db.scalars(select(Attempt).where(
            Attempt.user_id == user.id, Attempt.resource_link_id == link.id)).all())
        attempt = Attempt(user_id=user.id, resource_link_id=link.id, number=number,
                          module_id=MODULE, module_version="1.0.0", answers={})
        if percent is not None:
            attempt.status = AttemptStatus.SUBMITTED
            attempt.percent = percent
            attempt.max_points = 14.0
            attempt.points = round(percent * 14 / 100, 2)
            attempt.pending_manual = pending
            attempt.submitted_at = utcnow()
        db.add(attempt)
        db.flush()
        return attempt

    def queue(self, attempt: Attempt, progress=Progress.SUBMITTED, now=None, session=None):
        """Queue a score and commit, as the player's request does."""
        db = session or self.db
        row = queue_score(db, attempt, None, progress, now=now)
        db.commit()
        return row

    def deliver(self, now: datetime | None = None, **kwargs):
        """One worker pass against the loopback platform."""
        with requests.Session() as http:
            return deliver_pending(self.factory, http, now or utcnow(),
                                   keyring=Keyring(self.app.config["KEYS_DIR"]), **kwargs)

    def later(self, seconds: float) -> datetime:
        return utcnow() + timedelta(seconds=seconds)

    def rows(self) -> list[GradeDelivery]:
        """Every outbox row, fresh from the database, oldest first."""
        self.db.expire_all()
        return list(self.db.scalars(select(GradeDelivery).order_by(GradeDelivery.id)))


def make_course(app, db, ags: AgsPlatform, *, lineitem: bool = True,
                scopes=tuple(sorted(OFFERED)), custom=None, link_id: str = "1") -> Course:
    """Register the platform and create a course with one link (like Moodle's activity 1)."""
    row = add_platform(db, issuer=ISSUER, client_id=CLIENT_ID,
                       auth_login_url=f"{ISSUER}/mod/lti/auth.php",
                       auth_token_url=ags.token_url, key_set_url=f"{ags.url}/certs",
                       name="Moodle", deployment_ids=("1",))
    db.flush()
    deployment = db.scalar(select(Deployment).where(Deployment.registration_id == row.id))
    context = Context(deployment_id=deployment.id, context_id="2", title="LTI Lab Course")
    db.add(context)
    db.flush()
    link = ResourceLink(context_id=context.id, resource_link_id=link_id,
                        title="Lab LTI Activity", custom=custom or {"module": MODULE},
                        ags_lineitems_url=ags.lineitems_url,
                        ags_lineitem_url=ags.add_lineitem(resourceLinkId=link_id)
                        if lineitem else None,
                        ags_scopes=list(scopes))
    db.add(link)
    db.commit()
    return Course(app, db, ags, row.id, link)


@pytest.fixture
def course(app, db, ags) -> Course:
    """A course whose link's launches named its line item (Moodle's usual case)."""
    return make_course(app, db, ags)
