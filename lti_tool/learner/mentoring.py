"""Mentors and observers: a read-only view of the students the platform says they mentor.

The platform names them in the launch's ``role_scope_mentor`` claim (their platform user ids,
our ``lti_user.sub``). A mentor sees those students' attempts and mastery across the course,
with the class view's own figures, and never anyone else's; they never get an attempt of their
own (lti_tool.lti.roles).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..classview import services as classview
from ..classview.services import AttemptRow, ClassScope, Student
from ..content import Library
from ..lti import roles
from ..lti.constants import Claim
from ..models import Launch, LtiUser


@dataclass(frozen=True)
class Mentees:
    """The students a mentor may watch: those who opened the tool, and how many have not."""

    known: list[LtiUser]
    not_yet: int


def mentee_subs(launch: Launch) -> list[str]:
    """The platform user ids a mentor's launch names; none for anyone but a mentor."""
    if not roles.is_mentor(launch.roles):
        return []
    subs = launch.claims.get(Claim.ROLE_SCOPE_MENTOR.value)
    return [s for s in subs if isinstance(s, str) and s] if isinstance(subs, list) else []


def mentees(session: Session, launch: Launch) -> Mentees:
    """The mentor's students as this registration knows them, by name."""
    subs = set(mentee_subs(launch))
    if not subs:
        return Mentees([], 0)
    users = list(session.scalars(select(LtiUser).where(
        LtiUser.registration_id == launch.user.registration_id, LtiUser.sub.in_(subs))))
    users.sort(key=lambda u: (u.display_name.lower(), u.sub))
    return Mentees(users, len(subs) - len(users))


def mentee(session: Session, launch: Launch, user_id: int) -> LtiUser | None:
    """The user, if the launch names them as one of the mentor's students; else None."""
    user = session.get(LtiUser, user_id)
    if user is None or user.registration_id != launch.user.registration_id:
        return None
    return user if user.sub in mentee_subs(launch) else None


def progress(session: Session, library: Library, launch: Launch,
             user: LtiUser) -> tuple[ClassScope, Student, list[AttemptRow]]:
    """(scope, class-view row, attempt rows) of one mentee across the launch's course."""
    scope = classview.class_scope(session, launch, "course")
    student = classview.one_student(session, library, scope, user)
    attempts = classview.scope_attempts(session, scope, user.id)
    return scope, student, classview.attempt_rows(library, attempts)
