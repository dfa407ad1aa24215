"""What the class view shows: who is in the class, and each student's mastery, completion and grade.

A scope is one link (the activity the lecturer launched from) or the whole course. Mastery
comes from the progress service, fed the element points each submitted attempt stored when it
was scored on its own module version (lti_tool.attempts.profile.stored_mastery): the same
figures the student sees, with no re-scoring on a page view.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..attempts.profile import stored_attempts, stored_mastery, unmarked_answers
from ..attempts.settings import counted_attempt, link_settings
from ..content import Library, ModuleNotFound
from ..lti import roles as course_roles
from ..models import (
    Attempt,
    AttemptStatus,
    Context,
    Launch,
    LtiUser,
    Membership,
    ResourceLink,
    RosterMember,
)
from ..progress import DCS_FRAMEWORK, Mastery, percent_label
from . import gradebook

SCOPES = ("link", "course")
NOT_LISTED = "Not in the class list"


class OutOfScope(Exception):
    """The page asked for something outside the launch's course or link."""


def is_staff(roles: list[str]) -> bool:
    """Whether launch roles let someone see the class: the course's teaching roles only."""
    return course_roles.teaches(roles)


@dataclass(frozen=True)
class ClassScope:
    """The links a class view covers and the modules they deliver."""

    kind: str  # "link" or "course"
    context: Context
    links: tuple[ResourceLink, ...]
    module_ids: tuple[str, ...]
    counting: str

    @property
    def title(self) -> str:
        """'Online safeguarding' (the activity) or the course's title."""
        if self.kind == "link":
            link = self.links[0]
            return link.title or link.resource_link_id
        return self.context.title or self.context.label or self.context.context_id

    @property
    def link_ids(self) -> set[int]:
        """Database ids of the links."""
        return {link.id for link in self.links}


def class_scope(session: Session, launch: Launch, kind: str) -> ClassScope:
    """The scope of a class view for a launch; OutOfScope for a link view without a link."""
    if kind not in SCOPES or launch.context is None:
        raise OutOfScope("this launch has no course")
    if kind == "link":
        if launch.resource_link is None:
            raise OutOfScope("this launch has no activity link")
        links: tuple[ResourceLink, ...] = (launch.resource_link,)
        counting = link_settings(launch.resource_link).counting
    else:
        links = tuple(session.scalars(select(ResourceLink).where(
            ResourceLink.context_id == launch.context.id).order_by(ResourceLink.id)))
        # Links may count differently; across a course the best attempt per module counts.
        counting = "best"
    modules = [link_settings(link).module_id for link in links]
    return ClassScope(kind, launch.context, links,
                      tuple(dict.fromkeys(m for m in modules if m)), counting)


@dataclass(frozen=True)
class Cell:
    """One value of the heat map: a domain's or element's mastery, written out in full."""

    id: str
    title: str
    percent: float | None
    band: str | None
    pending: bool
    points: float = 0.0
    max_points: float = 0.0

    @property
    def text(self) -> str:
        """'Capable 62%' or 'No evidence': never only a colour."""
        if self.percent is None:
            return "No evidence"
        return f"{self.band} {percent_label(self.percent)}"

    @property
    def css(self) -> str:
        """The band as a class name, for the colour (an extra, never the only cue)."""
        return f"band-{(self.band or 'none').lower()}"


@dataclass(frozen=True)
class Columns:
    """The heat map's columns: DCS domains and elements as (id, title), in framework order."""

    domains: tuple[tuple[str, str], ...]
    elements: tuple[tuple[str, str], ...]


def columns(library: Library) -> Columns:
    """Domains and elements of the framework mastery is measured against."""
    framework = library.frameworks[DCS_FRAMEWORK]
    return Columns(tuple((d.id, d.title) for d in framework.domains),
                   tuple((e.id, e.title) for e in framework.elements))


def _cell(mastery: Mastery) -> Cell:
    """A heat-map cell from the progress service's mastery."""
    return Cell(mastery.id, mastery.title, mastery.percent, mastery.band,
                mastery.pending_manual, mastery.points, mastery.max_points)


