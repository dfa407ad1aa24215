"""The class view's window on grade delivery (lti_tool.grades): status, re-sending after marking,
and the service-token cache shared by every process.

This module is the only place the class view touches the grades part, so a change of names
there is a change here alone. Imports are lazy: a grades problem breaks a cell, not the page.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Collection
from typing import Any, cast

import requests
from sqlalchemy import DateTime, String, case, func, null, select, true, type_coerce
from sqlalchemy.orm import Session

from ..attempts.settings import LinkSettings
from ..content import Module
from ..keys import Keyring
from ..lti.tokens import TokenError
from ..models import Attempt, AttemptStatus, Registration
from ..models.base import utcnow

log = logging.getLogger(__name__)


def _grades() -> Any:
    """The grades package, or None when it is not installed."""
    try:
        from .. import grades
    except ImportError:
        return None
    return grades


def delivery_status(session: Session, user_id: int, link_id: int) -> str | None:
    """One sentence on where the user's grade for a link stands, or None if nothing was sent."""
    grades = _grades()
    if grades is None:
        return None
    status = grades.delivery_status(session, user_id, link_id)
    return None if status is None else str(status.label)


class Sent(enum.Enum):
    """A grade the VLE has received, counted rather than described (the course view)."""

    GRADED = "graded"
    AWAITING_MARKING = "awaiting marking"  # sent as PendingManual: the gradebook shows no grade


def delivery_statuses(session: Session, link_ids: Collection[int],
                      user_ids: Collection[int] | None = None, *,
                      sent_in_words: bool = True) -> dict[tuple[int, int], str | Sent]:
    """Where each grade through the links stands, by (user id, link id): one query for the class
    (``user_ids``: only theirs).

    For each student and link they submitted an attempt in, the newest score queued (as
    grades.latest_delivery picks it), in the words grades.delivery_status uses. A grade queued
    when an attempt was only started is not one the class view reports. ``sent_in_words``
    False: a grade the VLE has received maps to a Sent and its other figures are not read (the
    course view counts those and describes only the rest).
    """
    grades = _grades()
    if grades is None or not link_ids:
        return {}
    from ..grades.outbox import status_label
    from ..grades.scores import newest_delivery
    from ..models.grades import DeliveryStatus, GradeDelivery

    pairs = select(Attempt.user_id, Attempt.resource_link_id).where(
        Attempt.resource_link_id.in_(link_ids), Attempt.status == AttemptStatus.SUBMITTED)
    if user_ids is not None:
        pairs = pairs.where(Attempt.user_id.in_(user_ids))
    submitted = pairs.distinct().subquery()
    postgres = session.get_bind().dialect.name == "postgresql"

    def utc_clock(column: Any) -> Any:
        """A time as naive UTC: PostgreSQL would answer in the session's TimeZone."""
        return type_coerce(func.timezone("UTC", column) if postgres else column, DateTime())

    # Columns in status_label's order, run as Core: no ORM loading, no object per row. The
    # status as its stored text and the times as UTC wall-clock (status_label compares the
    # text and formats the clock): through the enum and UTCDateTime, 13,000 rows took
    # 1.3x (SQLite) and 1.5x (PostgreSQL) as long.
    status, progress = type_coerce(GradeDelivery.status, String()), GradeDelivery.grading_progress
    figures: tuple[Any, ...] = (
        status, GradeDelivery.score_given, GradeDelivery.score_maximum, progress,
        GradeDelivery.attempts, utc_clock(GradeDelivery.delivered_at),
        utc_clock(GradeDelivery.next_attempt_at), GradeDelivery.last_error_explanation)
    if not sent_in_words:  # a NULL is no object to make, and most of a class's grades are sent
        sent = GradeDelivery.status == DeliveryStatus.DELIVERED
        figures = tuple(f if f is status or f is progress else case((sent, null()), else_=f)
                        for f in figures)
    # The newest score per student and link, looked up through the outbox's (user, link)
    # index, so the work follows the class's size, not the size of every course's outbox.
    # PostgreSQL is told so with LATERAL: as a correlated subquery in the join it may hash the
    # whole outbox instead (measured 145 against 65 ms, 30,000 other rows); SQLite has no
    # LATERAL and plans the correlated subquery as lookups.
    if postgres:
        newest = newest_delivery(submitted.c.user_id, submitted.c.resource_link_id,
                                 *figures).lateral()
        query = (select(submitted.c.user_id, submitted.c.resource_link_id, newest)
                 .select_from(submitted).join(newest, true()))
    else:
        newest_id = (newest_delivery(submitted.c.user_id, submitted.c.resource_link_id,
                                     GradeDelivery.id).correlate(submitted).scalar_subquery())
        query = select(GradeDelivery.user_id, GradeDelivery.resource_link_id, *figures).join(
            submitted, GradeDelivery.id == newest_id)
    rows = session.connection().execute(query).all()  # one psycopg call, not one per row
    out: dict[tuple[int, int], str | Sent] = {}
    for user_id, link_id, state, given, maximum, grading, *rest in rows:
        if sent_in_words or state != DeliveryStatus.DELIVERED:
            out[(user_id, link_id)] = status_label(state, given, maximum, grading, *rest)
        else:
            out[(user_id, link_id)] = (Sent.AWAITING_MARKING if grading == "PendingManual"
                                       else Sent.GRADED)
    return out


