"""Submission review (AGS): a lecturer clicks a grade in the VLE and sees that student's work.

The platform sends an ``LtiSubmissionReviewRequest`` for the link, with the student's platform
user id in the ``for_user`` claim. Staff land on the class view's drill-down of that student for
the link; anyone else (the student themselves) goes to their own result, as on any launch.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Launch, LtiUser
from .constants import Claim, MessageType


def is_review(launch: Launch) -> bool:
    """Whether the launch is a submission review."""
    return launch.message_type == MessageType.SUBMISSION_REVIEW.value


def reviewed_sub(launch: Launch) -> str | None:
    """The platform's user id of the student whose submission was asked for."""
    for_user = launch.claims.get(Claim.FOR_USER.value)
    user_id = for_user.get("user_id") if isinstance(for_user, dict) else None
    return user_id if isinstance(user_id, str) and user_id else None


def reviewed_user(session: Session, launch: Launch) -> LtiUser | None:
    """The student the review is about, if they have opened the tool under this registration."""
    sub = reviewed_sub(launch)
    if sub is None:
        return None
    return session.scalar(select(LtiUser).where(
        LtiUser.registration_id == launch.user.registration_id, LtiUser.sub == sub))
