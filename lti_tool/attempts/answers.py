"""A student's answers inside an attempt: read from a step's form, saved, checked, scored.

Step numbering of the player: 0 is the confidence rating before the module, 1..N the
module's own steps, N+1 the rating after it. Functions flush nothing; the caller commits.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from sqlalchemy.orm import object_session

from ..content import Activity, InvalidAnswer, Library, Module, ModuleScore, word_count
from ..models import Attempt, AttemptElementScore, AttemptStatus
from ..models.base import utcnow
from ..progress import evidence_by_element
from .settings import LinkSettings


def step_count(module: Module) -> int:
    """Steps in the player: confidence before, the module's steps, confidence after."""
    return len(module.steps) + 2


def module_of(library: Library, attempt: Attempt) -> Module:
    """The exact module version the attempt is on."""
    return library.get(attempt.module_id, attempt.module_version)


def activity_at(module: Module, index: int) -> Activity | None:
    """The activity at player step `index`, or None for a page or a rating."""
    if not 1 <= index <= len(module.steps):
        return None
    step = module.steps[index - 1]
    return step if isinstance(step, Activity) else None


def is_rating(module: Module, index: int) -> bool:
    """Whether the step is the confidence rating before or after the module."""
    return index in (0, step_count(module) - 1)


def parse_answer(module: Module, index: int, form: Any, attempt: Attempt) -> tuple[str, Any]:
    """The (activity id, answer) a step's form carries; InvalidAnswer when it is unusable."""
    if is_rating(module, index):
        ratings = {}
        for statement in module.confidence.statements:
            raw = form.get(f"rating-{statement.id}")
            if raw is None or not str(raw).isdigit():
                raise InvalidAnswer("Rate every statement from 1 to 5.")
            ratings[statement.id] = int(raw)
        return module.confidence.id, module.confidence.check_answer(ratings)
    activity = activity_at(module, index)
    if activity is None:
        raise InvalidAnswer("This step has nothing to answer.")
    kind = activity.type
    if kind == "single_choice":
        choice = form.get("choice")
        if not choice:
            raise InvalidAnswer("Choose an answer first.")
        return activity.id, _checked(activity, choice)
    if kind == "multiple_response":
        chosen = form.getlist("choice") if hasattr(form, "getlist") else form.get("choice", [])
        if not chosen:
            raise InvalidAnswer("Choose at least one answer.")
        return activity.id, sorted(_checked(activity, list(chosen)))
    if kind == "scenario":
        return activity.id, _scenario_path(activity, form, attempt)
    if kind == "reflection":
        text = str(form.get("text") or "").strip()
        activity.check_answer(text)  # its own message, written for the student
        if not text:
            raise InvalidAnswer("Write your reflection first.")
        return activity.id, text
    raise InvalidAnswer(f"Unsupported activity type {kind}.")


def _checked(activity: Activity, answer: Any) -> Any:
    """The engine's check, with a message a student can act on."""
    try:
        return activity.check_answer(answer)
    except InvalidAnswer:
        raise InvalidAnswer("That option is not part of this question; choose one of those "
                            "shown.") from None


def _scenario_path(activity: Any, form: Any, attempt: Attempt) -> list[str]:
    """The path so far plus this choice; refused when the form was for an earlier point."""
    choice = form.get("choice")
    if not choice:
        raise InvalidAnswer("Choose what you would do.")
    saved = attempt.answers.get(activity.id, {})
    path = list(saved.get("path", [])) if isinstance(saved, dict) else []
    at = form.get("at")
    if at and at != activity.current_step(path).id:
        raise InvalidAnswer("You already made this decision in another window; the case has "
                            "moved on. Here is where it stands now.")
    path.append(choice)
    try:
        activity.walk(path, complete=False)
    except InvalidAnswer:
        raise InvalidAnswer("That choice is not offered at this point of the case; choose one "
                            "of those shown.") from None
    return path


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
        activity = activity_at(module, index)
        if activity is not None and activity.type == "scenario":
            ended = activity.current_step(answer).end  # type: ignore[attr-defined]
            answers[activity_id] = {"path": list(answer), "complete": ended}
        else:
            answers[activity_id] = answer
        attempt.answers = answers
    attempt.position = max(attempt.position, index)
    attempt.updated_at = utcnow()


