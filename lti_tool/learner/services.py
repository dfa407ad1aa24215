"""Attempts at a module: start or resume, save answers step by step, submit and score.

Step numbering of the player: 0 is the confidence rating before the module, 1..N the
module's own steps, N+1 the rating after it. Functions flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..content import InvalidAnswer, Library, Module, ModuleNotFound
from ..models import Attempt, AttemptStatus, LtiUser, ResourceLink
from ..models.base import utcnow

COUNTING = ("best", "latest")


class NoAttemptsLeft(Exception):
    """The student has used every attempt the link allows."""


@dataclass(frozen=True)
class LinkSettings:
    """How a link's module is marked; defaults follow the module itself."""

    module_id: str | None
    max_attempts: int | None = None
    counting: str = "best"
    completion_credit: bool = False
    pass_mark: int | None = None
    # The grade's scoreMaximum chosen by the lecturer; None: the module's own maximum.
    max_points: float | None = None


def link_settings(link: ResourceLink) -> LinkSettings:
    """Settings from the lecturer's choices, falling back to the link's custom parameters."""
    custom = link.custom or {}
    chosen = link.settings or {}

    def pick(name: str) -> Any:
        return chosen.get(name, custom.get(name))

    attempts = _positive_int(pick("max_attempts"))
    counting = pick("counting") if pick("counting") in COUNTING else "best"
    completion = str(pick("reflection_marking") or "").lower() == "completion"
    pass_mark = _positive_int(pick("pass_mark"))
    module_id = link.module_id or (custom.get("module") or None)
    return LinkSettings(module_id=module_id, max_attempts=attempts, counting=counting,
                        completion_credit=completion,
                        pass_mark=pass_mark if pass_mark and pass_mark <= 100 else None,
                        max_points=_positive_number(pick("max_points")))


def _positive_number(value: Any) -> float | None:
    """A finite number > 0 from a setting or custom parameter string, else None."""
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < float("inf") else None


def _positive_int(value: Any) -> int | None:
    """An int > 0 from a setting or custom parameter string, else None."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def step_count(module: Module) -> int:
    """Steps in the player: confidence before, the module's steps, confidence after."""
    return len(module.steps) + 2


def attempts_for(session: Session, user: LtiUser, link: ResourceLink) -> list[Attempt]:
    """The user's attempts through a link, oldest first."""
    return list(session.scalars(select(Attempt).where(
        Attempt.user_id == user.id, Attempt.resource_link_id == link.id).order_by(Attempt.number)))


def start_or_resume(session: Session, library: Library, user: LtiUser,
                    link: ResourceLink) -> Attempt:
    """The attempt in progress, or a new one on the latest module version if any are left."""
    settings = link_settings(link)
    if settings.module_id is None:
        raise ModuleNotFound("this link has no module yet")
    attempts = attempts_for(session, user, link)
    for attempt in attempts:
        if attempt.status == AttemptStatus.IN_PROGRESS:
            return attempt
    if settings.max_attempts is not None and len(attempts) >= settings.max_attempts:
        raise NoAttemptsLeft(f"all {settings.max_attempts} attempt(s) used")
    module = library.get(settings.module_id)
    number = (session.scalar(select(func.max(Attempt.number)).where(
        Attempt.user_id == user.id, Attempt.resource_link_id == link.id)) or 0) + 1
    attempt = Attempt(user_id=user.id, resource_link_id=link.id, number=number,
                      module_id=module.id, module_version=module.version,
                      module_digest=module.digest, answers={}, position=0)
    session.add(attempt)
    session.flush()
    return attempt


def module_of(library: Library, attempt: Attempt) -> Module:
    """The exact module version the attempt is on."""
    return library.get(attempt.module_id, attempt.module_version)


def parse_answer(module: Module, index: int, form: Any, attempt: Attempt) -> tuple[str, Any]:
    """The (activity id, answer) a step's form carries; InvalidAnswer when it is unusable."""
    if index in (0, step_count(module) - 1):
        ratings = {}
        for statement in module.confidence.statements:
            raw = form.get(f"rating-{statement.id}")
            if raw is None or not str(raw).isdigit():
                raise InvalidAnswer("Rate every statement from 1 to 5.")
            ratings[statement.id] = int(raw)
        return module.confidence.id, module.confidence.check_answer(ratings)
    activity = _activity_at(module, index)
    if activity is None:
        raise InvalidAnswer("This step has nothing to answer.")
    kind = activity.type
    if kind == "single_choice":
        choice = form.get("choice")
        if not choice:
            raise InvalidAnswer("Choose an answer first.")
        return activity.id, activity.check_answer(choice)
    if kind == "multiple_response":
        chosen = form.getlist("choice") if hasattr(form, "getlist") else form.get("choice", [])
        if not chosen:
            raise InvalidAnswer("Choose at least one answer.")
        return activity.id, sorted(activity.check_answer(list(chosen)))
    if kind == "scenario":
        choice = form.get("choice")
        if not choice:
            raise InvalidAnswer("Choose what you would do.")
        path = list(attempt.answers.get(activity.id, {}).get("path", []))
        path.append(choice)
        activity.walk(path, complete=False)  # raises InvalidAnswer for a choice not offered here
        return activity.id, path
    if kind == "reflection":
        text = str(form.get("text") or "").strip()
        activity.check_answer(text)
        if not text:
            raise InvalidAnswer("Write your reflection first.")
        return activity.id, text
    raise InvalidAnswer(f"Unsupported activity type {kind}.")


