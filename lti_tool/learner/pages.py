"""What the player's templates show: step titles, a step's form or feedback, what to revisit.

Presentation only: reads attempts and modules, changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from ..attempts import answers
from ..content import Module
from ..models import Attempt


def titles(module: Module) -> list[str]:
    """A short title per player step, for the progress list."""
    out = ["Before you start: your confidence"]
    for item in module.steps:
        out.append(getattr(item, "title", None) or activity_title(item))
    out.append("After the module: your confidence")
    return out


def activity_title(activity: Any) -> str:
    """A readable name for an untitled activity."""
    return {"single_choice": "Question", "multiple_response": "Question",
            "scenario": "Case scenario", "reflection": "Reflection"}.get(activity.type, "Activity")


def step_view(module: Module, attempt: Attempt, index: int, launch_id: str,
              typed: str | None = None) -> dict:
    """The step's page, form or feedback, in the attempt's own option order.

    ``typed`` is a reflection the student just sent and we refused: it goes back in the box.
    """
    def asset(rel: str) -> str:
        return url_for("learner.asset", launch_id=launch_id, module_id=module.id,
                       version=module.version, path=rel)

    saved = answers.answer_for(attempt, module, index)
    if answers.is_rating(module, index):
        return {"kind": "confidence", "phase": "before" if index == 0 else "after",
                "data": module.confidence.render(asset), "saved": saved or {}}
    item = answers.activity_at(module, index)
    if item is None:
        return module.render_step(index - 1, asset)
    view: dict[str, Any] = {"kind": "activity", "type": item.type, "saved": saved}
    if item.type == "scenario":
        view["data"] = item.render(asset, state=saved or [], seed=attempt.seed)
        if answers.is_answered(attempt, module, index):
            view["feedback"] = item.feedback(saved, asset, seed=attempt.seed)
    else:
        view["data"] = item.render(asset, seed=attempt.seed)
        if saved is not None:
            view["feedback"] = item.feedback(saved, asset, seed=attempt.seed)
    if typed is not None:
        view["saved"] = typed
    return view


def revisit(module: Module, attempt: Attempt) -> list[dict]:
    """Items that did not earn full marks, with the page before them to reread."""
    result = module.score(answers.scoring_answers(attempt, module), marks=attempt.marks or None)
    out, last_page = [], None
    for position, item in enumerate(module.steps, start=1):
        if not hasattr(item, "score"):
            last_page = (position, getattr(item, "title", ""))
            continue
        scored = result.by_activity.get(item.id)
        if scored is None or scored.pending_manual:
            continue
        if scored.points < scored.max_points:
            out.append({"title": getattr(item, "title", None) or activity_title(item),
                        "elements": list(item.elements), "page": last_page,
                        "points": float(scored.points), "max": float(scored.max_points)})
    return out


def element_title(dcs: Any, element: str) -> str:
    """'R4 Online safeguarding' from the framework data."""
    item = dcs.alignable.get(element) if dcs is not None else None
    title = item.title if item is not None else None
    return f"{element} {title}" if title else element
