"""Route table of the module player: start, steps, review, submit, summary, profile, assets.

Every write goes through the attempt lifecycle (``lti_tool.attempts.lifecycle``) inside
``db.committed``, which runs it again when it lost a race with another request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue

from .. import grades
from ..attempts import answers, lifecycle
from ..attempts.feedback import ReflectionRow, reflection_rows
from ..attempts.lifecycle import NoAttemptsLeft, Phase, StaleAttempt
from ..attempts.profile import build_profile
from ..content import InvalidAnswer, Library, Module, ModuleNotFound
from ..db import committed, get_session
from ..grades.web import deliver_now
from ..library import get_library
from ..lti import roles
from ..lti.current import current_launch
from ..models import Attempt, Launch, ResourceLink
from . import bp, pages

log = logging.getLogger(__name__)


def _link(launch: Launch) -> ResourceLink:
    """The resource link of the launch, or a 404 for launches without one."""
    if launch.resource_link is None:
        abort(404, "This page belongs to an activity link; open it from your course.")
    return launch.resource_link


def _form_number(name: str) -> int | None:
    """An attempt number a form carries, or None (old forms carry none)."""
    raw = request.form.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _stale(launch: Launch, error: StaleAttempt) -> ResponseReturnValue:
    """The page for a form from an out-of-date tab: nothing saved, and where things stand."""
    log.info("stale form for attempt %s of user %s: now %s", error.number, launch.user_id,
             error.situation.phase.value)
    return render_template("learner/stale.html", launch=launch, number=error.number,
                           now=error.situation), 409


def _mentor_notice(launch: Launch, status: int = 200) -> ResponseReturnValue:
    """Mentors and observers watch (their mentees' progress); no attempt or score of their own."""
    from .mentor import mentor_notice

    return mentor_notice(launch, status)


@bp.get("/")
def start(launch_id: str) -> ResponseReturnValue:
    """Where the student stands: the module's start page, the open attempt, or their result."""
    launch = current_launch(launch_id)
    link = _link(launch)
    if roles.is_mentor(launch.roles):
        return _mentor_notice(launch)
    now = lifecycle.situation(get_session(), launch.user, link)
    if now.phase == Phase.NOT_SET_UP:
        staff = roles.is_staff(launch.roles)
        return redirect(url_for("instructor.pick", launch_id=launch_id)) if staff else \
            render_template("learner/not_set_up.html", launch=launch), 200
    if now.open is not None:
        return redirect(url_for("learner.step", launch_id=launch_id, index=now.open.position))
    if now.latest is not None:
        return redirect(url_for("learner.summary", launch_id=launch_id, number=now.latest.number))
    try:
        module = get_library().get(now.settings.module_id or "")
    except ModuleNotFound:
        log.warning("link %s names unknown module %r", link.id, now.settings.module_id)
        return render_template("learner/not_set_up.html", launch=launch,
                               unknown=now.settings.module_id), 404
    return render_template("learner/start.html", launch=launch, module=module, now=now,
                           pass_mark=now.settings.pass_mark or module.pass_mark)


@bp.post("/start")
def begin(launch_id: str) -> ResponseReturnValue:
    """Start the first attempt, or try again: only ever from this explicit button."""
    launch = current_launch(launch_id)
    link = _link(launch)
    if roles.is_mentor(launch.roles):
        log.info("mentor launch %s refused an attempt", launch.id)
        return _mentor_notice(launch, 403)
    db, library = get_session(), get_library()

    def work() -> Attempt:
        attempt = lifecycle.start(db, library, launch.user, link, after=_form_number("after"))
        grades.record_progress(db, library, launch, attempt, grades.Progress.STARTED)
        return attempt

    try:
        attempt = committed(db, work, what="starting an attempt")
    except NoAttemptsLeft:
        flash("You have used every attempt this activity allows.")
        return redirect(url_for("learner.start", launch_id=launch_id))
    except StaleAttempt as error:
        return _stale(launch, error)
    except ModuleNotFound:
        return redirect(url_for("learner.start", launch_id=launch_id))
    return redirect(url_for("learner.step", launch_id=launch_id, index=attempt.position))


# The address of "Try again" before starting had a page of its own; old forms still work.
bp.add_url_rule("/retry", endpoint="retry", view_func=begin, methods=["POST"])


@bp.get("/step/<int:index>")
def step(launch_id: str, index: int) -> ResponseReturnValue:
    """Show one step of the open attempt (its page, question, or the feedback on an answer)."""
    launch = current_launch(launch_id)
    db = get_session()
    attempt = lifecycle.situation(db, launch.user, _link(launch)).open
    if attempt is None:
        return redirect(url_for("learner.start", launch_id=launch_id))
    module = answers.module_of(get_library(), attempt)
    if not 0 <= index < answers.step_count(module):
        abort(404, "There is no such step in this module.")
    if index > attempt.position and lifecycle.reach(db, attempt, index):
        db.commit()  # the furthest step reached, where a relaunch resumes
    return _render_step(launch, module, attempt, index)


@bp.post("/step/<int:index>")
def answer(launch_id: str, index: int) -> ResponseReturnValue:
    """Save the step's answer, then show its feedback or move on."""
    launch = current_launch(launch_id)
    link = _link(launch)
    db, library = get_session(), get_library()
    number = _form_number("attempt")

    def work() -> tuple[Attempt, Module]:
        attempt = lifecycle.current(db, launch.user, link, number)
        module = answers.module_of(library, attempt)
        if not 0 <= index < answers.step_count(module):
            abort(404, "There is no such step in this module.")
        activity_id, given = answers.parse_answer(module, index, request.form, attempt)
        answers.save_answer(attempt, module, index, activity_id, given)
        grades.record_progress(db, library, launch, attempt, grades.Progress.IN_PROGRESS)
        return attempt, module

    try:
        attempt, module = committed(db, work, what="saving an answer")
    except StaleAttempt as error:
        return _stale(launch, error)
    except InvalidAnswer as exc:
        db.rollback()
        log.info("answer refused on step %s of launch %s: %s", index, launch.id, exc)
        try:
            attempt = lifecycle.current(db, launch.user, link, None)
        except StaleAttempt as error:  # submitted in another tab meanwhile
            return _stale(launch, error)
        typed = request.form.get("text") if "text" in request.form else None
        return _render_step(launch, answers.module_of(library, attempt), attempt, index,
                            error=str(exc), typed=typed)
    total = answers.step_count(module)
    if answers.is_answered(attempt, module, index) and answers.is_rating(module, index):
        return redirect(_next_url(launch_id, index, total))
    # #feedback: the page's app.js moves focus to the feedback, so screen readers announce it.
    return redirect(url_for("learner.step", launch_id=launch_id, index=index, _anchor="feedback"))


def _render_step(launch: Launch, module: Module, attempt: Attempt, index: int,
                 error: str | None = None, typed: str | None = None) -> ResponseReturnValue:
    """The step page; 400 when it carries a refused answer."""
    total = answers.step_count(module)
    return render_template(
        "learner/step.html", launch=launch, module=module, attempt=attempt, index=index,
        total=total, error=error,
        view=pages.step_view(module, attempt, index, launch.id, typed),
        answered=answers.is_answered(attempt, module, index),
        next_url=_next_url(launch.id, index, total),
        prev_url=url_for("learner.step", launch_id=launch.id, index=index - 1) if index else None,
        step_titles=pages.titles(module), done=pages.answered_steps(module, attempt)), \
        400 if error else 200


def _next_url(launch_id: str, index: int, total: int) -> str:
    """Where the Next button goes: the following step, or the review before submitting."""
    if index + 1 < total:
        return url_for("learner.step", launch_id=launch_id, index=index + 1)
    return url_for("learner.review", launch_id=launch_id)


@bp.get("/review")
def review(launch_id: str) -> ResponseReturnValue:
    """Before submitting: what is done and what is still open."""
    launch = current_launch(launch_id)
    attempt = lifecycle.situation(get_session(), launch.user, _link(launch)).open
    if attempt is None:
        return redirect(url_for("learner.start", launch_id=launch_id))
    module = answers.module_of(get_library(), attempt)
    return render_template("learner/review.html", launch=launch, module=module, attempt=attempt,
                           open_steps=answers.open_steps(attempt, module, pages.titles(module)))


@bp.post("/submit")
def submit(launch_id: str) -> ResponseReturnValue:
    """Submit the attempt the review page showed: score it on its own module version."""
    launch = current_launch(launch_id)
    link = _link(launch)
    db, library = get_session(), get_library()

    def work() -> tuple[Attempt, bool]:
        attempt, closed = lifecycle.submit(db, library, launch.user, link,
                                           _form_number("attempt"))
        if closed:  # the score joins the outbox in the same transaction as the attempt
            grades.record_progress(db, library, launch, attempt, grades.Progress.SUBMITTED)
        return attempt, closed

    try:
        attempt, closed = committed(db, work, what="submitting an attempt")
    except StaleAttempt as error:
        return _stale(launch, error)
    if closed:
        deliver_now(launch.user_id)  # where the VLE answers quickly, before this page does
    return redirect(url_for("learner.summary", launch_id=launch_id, number=attempt.number))


@bp.get("/attempts/<int:number>")
def summary(launch_id: str, number: int) -> ResponseReturnValue:
    """The result of a submitted attempt: score, each element, feedback, what to revisit."""
    launch = current_launch(launch_id)
    db, library = get_session(), get_library()
    now = lifecycle.situation(db, launch.user, _link(launch))
    attempt = now.attempt(number)
    if attempt is None or attempt.submitted_at is None:
        abort(404, "That attempt has not been submitted.")
    module = answers.module_of(library, attempt)
    dcs = library.frameworks.get("dcs-2020")
    return render_template("learner/summary.html", launch=launch, module=module,
                           attempt=attempt, now=now, settings=now.settings,
                           counted=now.counted, revisit=pages.revisit(module, attempt),
                           feedback=reflection_rows(db, library, [attempt]),
                           element_title=lambda e: pages.element_title(dcs, e),
                           pass_mark=now.settings.pass_mark or module.pass_mark)


@bp.get("/attempts/<int:number>/step/<int:index>")
def reread(launch_id: str, index: int, number: int) -> ResponseReturnValue:
    """One step of a submitted attempt, read-only: what "What to revisit" links to."""
    launch = current_launch(launch_id)
    attempt = lifecycle.situation(get_session(), launch.user, _link(launch)).attempt(number)
    if attempt is None or attempt.submitted_at is None:
        abort(404, "That attempt has not been submitted.")
    module = answers.module_of(get_library(), attempt)
    if not 0 < index < answers.step_count(module) - 1:
        abort(404, "There is no such step in this module.")
    return render_template(
        "learner/step.html", launch=launch, module=module, attempt=attempt, index=index,
        total=answers.step_count(module), readonly=True, answered=True,
        view=pages.step_view(module, attempt, index, launch.id), done=set(),
        back_url=url_for("learner.summary", launch_id=launch_id, number=number),
        step_titles=pages.titles(module))


@bp.get("/choose")
def choose(launch_id: str) -> ResponseReturnValue:
    """The old address of the module chooser: the lecturer's picker does this now."""
    return redirect(url_for("instructor.pick", launch_id=launch_id))


@bp.get("/assets/<module_id>/<version>/<path:path>")
def asset(launch_id: str, module_id: str, version: str, path: str) -> ResponseReturnValue:
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
def profile(launch_id: str) -> ResponseReturnValue:
    """My capability profile: mastery per domain and element, confidence, next steps."""
    from ..progress import (
        band_descriptions,
        chart_title,
        profile_chart_svg,
        profile_table_rows,
        thresholds_sentence,
    )

    launch = current_launch(launch_id)
    db, library = get_session(), get_library()
    course = request.args.get("course") or None
    built, used = build_profile(db, library, launch.user, launch.deployment_id, course=course)
    views = [(by, chart_title(built, by), profile_chart_svg(built, by=by),
              profile_table_rows(built, by=by)) for by in ("domain", "element")]
    courses = {a.resource_link.context.context_id: (a.resource_link.context.title
                                                    or a.resource_link.context.label)
               for a in used}
    marked: dict[int, list[ReflectionRow]] = {}
    for row in reflection_rows(db, library, used):
        marked.setdefault(row.attempt.id, []).append(row)
    return render_template("learner/profile.html", launch=launch, profile=built, views=views,
                           thresholds=thresholds_sentence(), bands=band_descriptions(),
                           courses=courses, course=course, used=used, marked=marked,
                           modules=pages.course_modules(db, library, launch),
                           module_title=lambda a: _module_title(library, a))


def _module_title(library: Library, attempt: Attempt) -> str:
    """The title of the module version an attempt was on."""
    try:
        return answers.module_of(library, attempt).title
    except ModuleNotFound:
        return attempt.module_id


@bp.get("/evidence")
def evidence(launch_id: str) -> ResponseReturnValue:
    """A printable evidence record for a PCF portfolio: modules, dates, scores, reflections."""
    launch = current_launch(launch_id)
    db, library = get_session(), get_library()
    built, used = build_profile(db, library, launch.user, launch.deployment_id)
    feedback: dict[int, list[ReflectionRow]] = {}
    for row in reflection_rows(db, library, used):
        feedback.setdefault(row.attempt.id, []).append(row)
    rows = []
    for attempt in used:
        module = library.get(attempt.module_id, attempt.module_version)
        rows.append({"attempt": attempt, "module": module,
                     "reflections": feedback.get(attempt.id, []),
                     "course": attempt.resource_link.context.title})
    return render_template("learner/evidence.html", launch=launch, rows=rows, profile=built,
                           frameworks=library.frameworks, today=datetime.now(UTC))
