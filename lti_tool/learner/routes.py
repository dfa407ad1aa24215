"""Route table of the module player: resume, steps, submit, summary, choose, assets."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, send_file, url_for

from .. import grades
from ..content import InvalidAnswer, ModuleNotFound
from ..db import get_session
from ..grades.web import deliver_now
from ..library import get_library
from ..lti.constants import Role, primary_role, roles_of
from ..lti.routes import current_launch
from ..models import Attempt, AttemptStatus
from . import bp
from . import services as attempts

log = logging.getLogger(__name__)
STAFF = {Role.INSTRUCTOR, Role.TEACHING_ASSISTANT, Role.ADMINISTRATOR, Role.CONTENT_DEVELOPER}


def _link(launch):
    """The resource link of the launch, or a 404 for launches without one."""
    if launch.resource_link is None:
        abort(404, "This page belongs to an activity link; open it from your course.")
    return launch.resource_link


@bp.get("/")
def start(launch_id: str):
    """Resume the attempt in progress (or start one) at the step where the student left off."""
    launch = current_launch(launch_id)
    link = _link(launch)
    settings = attempts.link_settings(link)
    if settings.module_id is None:
        staff = primary_role(roles_of(launch.roles)) in STAFF
        return redirect(url_for("instructor.pick", launch_id=launch_id)) if staff else \
            render_template("learner/not_set_up.html", launch=launch), 200
    db = get_session()
    try:
        attempt = attempts.start_or_resume(db, get_library(), launch.user, link)
    except attempts.NoAttemptsLeft:
        done = attempts.attempts_for(db, launch.user, link)
        return redirect(url_for("learner.summary", launch_id=launch_id,
                                number=done[-1].number))
    except ModuleNotFound:
        log.warning("link %s names unknown module %r", link.id, settings.module_id)
        return render_template("learner/not_set_up.html", launch=launch,
                               unknown=settings.module_id), 404
    grades.record_progress(db, get_library(), launch, attempt, grades.Progress.STARTED)
    db.commit()
    return redirect(url_for("learner.step", launch_id=launch_id, index=attempt.position))


def _open_attempt(launch):
    """The attempt in progress for this launch's user and link, or back to the start."""
    link = _link(launch)
    for attempt in attempts.attempts_for(get_session(), launch.user, link):
        if attempt.status == AttemptStatus.IN_PROGRESS:
            return attempt
    return None


@bp.route("/step/<int:index>", methods=["GET", "POST"])
def step(launch_id: str, index: int):
    """Show one step; on POST save its answer, then show feedback or move on."""
    launch = current_launch(launch_id)
    attempt = _open_attempt(launch)
    if attempt is None:
        return redirect(url_for("learner.start", launch_id=launch_id))
    library = get_library()
    module = attempts.module_of(library, attempt)
    total = attempts.step_count(module)
    if not 0 <= index < total:
        abort(404, "There is no such step in this module.")
    db = get_session()
    error = None
    if request.method == "POST":
        try:
            activity_id, answer = attempts.parse_answer(module, index, request.form, attempt)
            attempts.save_answer(attempt, module, index, activity_id, answer)
        except InvalidAnswer as exc:
            error = str(exc) if str(exc)[:1].isupper() else "That answer could not be saved."
            log.info("answer refused on attempt %s step %s: %s", attempt.id, index, exc)
        else:
            attempt.position = max(attempt.position, index)
            grades.record_progress(db, library, launch, attempt, grades.Progress.IN_PROGRESS)
            db.commit()
            if attempts.is_answered(attempt, module, index) and _no_feedback(module, index):
                return redirect(_next_url(launch_id, index, total))
            return redirect(url_for("learner.step", launch_id=launch_id, index=index))
    else:
        attempt.position = index
        db.commit()
    view = _step_view(library, module, attempt, index)
    return render_template("learner/step.html", launch=launch, module=module, attempt=attempt,
                           index=index, total=total, view=view, error=error,
                           answered=attempts.is_answered(attempt, module, index),
                           next_url=_next_url(launch_id, index, total),
                           prev_url=url_for("learner.step", launch_id=launch_id,
                                            index=index - 1) if index else None,
                           step_titles=_titles(module)), 400 if error else 200