def _activity_at(module: Module, index: int):
    """The activity at player step `index`, or None for a page."""
    if not 1 <= index <= len(module.steps):
        return None
    step = module.steps[index - 1]
    return step if hasattr(step, "score") else None


def save_answer(attempt: Attempt, module: Module, index: int, activity_id: str,
                answer: Any) -> None:
    """Store an answer on the attempt (a new dict so the JSON column sees the change)."""
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise InvalidAnswer("This attempt has been submitted; its answers can no longer change.")
    if index == 0:
        attempt.confidence_before = dict(answer)
    elif index == step_count(module) - 1:
        attempt.confidence_after = dict(answer)
    else:
        answers = dict(attempt.answers)
        if _activity_at(module, index).type == "scenario":
            activity = _activity_at(module, index)
            ended = activity.current_step(answer).end
            answers[activity_id] = {"path": list(answer), "complete": ended}
        else:
            answers[activity_id] = answer
        attempt.answers = answers
    attempt.updated_at = utcnow()


def answer_for(attempt: Attempt, module: Module, index: int) -> Any:
    """The saved answer at a step (scenario: the path so far), or None."""
    if index == 0:
        return attempt.confidence_before or None
    if index == step_count(module) - 1:
        return attempt.confidence_after or None
    activity = _activity_at(module, index)
    if activity is None:
        return None
    saved = attempt.answers.get(activity.id)
    if activity.type == "scenario":
        return saved.get("path") if isinstance(saved, dict) else None
    return saved


def is_answered(attempt: Attempt, module: Module, index: int) -> bool:
    """Whether a step needs nothing more from the student."""
    if index in (0, step_count(module) - 1):
        return bool(answer_for(attempt, module, index))
    activity = _activity_at(module, index)
    if activity is None:
        return True
    saved = attempt.answers.get(activity.id)
    if activity.type == "scenario":
        return isinstance(saved, dict) and bool(saved.get("complete"))
    return saved is not None


def scoring_answers(attempt: Attempt, module: Module) -> dict[str, Any]:
    """Answers in the engine's form: complete scenario paths only, confidence left out."""
    out: dict[str, Any] = {}
    for activity in module.activities:
        saved = attempt.answers.get(activity.id)
        if saved is None:
            continue
        if activity.type == "scenario":
            if isinstance(saved, dict) and saved.get("complete"):
                out[activity.id] = saved["path"]
        else:
            out[activity.id] = saved
    return out


def submit(attempt: Attempt, module: Module, settings: LinkSettings) -> Attempt:
    """Score the attempt on its own module version and close it."""
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return attempt
    rescore(attempt, module, settings)
    attempt.status = AttemptStatus.SUBMITTED
    attempt.submitted_at = utcnow()
    return attempt


def rescore(attempt: Attempt, module: Module, settings: LinkSettings) -> None:
    """Compute and store the score from the saved answers and any lecturer marks."""
    result = module.score(scoring_answers(attempt, module), marks=attempt.marks or None,
                          completion_credit=settings.completion_credit)
    attempt.points = float(result.points)
    attempt.max_points = float(result.max_points)
    attempt.percent = float(result.percent)
    pass_mark = settings.pass_mark or module.pass_mark
    attempt.passed = float(result.percent) >= pass_mark
    attempt.pending_manual = bool(result.pending_manual)
    attempt.element_points = {
        element: [float(score.points), float(score.max_points)]
        for element, score in result.by_element.items()}


def counted_attempt(attempts: list[Attempt], counting: str) -> Attempt | None:
    """The submitted attempt that counts for the grade: the best, or the latest."""
    done = [a for a in attempts if a.status == AttemptStatus.SUBMITTED]
    if not done:
        return None
    if counting == "latest":
        return max(done, key=lambda a: (a.submitted_at, a.number))
    return max(done, key=lambda a: (a.percent or 0, -a.number))
