"""Route table of the class view: heat map, CSV, roster refresh, one student, marking queue."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..attempts.feedback import reflection_rows
from ..content import InvalidAnswer, Library, ModuleNotFound, Reflection, word_count
from ..db import get_session
from ..errors import render_problem
from ..keys import Keyring
from ..library import get_library
from ..lti.current import current_launch
from ..lti.tokens import app_token_cache
from ..models import Attempt, Launch, ReflectionMark
from ..numbers import percent, points
from ..progress import band_descriptions, thresholds_sentence
from . import bp, export, gradebook, marking
from . import services as classview
from .roster import SCOPE as SCOPE_NRPS
from .roster import ProcessTokenAuth, Roster, load_roster, nrps_fetcher

log = logging.getLogger(__name__)
SCOPE = "<any(link, course):scope>"
MARKING_PAGE = 50  # attempts per page of the marking queue, oldest first
# Students per page of the class view, as Moodle's grader report shows by default.
CLASS_PAGE = 100

DENIED_TITLE = "This page is for the course teaching staff only"
DENIED_MESSAGE = ("The class view and the marking queue show every student's work, so only "
                  "the instructors and teaching assistants of this course can open them. If you "
                  "teach this course, ask your VLE administrator to give you the Instructor or "
                  "Teaching Assistant role, then open the tool from the course again.")


def staff_launch(launch_id: str) -> Launch:
    """The launch, if it belongs to an instructor, TA or administrator of its course; else 403."""
    launch = current_launch(launch_id)
    if not classview.is_staff(launch.roles):
        log.warning("class view refused to user %s (roles %s) on %s", launch.user_id,
                    launch.roles, request.path)
        abort(make_response(render_problem(403, DENIED_TITLE, DENIED_MESSAGE)))
    return launch


@bp.app_template_global()
def class_glance(launch: Launch) -> dict[str, object] | None:
    """For the staff landing page: students started and submitted, reflections waiting."""
    if launch.context is None or not classview.is_staff(launch.roles):
        return None
    kind = "link" if launch.resource_link is not None else "course"
    try:
        scope = classview.class_scope(get_session(), launch, kind)
    except classview.OutOfScope:
        return None
    started, submitted = classview.glance(get_session(), scope)
    return {"kind": kind, "title": scope.title, "started": started, "submitted": submitted,
            "waiting": marking.pending_count(get_session(), scope)}


def scope_of(launch: Launch, kind: str) -> classview.ClassScope:
    """The scope of the page, or a 404 explaining where to open it from."""
    try:
        return classview.class_scope(get_session(), launch, kind)
    except classview.OutOfScope as exc:
        log.info("class view %s unavailable for launch %s: %s", kind, launch.id[:8], exc)
        abort(404, "This view needs a launch from an activity in a course. Open the tool from "
                   "the activity in your course, or use the course view.")


def roster_of(launch: Launch, refresh: bool = False) -> Roster:
    """The course's class list from the cache or the platform (never raises; see .problem)."""
    config = current_app.config
    registration, keyring = launch.deployment.registration, Keyring(config["KEYS_DIR"])
    # The grades part's token cache is shared by every process; this process's is the fallback.
    auth = gradebook.shared_token_auth(
        registration, keyring, current_app.extensions["lti_tool.sessionmaker"], SCOPE_NRPS,
        timeout=config["HTTP_TIMEOUT"]) or ProcessTokenAuth(
        registration, keyring, app_token_cache(current_app.extensions),
        timeout=config["HTTP_TIMEOUT"])
    fetch = nrps_fetcher(auth, timeout=config["HTTP_TIMEOUT"])
    if launch.context is None:  # scope_of has refused such a launch already
        abort(404)
    return load_roster(get_session(), launch.context, fetch, refresh=refresh)


def _class(launch: Launch, kind: str, user_id: int | None = None, standing: bool = True,
           ) -> tuple[classview.ClassScope, Roster, list[classview.Student], classview.Columns]:
    """Scope, roster, students (or the one asked for) and columns for a class page (the
    roster cache is committed); see classview.class_students."""
    scope = scope_of(launch, kind)
    db = get_session()
    roster = roster_of(launch)
    db.commit()
    library = get_library()
    students = classview.class_students(db, library, scope, roster.members, user_id,
                                        standing=standing)
    return scope, roster, students, classview.columns(library)