def _no_feedback(module, index: int) -> bool:
    """Confidence ratings move straight on; activities stay to show their feedback."""
    return index in (0, attempts.step_count(module) - 1)


def _next_url(launch_id: str, index: int, total: int) -> str:
    """Where the Next button goes: the following step, or the review before submitting."""
    if index + 1 < total:
        return url_for("learner.step", launch_id=launch_id, index=index + 1)
    return url_for("learner.review", launch_id=launch_id)


def _titles(module) -> list[str]:
    """A short title per player step, for the progress list."""
    titles = ["Before you start: your confidence"]
    for item in module.steps:
        titles.append(getattr(item, "title", None) or _activity_title(item))
    titles.append("After the module: your confidence")
    return titles


def _activity_title(activity) -> str:
    """A readable name for an untitled activity."""
    return {"single_choice": "Question", "multiple_response": "Question",
            "scenario": "Case scenario", "reflection": "Reflection"}.get(activity.type, "Activity")


def _step_view(library, module, attempt, index: int) -> dict:
    """What the step template shows: the page, the activity form or its feedback."""
    asset = lambda rel: url_for("learner.asset", launch_id=request.view_args["launch_id"],  # noqa: E731
                                module_id=module.id, version=module.version, path=rel)
    saved = attempts.answer_for(attempt, module, index)
    if index in (0, attempts.step_count(module) - 1):
        return {"kind": "confidence", "phase": "before" if index == 0 else "after",
                "data": module.confidence.render(asset), "saved": saved or {}}
    item = module.steps[index - 1]
    if not hasattr(item, "score"):
        return module.render_step(index - 1, asset)
    view = {"kind": "activity", "type": item.type, "saved": saved}
    if item.type == "scenario":
        view["data"] = item.render(asset, state=saved or [])
        if attempts.is_answered(attempt, module, index):
            view["feedback"] = item.feedback(saved, asset)
    else:
        view["data"] = item.render(asset)
        if saved is not None:
            view["feedback"] = item.feedback(saved, asset)
    return view


@bp.get("/review")
def review(launch_id: str):
    """Before submitting: what is done and what is still open."""
    launch = current_launch(launch_id)
    attempt = _open_attempt(launch)
    if attempt is None:
        return redirect(url_for("learner.start", launch_id=launch_id))
    module = attempts.module_of(get_library(), attempt)
    titles = _titles(module)
    open_steps = [(i, titles[i]) for i in range(attempts.step_count(module))
                  if not attempts.is_answered(attempt, module, i)]
    return render_template("learner/review.html", launch=launch, module=module,
                           attempt=attempt, open_steps=open_steps)


@bp.post("/submit")
def submit(launch_id: str):
    """Submit the attempt: score it on its own module version."""
    launch = current_launch(launch_id)
    attempt = _open_attempt(launch)
    if attempt is None:
        return redirect(url_for("learner.start", launch_id=launch_id))
    module = attempts.module_of(get_library(), attempt)
    attempts.submit(attempt, module, attempts.link_settings(launch.resource_link))
    # The score goes into the outbox in the same transaction as the submitted attempt...
    grades.record_progress(get_session(), get_library(), launch, attempt,
                           grades.Progress.SUBMITTED)
    get_session().commit()
    # ...and, where the VLE answers quickly, reaches its gradebook before this page does.
    deliver_now(launch.user_id)
    return redirect(url_for("learner.summary", launch_id=launch_id, number=attempt.number))


@bp.get("/attempts/<int:number>")
def summary(launch_id: str, number: int):
    """The result of a submitted attempt: score, each element, what to revisit."""
    launch = current_launch(launch_id)
    link = _link(launch)
    db = get_session()
    all_attempts = attempts.attempts_for(db, launch.user, link)
    attempt = next((a for a in all_attempts if a.number == number), None)
    if attempt is None or attempt.status != AttemptStatus.SUBMITTED:
        abort(404, "That attempt has not been submitted.")
    library = get_library()
    module = attempts.module_of(library, attempt)
    settings = attempts.link_settings(link)
    counted = attempts.counted_attempt(all_attempts, settings.counting)
    left = None if settings.max_attempts is None else settings.max_attempts - len(all_attempts)
    revisit = _revisit(module, attempt)
    dcs = library.frameworks.get("dcs-2020")
    return render_template("learner/summary.html", launch=launch, module=module,
                           attempt=attempt, counted=counted, settings=settings,
                           attempts_left=left, revisit=revisit,
                           element_title=lambda e: _element_title(dcs, e),
                           pass_mark=settings.pass_mark or module.pass_mark)