@dataclass
class Student:
    """One row of the class view."""

    sub: str
    user: LtiUser | None
    name: str
    email: str | None
    status: str  # the platform's Active/Inactive, or NOT_LISTED
    attempts: list = field(default_factory=list)  # rows of attempts.profile.STORED_COLUMNS
    domains: tuple[Cell, ...] = ()
    elements: tuple[Cell, ...] = ()
    modules_done: int = 0
    modules_total: int = 0
    submitted: int = 0
    pending_marking: int = 0
    last_activity: datetime | None = None
    grade_status: str | None = None

    @property
    def launched(self) -> bool:
        """Whether the student has ever opened the tool in this course."""
        return self.user is not None

    @property
    def sort_key(self) -> tuple:
        """Family name, then the full name."""
        return (self.name.split()[-1].lower() if self.name.split() else "", self.name.lower(),
                self.sub)


def scope_attempts(session: Session, scope: ClassScope, user_id: int | None = None,
                   ) -> list[Attempt]:
    """Attempts through the scope's links (one user's, or everyone's), oldest first, with link
    and course loaded."""
    if not scope.links:
        return []
    query = select(Attempt).where(Attempt.resource_link_id.in_(scope.link_ids))
    if user_id is not None:
        query = query.where(Attempt.user_id == user_id)
    return list(session.scalars(
        query.options(joinedload(Attempt.resource_link).joinedload(ResourceLink.context))
        .order_by(Attempt.created_at, Attempt.id)).unique())


def class_students(session: Session, library: Library, scope: ClassScope,
                   roster: list[RosterMember]) -> list[Student]:
    """Everyone learning in the scope: the platform's class list plus anyone who launched as a
    student or made an attempt, with their mastery, completion, last activity and grade.

    A fixed number of queries whatever the class size; mastery comes from the figures each
    attempt stored when it was scored (lti_tool.attempts.profile.stored_mastery).
    """
    with paused_gc():
        return _class_students(session, library, scope, roster)


def _class_students(session: Session, library: Library, scope: ClassScope,
                    roster: list[RosterMember]) -> list[Student]:
    """class_students, with the collector paused."""
    memberships = list(session.scalars(select(Membership).where(
        Membership.context_id == scope.context.id).options(joinedload(Membership.user))))
    by_sub: dict[str, Student] = {}
    listed = {member.user_sub for member in roster}
    for member in roster:
        if member.status == "Deleted" or not _learner(member.roles):
            continue
        by_sub[member.user_sub] = Student(
            member.user_sub, None, _name(member.name, member.given_name, member.family_name,
                                         member.user_sub),
            member.email, member.status)
    launched: dict[int, Membership] = {}
    for membership in memberships:
        user = membership.user
        student = by_sub.get(user.sub)
        if student is None:
            # The platform's list, when it has the person, outranks their last launch's roles.
            if user.sub in listed or not _learner(membership.roles):
                continue
            student = by_sub[user.sub] = Student(
                user.sub, None, _name(user.name, user.given_name, user.family_name, user.sub),
                user.email, NOT_LISTED)
        student.user = user
        student.email = student.email or user.email
        launched[user.id] = membership
    attempts_by_user: dict[int, list] = {}
    rows = stored_attempts(session, scope.link_ids)
    for attempt in rows:
        attempts_by_user.setdefault(attempt.user_id, []).append(attempt)
    unmarked = unmarked_answers(session, library, scope.link_ids, rows)
    statuses = gradebook.delivery_statuses(session, scope.link_ids)
    for student in by_sub.values():
        _fill(library, scope, student, attempts_by_user, launched, unmarked, statuses)
    return sorted(by_sub.values(), key=lambda s: s.sort_key)