@bp.get(f"/{SCOPE}")
def class_view(launch_id: str, scope: str) -> str:
    """The heat map: each student's mastery per domain and element, completion and grade, a
    page of CLASS_PAGE students at a time; the summary row and the CSV cover everyone."""
    launch = staff_launch(launch_id)
    class_scope, roster, students, columns = _class(launch, scope)
    db = get_session()
    pending = marking.pending_count(db, class_scope)
    library = get_library()
    modules = [_module_title(library, m) for m in class_scope.module_ids]
    show = request.args.get("show")
    show = show if show in classview.FILTERS else None
    sort = request.args.get("sort")
    sort = sort if sort in classview.SORTS else "name"
    with classview.paused_gc():
        shown = classview.shown_students(students, show, sort)
        pages = max(1, -(-len(shown) // CLASS_PAGE))
        page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
        rows = shown[(page - 1) * CLASS_PAGE:page * CLASS_PAGE]
        classview.add_details(db, library, class_scope, rows)
        return render_template("classview/class.html", launch=launch, scope=class_scope,
                               roster=roster, students=rows, matching=len(shown),
                               everyone=students, columns=columns, modules=modules,
                               bands=band_descriptions(), thresholds=thresholds_sentence(),
                               pending=pending, filters=classview.FILTERS, show=show,
                               sorts=classview.SORTS, sort=sort, page=page, pages=pages,
                               summary=classview.summary(db, library, class_scope, students))


@bp.get(f"/{SCOPE}/export.csv")
def export_csv(launch_id: str, scope: str) -> Response:
    """The class view as a CSV download: everyone, whatever page or filter the view shows."""
    launch = staff_launch(launch_id)
    class_scope, _, students, columns = _class(launch, scope, standing=False)
    with classview.paused_gc():  # not around _class: the roster may be fetched from the VLE
        classview.add_details(get_session(), get_library(), class_scope, students,
                              everyone=True)
    # Streamed: the figures are summed above; the text is written as it is sent.
    response = Response(export.stream_csv(columns, students), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{export.filename(class_scope)}"'
    response.headers["Cache-Control"] = "no-store"  # students' results: keep out of caches
    return response


@bp.post(f"/{SCOPE}/refresh")
def refresh_roster(launch_id: str, scope: str) -> ResponseReturnValue:
    """Fetch the class list from the platform now."""
    launch = staff_launch(launch_id)
    scope_of(launch, scope)
    roster = roster_of(launch, refresh=True)
    get_session().commit()
    flash(roster.problem.message if roster.problem else
          f"Class list refreshed: {len(roster.members)} people in the course.")
    return redirect(url_for("classview.class_view", launch_id=launch_id, scope=scope))


@bp.get(f"/{SCOPE}/students/<int:user_id>")
def student(launch_id: str, scope: str, user_id: int) -> str:
    """One student: mastery, attempts (and which counts) and reflections with their marks."""
    launch = staff_launch(launch_id)
    class_scope, _, found, columns = _class(launch, scope, user_id)
    if not found:
        abort(404, "That student is not in this class, or has not opened the tool yet.")
    db = get_session()
    library = get_library()
    classview.add_details(db, library, class_scope, found, every_grade=True)
    # The heat map's rows carry stored figures only; this page shows the attempts in full.
    attempts = classview.scope_attempts(db, class_scope, user_id)
    return render_template("classview/student.html", launch=launch, scope=class_scope,
                           student=found[0], columns=columns,
                           attempts=classview.attempt_rows(library, attempts),
                           reflections=reflection_rows(db, library, attempts),
                           bands=band_descriptions())


def _marking_scope(launch: Launch) -> classview.ClassScope:
    """The marking queue's scope: the course, or the launch's link with ?scope=link."""
    kind = "link" if request.args.get("scope") == "link" else "course"
    return scope_of(launch, kind)


@bp.get("/marking")
def marking_queue(launch_id: str) -> str:
    """Reflections submitted and waiting for marks."""
    launch = staff_launch(launch_id)
    scope = _marking_scope(launch)
    library = get_library()
    db = get_session()
    total = marking.pending_count(db, scope)
    pages = max(1, -(-total // MARKING_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    items = [(attempt, _title(library, attempt)) for attempt in marking.pending_attempts(
        db, scope, offset=(page - 1) * MARKING_PAGE, limit=MARKING_PAGE)]
    return render_template("classview/marking.html", launch=launch, scope=scope, items=items,
                           total=total, page=page, pages=pages)


@bp.route("/marking/<int:attempt_id>", methods=["GET", "POST"])
def mark(launch_id: str, attempt_id: int) -> ResponseReturnValue:
    """Mark the reflections of one attempt against their rubric; saving re-scores the attempt."""
    launch = staff_launch(launch_id)
    scope = scope_of(launch, "course")
    db = get_session()
    attempt = marking.attempt_in_scope(db, scope, attempt_id)
    if attempt is None:
        abort(404, "There is no submitted attempt with that number in this course.")
    try:
        module = get_library().get(attempt.module_id, attempt.module_version)
    except ModuleNotFound:
        log.warning("attempt %s is on withdrawn module %s %s", attempt.id, attempt.module_id,
                    attempt.module_version)
        abort(404, "The module version this attempt was taken on is no longer installed, so "
                   "it cannot be marked here. Ask your administrator to import it again.")
    reflections = marking.reflections_to_mark(module, attempt)
    error, conflict = None, None
    values: Mapping[str, str] = request.form
    if request.method == "POST":
        seen = request.form.get("version", "")
        try:
            form = marking.parse_form(request.form, reflections)
            queued = marking.save_marks(db, attempt, module, form, launch.user,
                                        int(seen) if seen.isdigit() else None)
            db.commit()
        except InvalidAnswer as exc:
            db.rollback()
            error = str(exc)
            log.info("marks refused on attempt %s: %s", attempt.id, exc)
        except (marking.MarkConflict, StaleDataError, IntegrityError) as exc:
            # Another marker saved first: show what they saved; this marker's marks are in
            # the message so nothing they typed is lost.
            db.rollback()
            log.info("marks on attempt %s refused, marked by someone else first: %s",
                     attempt.id, type(exc).__name__)
            conflict = _typed_marks(request.form, reflections)
            attempt = marking.attempt_in_scope(db, scope, attempt_id) or attempt
            values = _saved_values(attempt, marking.comments_of(db, attempt))
        else:
            gradebook.deliver_now(attempt.user_id)
            flash(f"Marks saved for {attempt.user.display_name}: {percent(attempt.percent)} "
                  f"({points(attempt.points)} of {points(attempt.max_points)} points)."
                  + (" The grade will be sent to the gradebook." if queued else ""))
            return redirect(url_for("classview.marking_queue", launch_id=launch_id,
                                    scope=request.args.get("scope")))
    else:
        values = _saved_values(attempt, marking.comments_of(db, attempt))
    records = marking.comments_of(db, attempt)
    views = [{"activity": r, "render": r.render(), "text": attempt.answers.get(r.id),
              "words": word_count(attempt.answers.get(r.id) or ""), "record": records.get(r.id)}
             for r in reflections]
    status = 409 if conflict is not None else 400 if error else 200
    return render_template("classview/mark.html", launch=launch, attempt=attempt,
                           module=module, views=views, values=values, error=error,
                           conflict=conflict, back_scope=request.args.get("scope"),
                           queue=_queue_place(db, launch, attempt.id)), status


def _queue_place(db: Session, launch: Launch, attempt_id: int) -> dict[str, int | None]:
    """Where an attempt sits in its marking queue: position, size, previous and next ids."""
    ids = marking.pending_ids(db, _marking_scope(launch))
    if attempt_id not in ids:
        return {"position": None, "total": len(ids), "prev": None,
                "next": ids[0] if ids else None}
    at = ids.index(attempt_id)
    return {"position": at + 1, "total": len(ids), "prev": ids[at - 1] if at else None,
            "next": ids[at + 1] if at + 1 < len(ids) else None}


def _typed_marks(form: Mapping[str, str], reflections: list[Reflection]) -> list[str]:
    """What a refused marker typed, as lines to show back to them."""
    lines = []
    for r in reflections:
        for c in r.rubric:
            value = str(form.get(f"mark-{r.id}-{c.id}") or "").strip()
            lines.append(f"{c.description}: {value or '–'}")
        comment = str(form.get(f"comment-{r.id}") or "").strip()
        if comment:
            lines.append(f"Comment: {comment}")
    return lines


def _saved_values(attempt: Attempt, records: Mapping[str, ReflectionMark]) -> dict[str, str]:
    """Form values from marks already given, so a lecturer can revise them."""
    values = {}
    for activity_id, given in (attempt.marks or {}).items():
        for criterion, mark in (given or {}).items():
            values[f"mark-{activity_id}-{criterion}"] = f"{mark:g}"
    for activity_id, record in records.items():
        values[f"comment-{activity_id}"] = record.comment
    return values


def _title(library: Library, attempt: Attempt) -> str:
    """The module title of an attempt, or its id when that version is gone."""
    return _module_title(library, attempt.module_id, attempt.module_version)


def _module_title(library: Library, module_id: str, version: str | None = None) -> str:
    """A module's title, or its id when it is not installed."""
    try:
        return str(library.get(module_id, version).title)
    except ModuleNotFound:
        return module_id
