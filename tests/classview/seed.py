"""Seed a class through the tool's own services: students, submitted attempts, grades, marks.

Used by the statement-count tests and by benchmarks/classview.py. Every attempt goes through
the attempt lifecycle (start, answers saved step by step, submit), its score through the
grades outbox, and every second student's reflections through the marking service, so the
stored figures are exactly what the player and the marker would have written.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from lti_tool.attempts import lifecycle
from lti_tool.attempts.answers import module_of, save_answer, step_count
from lti_tool.classview.marking import MarkingForm, save_marks
from lti_tool.content import Library
from lti_tool.grades import Progress, queue_score
from lti_tool.models import Context, LtiUser, Membership, ResourceLink

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def answer_for(activity, n: int, i: int):
    """The best answer, except a wrong one every third question (varies by student)."""
    best = activity.best_answer()
    if activity.type in ("single_choice", "multiple_response") and (n + i) % 3 == 0:
        wrong = [o.id for o in activity.options if not o.correct]
        if wrong:
            return wrong[0] if activity.type == "single_choice" else sorted([wrong[0]])
    if activity.type == "reflection":
        return " ".join(["thinking"] * (activity.min_words + 3))
    return best


def take(session: Session, library: Library, user: LtiUser, link: ResourceLink, n: int,
         marker: LtiUser | None) -> None:
    """One attempt through the link, submitted, queued for the gradebook, maybe marked."""
    attempt = lifecycle.start(session, library, user, link)
    module = module_of(library, attempt)
    ratings = module.confidence.best_answer()
    save_answer(attempt, module, 0, module.confidence.id, ratings)
    for index, step in enumerate(module.steps, start=1):
        if hasattr(step, "score"):
            save_answer(attempt, module, index, step.id, answer_for(step, n, index))
    save_answer(attempt, module, step_count(module) - 1, module.confidence.id, ratings)
    attempt, _ = lifecycle.submit(session, library, user, link, attempt.number)
    queue_score(session, attempt, None, Progress.SUBMITTED, module=module)
    if marker is not None and attempt.pending_manual:
        reflections = [a for a in module.activities if a.type == "reflection"]
        marks = {r.id: {c.id: float(c.points) if (n + k) % 2 else 0.0
                        for k, c in enumerate(r.rubric)} for r in reflections}
        save_marks(session, attempt, module, MarkingForm(marks, {r.id: "" for r in reflections}),
                   marker)


def seed_students(session: Session, library: Library, context: Context,
                  links: list[ResourceLink], numbers: range, *, marker: LtiUser | None = None,
                  batch: int = 25) -> list[LtiUser]:
    """Students numbered ``numbers``, each taking every link's module once (committed)."""
    registration_id = context.deployment.registration_id
    users = []
    for n in numbers:
        user = LtiUser(registration_id=registration_id, sub=f"seed-{n}",
                       name=f"Student{n:05d} Seeded", email=f"seed{n}@example.ac.uk")
        session.add(user)
        session.flush()
        session.add(Membership(context_id=context.id, user_id=user.id, roles=[LEARNER]))
        for link in links:
            take(session, library, user, link, n, marker if n % 2 else None)
        users.append(user)
        if len(users) % batch == 0:
            session.commit()
    session.commit()
    return users
