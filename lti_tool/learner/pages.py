"""What the player's templates show: step titles, a step's form or feedback, what to revisit.

Presentation only: reads attempts and modules, changes nothing.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from flask import url_for
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..attempts import answers, lifecycle
from ..content import Activity, Library, Module, ModuleNotFound
from ..models import Attempt, Launch, ResourceLink


QUESTIONS = ("single_choice", "multiple_response")


class RevisitItem(TypedDict):
    """An item that lost marks, its step, and the page before it (position, title) if any."""

    title: str
    index: int
    elements: list[str]
    page: tuple[int, str] | None
    points: float
    max: float


class CourseModule(TypedDict):
    """One activity of the course on the profile page, and where the student stands in it."""

    title: str
    activity: str | None
    state: str
    percent: float | None
    url: str | None
    current: bool


def titles(module: Module) -> list[str]:
    """A short title per player step, for the progress list ('Question 2' when untitled)."""
    out, asked = ["Before you start: your confidence"], 0
    for item in module.steps:
        if getattr(item, "type", None) in QUESTIONS:
            asked += 1
        out.append(getattr(item, "title", None) or activity_title(item, asked))
    out.append("After the module: your confidence")
    return out


def activity_title(activity: Any, number: int | None = None) -> str:
    """A readable name for an untitled activity."""
    if activity.type in QUESTIONS:
        return f"Question {number}" if number else "Question"
    return {"scenario": "Case scenario", "reflection": "Reflection"}.get(activity.type, "Activity")


def answered_steps(module: Module, attempt: Attempt) -> set[int]:
    """Indexes of the steps the attempt has answered (pages count once reached)."""
    def page(i: int) -> bool:
        return not answers.is_rating(module, i) and answers.activity_at(module, i) is None
    return {i for i in range(answers.step_count(module))
            if answers.is_answered(attempt, module, i) and (i <= attempt.position or not page(i))}


_TABLE = re.compile(r"<table\b(.*?)</table>", re.S)
_CAPTION = re.compile(r"<caption[^>]*>(.*?)</caption>", re.S)


def scrolling_tables(html: str) -> str:
    """Each table of a page in its own focusable, labelled box that scrolls on a phone."""
    def wrap(match: re.Match[str]) -> str:
        caption = _CAPTION.search(match.group(0))
        label = re.sub(r"<[^>]+>", "", caption.group(1)).strip() if caption else ""
        return (f'<div class="table-scroll" role="region" tabindex="0" '
                f'aria-label="{escape(label or "Table")} (scrolls sideways)">{match.group(0)}</div>')
    return _TABLE.sub(wrap, html)


def step_view(module: Module, attempt: Attempt, index: int, launch_id: str,
              typed: str | None = None) -> dict[str, Any]:
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
        page = module.render_step(index - 1, asset)
        return {**page, "html": scrolling_tables(page["html"])} if "html" in page else page
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


def revisit(module: Module, attempt: Attempt) -> list[RevisitItem]:
    """Items that did not earn full marks, with their step and the page before them to reread."""
    result = module.score(answers.scoring_answers(attempt, module), marks=attempt.marks or None)
    names = titles(module)
    out: list[RevisitItem] = []
    last_page: tuple[int, str] | None = None
    for position, item in enumerate(module.steps, start=1):
        if not isinstance(item, Activity):
            last_page = (position, getattr(item, "title", "") or names[position])
            continue
        scored = result.by_activity.get(item.id)
        if scored is None or scored.pending_manual:
            continue
        if scored.points < scored.max_points:
            out.append({"title": names[position], "index": position,
                        "elements": list(item.elements), "page": last_page,
                        "points": float(scored.points), "max": float(scored.max_points)})
    return out


def element_title(dcs: Any, element: str) -> str:
    """'R4 Online safeguarding' from the framework data."""
    item = dcs.alignable.get(element) if dcs is not None else None
    title = item.title if item is not None else None
    return f"{element} {title}" if title else element


def course_modules(db: Session, library: Library, launch: Launch) -> list[CourseModule]:
    """The course's activities with a module, and where this student stands in each.

    A link opens the activity with this student's latest launch of it; an activity they never
    opened has no launch, so it is named for them to open from their course.
    """
    if launch.context_id is None:
        return []
    links = db.scalars(select(ResourceLink).where(ResourceLink.context_id == launch.context_id)
                       .order_by(ResourceLink.id)).all()
    out: list[CourseModule] = []
    for link in links:
        now = lifecycle.situation(db, launch.user, link)
        if now.phase == lifecycle.Phase.NOT_SET_UP:
            continue
        try:
            title = library.get(now.settings.module_id or "").title  # phase: it is set
        except ModuleNotFound:
            continue
        own = launch.id if link.id == launch.resource_link_id else db.scalar(
            select(Launch.id).where(Launch.user_id == launch.user_id,
                                    Launch.resource_link_id == link.id)
            .order_by(Launch.created_at.desc()).limit(1))
        counted = now.counted
        state = {lifecycle.Phase.SUBMITTED: "Done", lifecycle.Phase.IN_PROGRESS: "In progress"}.get(
            now.phase, "Not started")
        out.append({"title": title, "activity": link.title, "state": state,
                    "percent": counted.percent if counted is not None else None,
                    "url": url_for("learner.start", launch_id=own) if own else None,
                    "current": link.id == launch.resource_link_id})
    return out
