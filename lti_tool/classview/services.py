"""What the class view shows: who is in the class, and each student's mastery, completion and grade.

A scope is one link (the activity the lecturer launched from) or the whole course. Mastery is
summed by the database from the element points each submitted attempt stored when it was
scored on its own module version (lti_tool.attempts.profile.mastery_totals): the same figures
the student sees, with no re-scoring and no answers read on a page view.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session, joinedload

from ..attempts.profile import domain_totals, mastery_totals, plan_of, scope_versions
from ..attempts.settings import counted_attempt, link_settings
from ..attempts.totals import stored_domain_totals, stored_totals
from ..content import Library, Module, ModuleNotFound
from ..lti import roles as course_roles
from ..models import (
    Attempt,
    Context,
    Launch,
    LtiUser,
    Membership,
    ResourceLink,
    RosterMember,
)
from . import gradebook
from .figures import Figures, student_figures
from .students import (
    FILTERS,
    SORTS,
    Cell,
    Columns,
    Student,
    Summary,
    class_summary,
    columns,
    shown_students,
)

__all__ = ["FILTERS", "NOT_LISTED", "SCOPES", "SORTS", "AttemptRow", "Cell", "ClassScope",
           "Columns", "OutOfScope", "Student", "Summary", "add_details", "attempt_rows",
           "class_scope", "class_students", "class_summary", "columns", "glance",
           "is_staff", "one_student", "paused_gc", "scope_attempts", "shown_students", "summary"]

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
    # The module versions attempted in the scope, read once per page (services._versions).
    versions: dict[tuple[str, str], Module | None] = field(
        default_factory=dict, compare=False, hash=False, repr=False)

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


def glance(session: Session, scope: ClassScope) -> tuple[int, int]:
    """(students who started, students who submitted) in the scope: one counting query."""
    if not scope.links:
        return 0, 0
    row = session.execute(select(
        func.count(distinct(Attempt.user_id)),
        func.count(distinct(case((Attempt.submitted_at.is_not(None), Attempt.user_id)))))
        .where(Attempt.resource_link_id.in_(scope.link_ids))).one()
    return int(row[0]), int(row[1])


def class_students(session: Session, library: Library, scope: ClassScope,
                   roster: Sequence[RosterMember], user_id: int | None = None, *,
                   standing: bool = True) -> list[Student]:
    """Everyone learning in the scope: the platform's class list plus anyone who launched as a
    student or made an attempt, with their completion, standing, last activity and mastery
    totals, sorted by family name (``user_id``: only that person, if they are in the class;
    ``standing`` False: without where they stand against the pass marks, as the CSV needs).

    A fixed number of queries whatever the class size, each returning numbers the database
    summed; mastery and grade statuses are added for the rows shown (``add_details``).
    """
    with paused_gc():
        return _class_students(session, library, scope, roster, user_id, standing)


def _class_students(session: Session, library: Library, scope: ClassScope,
                    roster: Sequence[RosterMember], user_id: int | None,
                    standing: bool) -> list[Student]:
    """class_students, with the collector paused."""
    by_sub: dict[str, Student] = {}
    listed = {member.user_sub for member in roster}
    for member in roster:
        if member.status == "Deleted" or not _learner(member.roles):
            continue
        by_sub[member.user_sub] = Student(
            member.user_sub, None, _name(member.name, member.given_name, member.family_name,
                                         member.user_sub),
            member.email, member.status)
    launched: dict[int, datetime] = {}
    for row in session.connection().execute(  # Core: columns, no ORM loading
            select(LtiUser.id, LtiUser.sub, LtiUser.name, LtiUser.given_name,
                   LtiUser.family_name, LtiUser.email, Membership.roles, Membership.updated_at)
            .join(Membership, Membership.user_id == LtiUser.id)
            .where(Membership.context_id == scope.context.id)):
        student = by_sub.get(row.sub)
        if student is None:
            # The platform's list, when it has the person, outranks their last launch's roles.
            if row.sub in listed or not _learner(row.roles):
                continue
            student = by_sub[row.sub] = Student(
                row.sub, None, _name(row.name, row.given_name, row.family_name, row.sub),
                row.email, NOT_LISTED)
        student.user_id = row.id
        student.email = student.email or row.email
        launched[row.id] = row.updated_at
    students = [s for s in by_sub.values() if user_id is None or s.user_id == user_id]
    figures = student_figures(session, scope.links, scope.module_ids, scope.counting,
                              _versions(session, library, scope),
                              None if user_id is None else [user_id], standing=standing)
    plan = plan_of(library)
    for student in students:
        student.plan = plan
        student.modules_total = len(scope.module_ids)
        student.links_total = len(scope.links)
        if student.user_id is None:
            continue
        student.figures = figures.get(student.user_id, Figures())
        times = [t for t in (student.figures.last_activity, launched.get(student.user_id))
                 if t is not None]
        student.last_activity = max(times, default=None)
    return sorted(students, key=lambda s: s.sort_key)


def add_details(session: Session, library: Library, scope: ClassScope,
                students: Sequence[Student], everyone: bool = False,
                every_grade: bool = False) -> None:
    """Mastery and where the grades stand, for the rows shown (two queries for the rows
    given; ``everyone``: they are the whole class, so no list of ids is sent).

    In a course, a row counts the grades the VLE has received and describes the others, the
    ones a lecturer may need to act on; ``every_grade`` describes each (one student's page).
    """
    ids = [s.user_id for s in students if s.user_id is not None]
    if not ids:
        return
    chosen = None if everyone else ids
    totals = (stored_totals(session, scope.context.id, chosen)
              if _stored(session, library, scope) else
              mastery_totals(session, scope.link_ids, scope.counting,
                             _versions(session, library, scope), chosen))
    in_words = every_grade or scope.kind == "link"
    statuses = gradebook.delivery_statuses(session, scope.link_ids, chosen,
                                           sent_in_words=in_words)
    for student in students:
        if student.user_id is not None:
            student.totals = totals.get(student.user_id, {})
            student.grades = _grade_texts(scope, student.user_id, statuses, in_words)


def summary(session: Session, library: Library, scope: ClassScope,
            students: Sequence[Student]) -> Summary:
    """The class summary row over everyone: counts from their figures, each domain's mean
    from one query of domain totals."""
    plan = plan_of(library)
    totals = (stored_domain_totals(session, plan, scope.context.id)
              if _stored(session, library, scope) else
              domain_totals(session, plan, scope.link_ids, scope.counting,
                            _versions(session, library, scope)))
    return class_summary(students, totals)


def _stored(session: Session, library: Library, scope: ClassScope) -> bool:
    """Whether the stored course totals (attempts.totals) are the scope's figures: a whole
    course, counting the best attempt, every module version attempted in it installed (a
    withdrawn version's attempts drop out of the figures, which the stored sums include)."""
    return (scope.kind == "course" and scope.counting == "best"
            and all(module is not None for module in _versions(session, library, scope).values()))


def _versions(session: Session, library: Library,
              scope: ClassScope) -> dict[tuple[str, str], Module | None]:
    """The module versions attempted in the scope and whether each is installed: one small
    query per page (a scope lives for one request), so every figure on it uses the same set."""
    if not scope.versions:
        scope.versions.update(scope_versions(session, library, scope.link_ids))
    return scope.versions


_gc_lock = threading.Lock()
_gc_pauses: list[int | bool] = [0, False]  # pauses under way; whether the collector was on


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


def _grade_texts(scope: ClassScope, user_id: int,
                 statuses: Mapping[tuple[int, int], str | gradebook.Sent],
                 in_words: bool) -> list[str]:
    """Where the user's grade stands per link they submitted in, from lti_tool.grades: each in
    words, or (``in_words`` False) 'n of m grades sent to the gradebook' and the others in
    words."""
    sent = awaiting = 0
    parts = []
    for link in scope.links:
        status = statuses.get((user_id, link.id))
        if status is None:
            continue
        if isinstance(status, gradebook.Sent):
            sent += 1
            awaiting += status is gradebook.Sent.AWAITING_MARKING
        else:
            parts.append(status if scope.kind == "link" else
                         f"{link.title or link.resource_link_id}: {status}")
    if not in_words and (sent or parts):
        # Moodle shows a grade sent as awaiting marking as "-" until it is marked.
        marking = f" ({awaiting} awaiting marking)" if awaiting else ""
        parts.insert(0, f"{sent} of {sent + len(parts)} grades sent to the gradebook{marking}")
    return parts


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
    student = Student(user.sub, user.id, _name(user.name, user.given_name, user.family_name,
                                               user.sub), user.email, "")
    versions = _versions(session, library, scope)
    student.figures = student_figures(session, scope.links, scope.module_ids, scope.counting,
                                      versions, [user.id]).get(user.id, Figures())
    student.totals = mastery_totals(session, scope.link_ids, scope.counting, versions,
                                    [user.id]).get(user.id, {})
    student.plan = plan_of(library)
    student.modules_total, student.links_total = len(scope.module_ids), len(scope.links)
    student.last_activity = student.figures.last_activity
    return student


def _module_title(library: Library, attempt: Attempt) -> str:
    """The title of the module version an attempt was on (its id if withdrawn)."""
    try:
        return library.get(attempt.module_id, attempt.module_version).title
    except ModuleNotFound:
        return attempt.module_id