def answer_for(attempt: Attempt, module: Module, index: int) -> Any:
    """The saved answer at a step (scenario: the path so far), or None."""
    if index == 0:
        return attempt.confidence_before or None
    if index == step_count(module) - 1:
        return attempt.confidence_after or None
    activity = activity_at(module, index)
    if activity is None:
        return None
    saved = attempt.answers.get(activity.id)
    if activity.type == "scenario":
        return saved.get("path") if isinstance(saved, dict) else None
    return saved


def is_answered(attempt: Attempt, module: Module, index: int) -> bool:
    """Whether a step needs nothing more from the student (a short reflection still does)."""
    if is_rating(module, index):
        return bool(answer_for(attempt, module, index))
    activity = activity_at(module, index)
    if activity is None:
        return True
    saved = attempt.answers.get(activity.id)
    if activity.type == "scenario":
        return isinstance(saved, dict) and bool(saved.get("complete"))
    if activity.type == "reflection":
        return isinstance(saved, str) and word_count(saved) >= activity.min_words  # type: ignore[attr-defined]
    return saved is not None


def open_steps(attempt: Attempt, module: Module, titles: list[str]) -> list[tuple[int, str, str]]:
    """Steps not finished yet: (index, title, what is missing), for the review page."""
    out = []
    for index in range(step_count(module)):
        if is_answered(attempt, module, index):
            continue
        activity = activity_at(module, index)
        saved = attempt.answers.get(activity.id) if activity is not None else None
        if activity is not None and activity.type == "reflection" and isinstance(saved, str):
            missing = activity.words_missing(saved)  # type: ignore[attr-defined]
            why = f"{missing} more word{'s' if missing != 1 else ''} needed"
        else:
            why = "not answered yet"
        out.append((index, titles[index], why))
    return out


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


def score_of(attempt: Attempt, module: Module, settings: LinkSettings) -> ModuleScore:
    """The attempt's score from its saved answers, any lecturer marks and its link's settings."""
    return module.score(scoring_answers(attempt, module), marks=attempt.marks or None,
                        completion_credit=settings.completion_credit)


def rescore(attempt: Attempt, module: Module, settings: LinkSettings) -> None:
    """Compute and store the score from the saved answers and any lecturer marks."""
    result = score_of(attempt, module, settings)
    attempt.points = float(result.points)
    attempt.max_points = float(result.max_points)
    attempt.percent = float(result.percent)
    pass_mark = settings.pass_mark or module.pass_mark
    attempt.passed = float(result.percent) + 1e-9 >= pass_mark
    attempt.pending_manual = bool(result.pending_manual)
    attempt.element_points = {
        element: [float(score.points), float(score.max_points)]
        for element, score in result.by_element.items()}
    store_element_scores(attempt, evidence_by_element(result))


def store_element_scores(attempt: Attempt, evidence: dict[str, tuple[float, float]]) -> None:
    """Bring the attempt's stored element figures in line with its new score.

    Rows are updated in place, added and removed, never deleted and inserted again: the flush
    writes the attempt (its version check) before them, so of two writers scoring one attempt
    at once the second fails on the version before touching a row.
    """
    session = object_session(attempt)
    # Loading the rows must not flush the caller's other changes early: a marker's comment
    # written before the attempt's own update would take its locks in the opposite order to
    # a second marker's, and PostgreSQL would find the two deadlocked.
    with session.no_autoflush if session is not None else nullcontext():
        rows = attempt.element_scores
    for element in [e for e in rows if e not in evidence]:
        del rows[element]
    for element, (earned, possible) in evidence.items():
        row = rows.get(element)
        if row is None:
            rows[element] = AttemptElementScore(element=element, earned=float(earned),
                                                possible=float(possible))
        elif (row.earned, row.possible) != (earned, possible):
            row.earned, row.possible = float(earned), float(possible)