_gc_lock = threading.Lock()
_gc_pauses = [0, False]  # pauses under way; whether the collector was on before the first


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector while a class page builds tens of thousands of objects.

    Measured on a class of 1,000: half the page's CPU went to collections that found nothing
    (the objects live until the page is sent). Nothing is lost: cycles made meanwhile are
    collected at the next collection after the last pause ends. Safe across threads.
    """
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()


def _fill(library: Library, scope: ClassScope, student: Student,
          attempts_by_user: dict[int, list], launched: dict[int, Membership],
          unmarked: dict[int, tuple[frozenset[str], dict]],
          statuses: dict[tuple[int, int], str]) -> None:
    """Compute a student's mastery, completion, last activity and grade status."""
    attempts = attempts_by_user.get(student.user.id, []) if student.user else []
    student.attempts = attempts
    profile, used = stored_mastery(library, attempts, unmarked, counting=scope.counting)
    student.domains = tuple(_cell(d) for d in profile.domains)
    student.elements = tuple(_cell(e) for e in profile.elements)
    student.submitted = len(used)
    student.modules_total = len(scope.module_ids)
    student.modules_done = len({a.module_id for a in used} & set(scope.module_ids))
    student.pending_marking = sum(1 for a in used if a.pending_manual)
    times = [t for a in attempts for t in (a.updated_at, a.submitted_at) if t is not None]
    if student.user is not None and student.user.id in launched:
        times.append(launched[student.user.id].updated_at)
    student.last_activity = max(times, default=None)
    if student.user is not None:
        student.grade_status = _grade_status(scope, student.user, attempts, statuses)


def _grade_status(scope: ClassScope, user: LtiUser, attempts: list,
                  statuses: dict[tuple[int, int], str]) -> str | None:
    """Delivery status of the user's grade per link they submitted in, from lti_tool.grades."""
    submitted = {a.resource_link_id for a in attempts if a.status == AttemptStatus.SUBMITTED}
    parts = []
    for link in scope.links:
        if link.id not in submitted:
            continue
        status = statuses.get((user.id, link.id))
        if status is None:
            continue
        parts.append(status if scope.kind == "link" else
                     f"{link.title or link.resource_link_id}: {status}")
    return "; ".join(parts) or None


def _learner(roles: list[str]) -> bool:
    """A student: a learner course role and no staff or mentor role."""
    return course_roles.is_student(roles)


def _name(name: str | None, given: str | None, family: str | None, sub: str) -> str:
    """The best name the platform gave, or the user id when it shares no names."""
    return name or " ".join(p for p in (given, family) if p) or f"User {sub}"


# -- one student ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AttemptRow:
    """One attempt in the drill-down."""

    attempt: Attempt
    module_title: str
    link_title: str
    counted: bool


def attempt_rows(library: Library, attempts: list[Attempt]) -> list[AttemptRow]:
    """Attempts newest first, each saying whether it is the one that counts for its link."""
    by_link: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        by_link.setdefault(attempt.resource_link_id, []).append(attempt)
    counted = {}
    for link_attempts in by_link.values():
        settings = link_settings(link_attempts[0].resource_link)
        chosen = counted_attempt(link_attempts, settings.counting)
        if chosen is not None:
            counted[chosen.id] = True
    rows = []
    for attempt in sorted(attempts, key=lambda a: (a.created_at, a.id), reverse=True):
        link = attempt.resource_link
        rows.append(AttemptRow(attempt, _module_title(library, attempt),
                               link.title or link.resource_link_id, attempt.id in counted))
    return rows


def one_student(session: Session, library: Library, scope: ClassScope,
                user: LtiUser) -> Student:
    """One person's class-view row (mastery, completion, last activity), without the class."""
    rows = stored_attempts(session, scope.link_ids, user.id)
    student = Student(user.sub, user, _name(user.name, user.given_name, user.family_name,
                                            user.sub), user.email, "")
    _fill(library, scope, student, {user.id: rows}, {},
          unmarked_answers(session, library, scope.link_ids, rows), {})
    return student


def find_student(students: list[Student], user_id: int) -> Student | None:
    """The class-view row of a user who launched, or None if they are not in this class."""
    return next((s for s in students if s.user is not None and s.user.id == user_id), None)


def _module_title(library: Library, attempt: Attempt) -> str:
    """The title of the module version an attempt was on (its id if withdrawn)."""
    try:
        return library.get(attempt.module_id, attempt.module_version).title
    except ModuleNotFound:
        return attempt.module_id