def _element_title(dcs, element: str) -> str:
    """'R4 Online safeguarding' from the framework data."""
    item = dcs.alignable.get(element) if dcs is not None else None
    title = item.title if item is not None else None
    return f"{element} {title}" if title else element


def _revisit(module, attempt: Attempt) -> list[dict]:
    """Items that did not earn full marks, with the page before them to reread."""
    result = module.score(attempts.scoring_answers(attempt, module), marks=attempt.marks or None)
    revisit, last_page = [], None
    for position, item in enumerate(module.steps, start=1):
        if not hasattr(item, "score"):
            last_page = (position, getattr(item, "title", ""))
            continue
        scored = result.by_activity.get(item.id)
        if scored is None or scored.pending_manual:
            continue
        if scored.points < scored.max_points:
            revisit.append({"title": getattr(item, "title", None) or _activity_title(item),
                            "elements": list(item.elements), "page": last_page,
                            "points": float(scored.points), "max": float(scored.max_points)})
    return revisit


@bp.post("/retry")
def retry(launch_id: str):
    """Start a new attempt when the link allows another."""
    launch = current_launch(launch_id)
    db = get_session()
    try:
        attempt = attempts.start_or_resume(db, get_library(), launch.user, _link(launch))
    except attempts.NoAttemptsLeft:
        flash("You have used every attempt this activity allows.")
        return redirect(url_for("learner.start", launch_id=launch_id))
    grades.record_progress(db, get_library(), launch, attempt, grades.Progress.STARTED)
    db.commit()
    return redirect(url_for("learner.step", launch_id=launch_id, index=attempt.position))


@bp.get("/choose")
def choose(launch_id: str):
    """The old address of the module chooser: the lecturer's picker does this now."""
    return redirect(url_for("instructor.pick", launch_id=launch_id))


@bp.get("/assets/<module_id>/<version>/<path:path>")
def asset(launch_id: str, module_id: str, version: str, path: str):
    """An image from a module package; SVGs cannot run scripts on our origin."""
    current_launch(launch_id)
    try:
        module = get_library().get(module_id, version)
    except ModuleNotFound:
        abort(404)
    file = module.asset_path(path)
    if file is None:
        abort(404)
    response = send_file(file)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/profile")
def profile(launch_id: str):
    """My capability profile: mastery per domain and element, confidence, next steps."""
    from ..progress import (band_descriptions, chart_title, profile_chart_svg,
                            profile_table_rows, thresholds_sentence)
    from .profile import build_profile

    launch = current_launch(launch_id)
    course = request.args.get("course") or None
    built, used = build_profile(get_session(), get_library(), launch.user,
                                launch.deployment_id, course=course)
    views = [(by, chart_title(built, by), profile_chart_svg(built, by=by),
              profile_table_rows(built, by=by)) for by in ("domain", "element")]
    courses = {a.resource_link.context.context_id: (a.resource_link.context.title
                                                    or a.resource_link.context.label)
               for a in used}
    return render_template("learner/profile.html", launch=launch, profile=built, views=views,
                           thresholds=thresholds_sentence(), bands=band_descriptions(),
                           courses=courses, course=course)


@bp.get("/evidence")
def evidence(launch_id: str):
    """A printable evidence record for a PCF portfolio: modules, dates, scores, reflections."""
    from .profile import build_profile

    launch = current_launch(launch_id)
    library = get_library()
    built, used = build_profile(get_session(), library, launch.user, launch.deployment_id)
    rows = []
    for attempt in used:
        module = library.get(attempt.module_id, attempt.module_version)
        reflections = [(a.prompt, attempt.answers.get(a.id)) for a in module.activities
                       if a.type == "reflection" and attempt.answers.get(a.id)]
        rows.append({"attempt": attempt, "module": module, "reflections": reflections,
                     "course": attempt.resource_link.context.title})
    return render_template("learner/evidence.html", launch=launch, rows=rows, profile=built)
