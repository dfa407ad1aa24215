"""Routes for mentors and observers: their students' progress, read-only."""

from __future__ import annotations

import logging

from flask import abort, make_response, render_template
from flask.typing import ResponseReturnValue

from ..classview.services import OutOfScope
from ..db import get_session
from ..errors import render_problem
from ..library import get_library
from ..lti.current import current_launch
from ..models import Launch
from ..progress import band_descriptions
from . import bp, mentoring

log = logging.getLogger(__name__)


def mentor_notice(launch: Launch, status: int = 200) -> ResponseReturnValue:
    """A mentor's page for a link: the students they mentor, or what they can and cannot do."""
    return render_template("learner/mentor.html", launch=launch,
                           mentees=mentoring.mentees(get_session(), launch)), status


@bp.get("/mentees/<int:user_id>")
def mentee(launch_id: str, user_id: int) -> ResponseReturnValue:
    """One mentee's attempts and mastery across the course; nobody else's."""
    launch = current_launch(launch_id)
    db = get_session()
    student = mentoring.mentee(db, launch, user_id)
    if student is None:
        log.warning("mentee page refused: launch %s (user %s, roles %s) asked for user %s",
                    launch.id[:8], launch.user_id, launch.roles, user_id)
        abort(make_response(render_problem(
            403, "You can only see the students you mentor",
            "Your VLE did not name this person as someone you mentor in this course. If it "
            "should have, ask the course's staff or your VLE administrator to link you to them "
            "as their mentor (or observer), then open the activity again.")))
    try:
        scope, row, attempts = mentoring.progress(db, get_library(), launch, student)
    except OutOfScope:
        abort(404, "This view needs a launch from an activity in a course. Open the tool from "
                   "the activity in your course.")
    return render_template("learner/mentee.html", launch=launch, scope=scope, student=row,
                           attempts=attempts, bands=band_descriptions())
