"""Route table for the LTI protocol endpoints."""

from __future__ import annotations

import logging

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ..db import get_session
from ..extensions import csrf
from ..keys import Keyring, KeyringError
from ..models import Launch, ResourceLink
from . import bp, review
from .adapter import ToolMessageLaunch
from .current import current_launch
from .constants import Claim, MessageType, Role, primary_role, roles_of
from .errors import LtiError
from .login import begin_login, login_params
from .services import record_failure, record_launch
from .settings import launch_settings
from .storage import StateInPlatformStorage, launch_page, login_page, verify_resubmission

log = logging.getLogger(__name__)
RECENT_LAUNCHES = 10
@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt
def login() -> ResponseReturnValue:
    """Third-party initiated login: remember state and nonce, send the browser to the platform."""
    params = login_params(request.values)
    db = get_session()
    try:
        target = begin_login(db, params, launch_settings())
    except LtiError as error:
        db.rollback()
        record_failure(db, error)
        db.commit()
        raise
    db.commit()
    framed = request.headers.get("Sec-Fetch-Dest") == "iframe"
    if target.storage_target:
        # The platform keeps state and nonce for us (no third-party cookie needed); the
        # cookie is still set for browsers that keep it.
        response: Response = make_response(render_template("lti/storage.html", page=login_page(
            target.url, target.state, target.nonce, target.storage_target)))
    elif framed and not params.get("lti_new_window"):
        # Inside an iframe the browser may refuse our cookie; a page checks first and
        # offers a new window instead of a launch that would fail.
        response = make_response(render_template(
            "lti/cookie_check.html", auth_url=target.url,
            params={**params, "lti_new_window": "1"}))
    else:
        response = redirect(target.url, code=302)
    secure = request.is_secure
    # Partitioned (CHIPS): browsers that block third-party cookies keep it for this platform.
    response.set_cookie(target.cookie_name, target.state, max_age=target.cookie_max_age,
                        secure=secure, httponly=True, path="/",
                        samesite="None" if secure else None, partitioned=secure)
    return response


@bp.post("/lti/launch")
@csrf.exempt
def launch() -> ResponseReturnValue:
    """Validate the id_token, record who came from where, and show the landing page."""
    db = get_session()
    message = ToolMessageLaunch(db, launch_settings(), form=request.form,
                                cookies=request.cookies)
    try:
        message.validate()
    except StateInPlatformStorage as pending:
        page = launch_page(db, pending.login, request.form, current_app.config["SECRET_KEY"])
        db.rollback()
        log.info("launch: %s; the browser checks the platform's storage", pending)
        return render_template("lti/storage.html", page=page)
    except LtiError as error:
        _refused(db, error)
        raise
    return _started(message)


@bp.post("/lti/launch/checked")
@csrf.exempt
def launch_checked() -> ResponseReturnValue:
    """The launch again, from the tool's page once the platform's storage confirmed the state."""
    db = get_session()
    message = ToolMessageLaunch(db, launch_settings(), form=request.form,
                                cookies=request.cookies, state_checked_in_storage=True)
    try:
        verify_resubmission(request.form, request.headers, current_app.config["SECRET_KEY"],
                            current_app.config["BASE_URL"])
        message.validate()
    except LtiError as error:
        _refused(db, error)
        raise
    return _started(message)


def _refused(db: Session, error: LtiError) -> None:
    """Keep what validation wrote (a consumed login, a pending deployment) and the failure."""
    db.commit()
    record_failure(db, error)
    db.commit()


def _started(message: ToolMessageLaunch) -> Response:
    """Record a validated launch, start the browser session and send the user on."""
    db = get_session()
    assert message.deployment_row is not None  # validate() sets it or raises
    record = record_launch(db, message.deployment_row, message.claims)
    db.commit()
    session["user_id"] = record.user_id
    recent = [record.id] + [i for i in session.get("launches", []) if i != record.id]
    session["launches"] = recent[:RECENT_LAUNCHES]
    # The first page has forms: its CSRF secret, set now, rides on this cookie, so that page
    # does not send the session cookie a second time.
    generate_csrf()
    # Post/redirect/get: reloading the page must not resubmit the id_token. Students go
    # straight to their module (one request fewer); everyone else to the landing page.
    return redirect(_student_page(record) or url_for("lti.landing", launch_id=record.id),
                    code=303)


@bp.get("/launch/<launch_id>")
def landing(launch_id: str) -> ResponseReturnValue:
    """The page after a launch, greeting the user by role."""
    record = current_launch(launch_id)
    if record.message_type == MessageType.DATA_PRIVACY.value:
        return redirect(url_for("privacy.show", launch_id=launch_id))
    role = primary_role(roles_of(record.roles))
    student_page = _student_page(record)
    if student_page is not None:
        return redirect(student_page)
    if review.is_review(record):
        return _review_page(record)
    if record.message_type == MessageType.DEEP_LINKING.value or (
            record.resource_link is not None and _needs_module(record.resource_link)):
        # Choosing content happens in the lecturer's picker (which refuses students clearly).
        return redirect(url_for("instructor.pick", launch_id=launch_id))
    claims = record.claims
    return render_template(
        "lti/landing.html", launch=record, role=role, Role=Role,
        return_url=(claims.get(Claim.LAUNCH_PRESENTATION.value) or {}).get("return_url"))


def _student_page(record: Launch) -> str | None:
    """The module's page for a student's launch through a link, else None.

    Students go straight to their module, resuming where they left off (mentors are told
    there what they can and cannot do).
    """
    role = primary_role(roles_of(record.roles))
    if record.resource_link is not None and role in (Role.LEARNER, Role.MENTOR, None):
        return url_for("learner.start", launch_id=record.id)
    return None


def _review_page(record: Launch) -> ResponseReturnValue:
    """A submission review by staff: the class view's drill-down of that student for the link."""
    from ..errors import render_problem  # lti_tool.errors imports this package

    student = review.reviewed_user(get_session(), record)
    if student is None or record.resource_link is None:
        log.info("submission review %s: user %r has not opened the tool", record.id[:8],
                 review.reviewed_sub(record))
        return render_problem(404, "This student has not opened the activity yet",
                              "The tool holds no work from this student for this activity. "
                              "Their attempts will be here once they open it from the "
                              "course.")
    return redirect(url_for("classview.student", launch_id=record.id, scope="link",
                            user_id=student.id))


def _needs_module(link: ResourceLink) -> bool:
    """Whether a link has no module yet, by the same rule the player uses."""
    from ..attempts.settings import link_settings

    return link_settings(link).module_id is None


@bp.get("/.well-known/jwks.json")
def jwks() -> ResponseReturnValue:
    """The tool's public keys, current and previous, for platforms to verify our messages."""
    try:
        keys = Keyring(current_app.config["KEYS_DIR"]).public_jwks()
    except KeyringError as error:
        log.error("cannot publish JWKS: %s", error)
        abort(503, "The tool's keys are not set up yet. The administrator must run "
                   "`lti-tool keys generate`.")
    response = make_response(keys)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
