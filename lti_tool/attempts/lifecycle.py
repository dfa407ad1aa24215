"""The life of an attempt, enforced in one place.

    (no attempt) --start--> IN PROGRESS --submit--> SUBMITTED --try again--> IN PROGRESS ...

- Only an explicit POST starts an attempt (``start``); opening pages never does. Starting is
  idempotent: the open attempt is returned when there is one, and two tabs starting at once
  get the same attempt (the unique attempt number makes the second insert fail; the caller
  retries and finds the first).
- "Try again" needs a submitted latest attempt and an attempt left, and names the attempt the
  page showed: a stale tab cannot open a second new attempt.
- Answers and submits name the attempt their form was for; a form for an attempt that is no
  longer open is refused (``StaleAttempt``) with where things stand now.
- A submit of an attempt already submitted returns it (a double click changes nothing).

Every change raises the attempt's version, so two saves from the same old read cannot both
land: the second fails at flush (StaleDataError) and its request runs again on fresh data.
Functions flush; the caller commits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..content import Library, ModuleNotFound
from ..models import Attempt, AttemptStatus, LtiUser, ResourceLink
from ..models.base import utcnow
from .answers import module_of, rescore
from .settings import LinkSettings, counted_attempt, link_settings


class Phase(str, enum.Enum):
    """Where a student stands with a link."""

    NOT_SET_UP = "not_set_up"  # the link has no module yet
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"  # the latest attempt is submitted and none is open


class NoAttemptsLeft(Exception):
    """The student has used every attempt the link allows."""


class StaleAttempt(Exception):
    """A form was for an attempt that is no longer the open one."""

    def __init__(self, number: int | None, situation: Situation) -> None:
        super().__init__(f"form for attempt {number}; now {situation.phase.value}")
        self.number = number
        self.situation = situation


@dataclass(frozen=True)
class Situation:
    """A student's attempts through one link and what they may do next."""

    settings: LinkSettings
    attempts: tuple[Attempt, ...]  # oldest first

    @property
    def open(self) -> Attempt | None:
        """The attempt in progress, if any."""
        return next((a for a in self.attempts if a.status == AttemptStatus.IN_PROGRESS), None)

    @property
    def latest(self) -> Attempt | None:
        """The newest attempt, whatever its state."""
        return self.attempts[-1] if self.attempts else None

    @property
    def counted(self) -> Attempt | None:
        """The submitted attempt whose score is the grade."""
        return counted_attempt(list(self.attempts), self.settings.counting)

    @property
    def attempts_left(self) -> int | None:
        """How many more attempts may be started (None: no limit)."""
        if self.settings.max_attempts is None:
            return None
        return max(0, self.settings.max_attempts - len(self.attempts))

    @property
    def phase(self) -> Phase:
        """The state of the machine."""
        if self.settings.module_id is None:
            return Phase.NOT_SET_UP
        if self.open is not None:
            return Phase.IN_PROGRESS
        return Phase.SUBMITTED if self.attempts else Phase.NOT_STARTED

    @property
    def can_start(self) -> bool:
        """Whether a new attempt may be started now."""
        return self.phase in (Phase.NOT_STARTED, Phase.SUBMITTED) and self.attempts_left != 0

    def attempt(self, number: int) -> Attempt | None:
        """The attempt with this number."""
        return next((a for a in self.attempts if a.number == number), None)


def situation(session: Session, user: LtiUser, link: ResourceLink) -> Situation:
    """Read the student's attempts through the link."""
    attempts = session.scalars(_ATTEMPTS, {"user_id": user.id, "link_id": link.id})
    return Situation(link_settings(link), tuple(attempts))


# Built once: read on every page of the player, its cache key is computed once.
_ATTEMPTS = select(Attempt).where(
    Attempt.user_id == bindparam("user_id"), Attempt.resource_link_id == bindparam("link_id")
).order_by(Attempt.number)


def start(session: Session, library: Library, user: LtiUser, link: ResourceLink,
          after: int | None = None) -> Attempt:
    """Open an attempt on the latest module version, or return the one already open.

    ``after`` is the number of the latest attempt the student's page showed (0 on the start
    page; None from a form that predates it, which is not checked); a different latest attempt
    means the page was stale.
    """
    now = situation(session, user, link)
    if now.phase == Phase.NOT_SET_UP:
        raise ModuleNotFound("this link has no module yet")
    if now.open is not None:
        return now.open
    latest = now.latest.number if now.latest is not None else 0
    if after is not None and after != latest:
        raise StaleAttempt(after or None, now)
    if not now.can_start:
        raise NoAttemptsLeft(f"all {now.settings.max_attempts} attempt(s) used")
    module = library.get(now.settings.module_id or "")
    attempt = Attempt(user_id=user.id, resource_link_id=link.id, number=latest + 1,
                      module_id=module.id, module_version=module.version,
                      module_digest=module.digest, answers={}, position=0)
    session.add(attempt)
    session.flush()  # IntegrityError here: another tab started it first; retry finds it
    return attempt


def current(session: Session, user: LtiUser, link: ResourceLink,
            number: int | None) -> Attempt:
    """The open attempt a form was for; StaleAttempt when it is not open any more.

    ``number`` None (an old form without it) means whatever attempt is open.
    """
    now = situation(session, user, link)
    attempt = now.open
    if attempt is None or (number is not None and attempt.number != number):
        raise StaleAttempt(number, now)
    return attempt


def submit(session: Session, library: Library, user: LtiUser, link: ResourceLink,
           number: int | None) -> tuple[Attempt, bool]:
    """Score and close the attempt the form was for: (attempt, whether this call closed it).

    A second submit of the attempt just submitted returns it unchanged.
    """
    now = situation(session, user, link)
    if number is not None and now.open is None:
        done = now.attempt(number)
        if done is not None and done.status == AttemptStatus.SUBMITTED and done is now.latest:
            return done, False
    attempt = current(session, user, link, number)
    module = module_of(library, attempt)
    rescore(attempt, module, now.settings)
    attempt.status = AttemptStatus.SUBMITTED
    attempt.submitted_at = utcnow()
    attempt.updated_at = attempt.submitted_at
    session.flush()
    return attempt, True


def reach(session: Session, attempt: Attempt, index: int) -> bool:
    """Record that the student reached step ``index``: whether it was further than before.

    A plain conditional UPDATE that leaves the version alone: reading a page must not make a
    concurrent answer save start over, and the furthest step only ever grows.
    """
    result = session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.position < index,
                              Attempt.status == AttemptStatus.IN_PROGRESS)
        .values(position=index).execution_options(synchronize_session=False))
    if result.rowcount:  # type: ignore[attr-defined]
        set_committed_value(attempt, "position", index)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def link_usage(session: Session, link_id: int) -> tuple[int, int]:
    """(attempts, students) through a link: what changing its module would leave behind."""
    row = session.execute(select(func.count(Attempt.id), func.count(func.distinct(Attempt.user_id)))
                          .where(Attempt.resource_link_id == link_id)).one()
    return int(row[0]), int(row[1])