def after_marking(session: Session, attempt: Attempt, settings: LinkSettings,
                  module: Module) -> bool:
    """Queue the re-scored attempt's grade (FullyGraded once nothing waits); before the commit.

    False when no grade was queued (grades not installed, or the VLE already has this score).
    """
    grades = _grades()
    if grades is None:
        log.info("attempt %s marked; grades are not installed, nothing sent", attempt.id)
        return False
    return grades.requeue_after_marking(session, attempt, settings, module=module) is not None


def deliver_now(user_id: int) -> None:
    """Try to send the user's queued grades right away; after the commit (needs the app)."""
    if _grades() is None:
        return
    from ..grades.web import deliver_now as deliver

    try:
        deliver(user_id)
    except Exception:  # the outbox keeps the score; the worker sends it later
        log.exception("immediate grade delivery for user %s failed; left to the worker",
                      user_id)


class SharedTokenAuth:
    """NRPS tokens from the grades part's database cache, shared by every process.

    One token request per platform, scope set and token lifetime across web and worker
    processes; its DeliveryError becomes the TokenError the roster understands.
    """

    def __init__(self, cache: Any, info: Any, scope: str) -> None:
        self.cache, self.info, self.scopes = cache, info, frozenset({scope})

    def token(self) -> str:
        """A token for the scope, cached or fetched once for everyone."""
        from ..grades import DeliveryError

        try:
            return str(self.cache.get(self.info, self.scopes, utcnow()))
        except DeliveryError as exc:
            raise TokenError(exc.explanation, refused=exc.permanent, status=exc.status) from exc

    def forget(self, token: str) -> None:
        """Drop the refused token for every process."""
        self.cache.invalidate(self.info, self.scopes, token)


def shared_token_auth(registration: Registration, keyring: Keyring, session_factory: Any,
                      scope: str, *, timeout: float = 10) -> SharedTokenAuth | None:
    """Tokens through lti_tool.grades.tokens.DatabaseTokenCache, or None when it is absent."""
    try:
        from ..grades.tokens import DatabaseTokenCache, RegistrationInfo
    except ImportError:
        return None
    info = RegistrationInfo(id=registration.id, client_id=registration.client_id,
                            auth_token_url=registration.auth_token_url,
                            auth_audience=registration.auth_audience,
                            enabled=registration.enabled)
    # The requests module itself as the HTTP client (it has the session's post): nothing to
    # close after the page.
    cache = DatabaseTokenCache(session_factory, keyring, cast(requests.Session, requests),
                               timeout=timeout)
    return SharedTokenAuth(cache, info, scope)
