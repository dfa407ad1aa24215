"""What a launch's roles allow in the course: the one rule every area asks.

Rights come only from context (course membership) roles. An institution or system
Administrator who is a Learner in this course is a learner here; with no context role at all
they are treated as a student would be (the platform did not say they teach the course).
Mentors (Canvas observers, parents, placement supervisors) only watch: they get a read-only
notice, never a graded attempt. Precedence: staff, then mentor, then learner.
"""

from __future__ import annotations

import enum
import typing as t

from .constants import Role, roles_of

# Who teaches the course: may pick modules, see the class, mark, read students' reflections.
TEACHING = frozenset({Role.ADMINISTRATOR, Role.INSTRUCTOR, Role.TEACHING_ASSISTANT})
# Who may choose content for a link (the picker) or try a module ungraded.
STAFF = TEACHING | {Role.CONTENT_DEVELOPER}


class Standing(str, enum.Enum):
    """Where someone stands in a course, as far as this tool is concerned."""

    STAFF = "staff"
    MENTOR = "mentor"
    LEARNER = "learner"
    NO_ROLE = "no_role"  # no context role at all: a student's view, graded as one


def standing(roles: t.Iterable[str]) -> Standing:
    """The standing that a list of role URIs or short names gives in the course."""
    found = roles_of(list(roles))
    if found & STAFF:
        return Standing.STAFF
    if Role.MENTOR in found:
        return Standing.MENTOR
    if Role.LEARNER in found:
        return Standing.LEARNER
    return Standing.NO_ROLE


def is_staff(roles: t.Iterable[str]) -> bool:
    """May choose modules for a link (instructors, TAs, content developers, course admins)."""
    return standing(roles) == Standing.STAFF


def teaches(roles: t.Iterable[str]) -> bool:
    """May see the class, the marking queue and each student's work."""
    return bool(roles_of(list(roles)) & TEACHING)


def is_mentor(roles: t.Iterable[str]) -> bool:
    """Watches a learner: a read-only notice, no attempt of their own."""
    return standing(roles) == Standing.MENTOR


def graded(roles: t.Iterable[str]) -> bool:
    """Whether an attempt's score goes to the platform's gradebook."""
    return standing(roles) in (Standing.LEARNER, Standing.NO_ROLE)


def is_student(roles: t.Iterable[str]) -> bool:
    """Belongs in the class list: a learner context role and nothing more."""
    return standing(roles) == Standing.LEARNER
