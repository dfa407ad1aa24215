"""Route table of the admin console; the work is in accounts, operations and the shared modules.

Signing in and out (password and university sign-in) is in signin.py.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from .. import registrations as regs
from ..db import get_session
from ..grades import ResendRefused, delivery_status, list_deliveries, resend
from ..governance.audit import record_console
from ..grades.web import deliver_now
from ..invites import create_invite, invite_state, list_invites, register_url
from ..keys import Keyring, KeyringError
from ..lti.dynreg import ToolDescription
from ..lti.toolconfig import canvas_configuration, paste_values
from ..lti.urls import tool_urls
from ..models import DeploymentStatus, Registration
from ..models.base import utcnow
from . import bp, operations
from .forms import ActionForm, DeploymentForm, InviteForm, NewPlatformForm, PlatformForm
from .guard import safe_next

log = logging.getLogger(__name__)


def _keyring() -> Keyring:
    """The tool's keyring from configuration."""
    return Keyring(current_app.config["KEYS_DIR"])


def _registration(reg_id: int) -> Registration:
    """The registration in the URL, or a 404 page."""
    row = get_session().get(Registration, reg_id)
    if row is None:
        abort(404, f"There is no registration {reg_id}. The list of registrations shows "
                   "the ones that exist.")
    return row


def _audit(action: str, *args: object) -> None:
    """One log line and one audit row per change, naming the admin who made it."""
    log.info("admin %s: " + action, g.admin.email, *args)
    record_console(get_session(), g.admin.email, action, args)
    get_session().commit()


# -- overview ------------------------------------------------------------------------------
@bp.get("/")
def dashboard() -> ResponseReturnValue:
    """What needs attention: pending deployments, recent failures, keys, open links."""
    summary = operations.overview(get_session(), _keyring())
    return render_template("admin/dashboard.html", summary=summary, form=ActionForm())


# -- registrations and deployments ---------------------------------------------------------
@bp.get("/registrations")
def registrations() -> ResponseReturnValue:
    """Every registration with its deployments' statuses."""
    return render_template("admin/registrations.html",
                           rows=regs.list_platforms(get_session()))


@bp.route("/registrations/new", methods=["GET", "POST"])
def registration_new() -> ResponseReturnValue:
    """Register a platform by hand (Blackboard, Canvas, or Moodle without Dynamic Registration)."""
    form = NewPlatformForm()
    error = None
    if form.validate_on_submit():
        db = get_session()
        try:
            row = regs.add_platform(
                db, issuer=form.issuer.data.strip(), client_id=form.client_id.data.strip(),
                auth_login_url=form.auth_login_url.data.strip(),
                auth_token_url=form.auth_token_url.data.strip(),
                key_set_url=form.key_set_url.data.strip(),
                auth_audience=(form.auth_audience.data or "").strip() or None,
                name=(form.name.data or "").strip() or None,
                deployment_ids=operations.parse_deployment_ids(form.deployment_ids.data),
                auto_approve=form.auto_approve.data)
        except regs.RegistrationError as problem:
            db.rollback()
            error = str(problem)
        else:
            db.commit()
            _audit("registered platform %s (%s, client %s)", row.id, row.issuer, row.client_id)
            flash(f"Registered {row.name}.", "ok")
            return redirect(url_for("admin.registration", reg_id=row.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/registration_form.html", form=form, error=error,
                           row=None), status


@bp.get("/registrations/<int:reg_id>")
def registration(reg_id: int) -> ResponseReturnValue:
    """One registration: its details, switches and deployments."""
    return render_template("admin/registration.html", row=_registration(reg_id),
                           form=ActionForm(), deployment_form=DeploymentForm())


@bp.route("/registrations/<int:reg_id>/edit", methods=["GET", "POST"])
def registration_edit(reg_id: int) -> ResponseReturnValue:
    """Change a registration's details."""
    row = _registration(reg_id)
    form = PlatformForm(obj=row)
    if request.method == "GET":
        form.auto_approve.data = row.auto_approve_deployments
    error = None
    if form.validate_on_submit():
        db = get_session()
        try:
            regs.update_platform(
                db, row, name=(form.name.data or "").strip(), issuer=form.issuer.data.strip(),
                client_id=form.client_id.data.strip(),
                auth_login_url=form.auth_login_url.data.strip(),
                auth_token_url=form.auth_token_url.data.strip(),
                key_set_url=form.key_set_url.data.strip(),
                auth_audience=(form.auth_audience.data or "").strip())
            regs.set_auto_approve(db, row, form.auto_approve.data)
        except regs.RegistrationError as problem:
            db.rollback()
            error = str(problem)
        else:
            db.commit()
            _audit("edited registration %s", row.id)
            flash("Saved.", "ok")
            return redirect(url_for("admin.registration", reg_id=row.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/registration_form.html", form=form, error=error,
                           row=row), status


def _switch() -> bool:
    """The on/off value of a switch button, or a 400 page."""
    value = request.form.get("value")
    if value not in ("on", "off"):
        abort(400, "The button sent no on/off value. Reload the page and try again.")
    return value == "on"


@bp.post("/registrations/<int:reg_id>/enabled")
def registration_enabled(reg_id: int) -> ResponseReturnValue:
    """Let launches from a registration in, or refuse them all."""
    row = _registration(reg_id)
    enabled = _switch()
    db = get_session()
    regs.set_platform_enabled(db, row, enabled)
    db.commit()
    _audit("%s registration %s", "enabled" if enabled else "disabled", row.id)
    flash(f"{row.name} is {'enabled' if enabled else 'disabled: its launches are refused'}.",
          "ok")
    return redirect(url_for("admin.registration", reg_id=row.id), code=303)


@bp.post("/registrations/<int:reg_id>/auto-approve")
def registration_auto_approve(reg_id: int) -> ResponseReturnValue:
    """Switch automatic approval of a registration's new deployments."""
    row = _registration(reg_id)
    value = _switch()
    db = get_session()
    regs.set_auto_approve(db, row, value)
    db.commit()
    _audit("auto-approve %s for registration %s", "on" if value else "off", row.id)
    flash("New deployments are now " + ("let in at once." if value else
                                        "held for approval."), "ok")
    return redirect(url_for("admin.registration", reg_id=row.id), code=303)


@bp.post("/registrations/<int:reg_id>/deployments")
def deployment_add(reg_id: int) -> ResponseReturnValue:
    """Add a deployment id (Blackboard: a new institution)."""
    row = _registration(reg_id)
    form = DeploymentForm()
    error = None
    if form.validate_on_submit():
        db = get_session()
        try:
            dep = regs.add_deployment(db, row, form.deployment_id.data.strip(),
                                      approved=not form.pending.data,
                                      name=(form.name.data or "").strip() or None)
        except regs.RegistrationError as problem:
            db.rollback()
            error = str(problem)
        else:
            db.commit()
            _audit("added deployment %r (%s) to registration %s", dep.deployment_id,
                   dep.status.value, row.id)
            flash(f"Added deployment {dep.deployment_id} ({dep.status.value}).", "ok")
            return redirect(url_for("admin.registration", reg_id=row.id), code=303)
    return render_template("admin/registration.html", row=row, form=ActionForm(),
                           deployment_form=form, deployment_error=error), 400


@bp.post("/registrations/<int:reg_id>/deployments/status")
def deployment_status(reg_id: int) -> ResponseReturnValue:
    """Approve (or re-enable) a deployment, or disable it."""
    row = _registration(reg_id)
    statuses = {"approved": DeploymentStatus.APPROVED, "disabled": DeploymentStatus.DISABLED}
    status = statuses.get(request.form.get("status", ""))
    if status is None:
        abort(400, "The button sent no status. Reload the page and try again.")
    deployment_id = request.form.get("deployment_id", "")
    db = get_session()
    try:
        dep = regs.set_deployment_status(db, row, deployment_id, status)
    except regs.RegistrationError as problem:
        db.rollback()
        abort(404, f"{problem}. It may have been removed meanwhile; reload the page.")
    db.commit()
    _audit("deployment %r of registration %s is now %s", dep.deployment_id, row.id,
           status.value)
    flash(f"Deployment {dep.deployment_id} of {row.name} is now {status.value}.", "ok")
    back = url_for("admin.registration", reg_id=row.id)
    return redirect(safe_next(request.form.get("next"), back), code=303)


# -- what to paste into a VLE --------------------------------------------------------------
@bp.get("/values")
def values() -> ResponseReturnValue:
    """The tool's URLs for manual registration forms, and the Canvas JSON configuration."""
    base = current_app.config["BASE_URL"]
    document = json.dumps(canvas_configuration(ToolDescription(base)), indent=2)
    return render_template("admin/values.html", values=paste_values(base),
                           canvas_json=document, config_url=f"{base}/lti/config.json",
                           redirect_uri=tool_urls(base)["launch"])


# -- Dynamic Registration links ------------------------------------------------------------
@bp.route("/registration-links", methods=["GET", "POST"])
def invites() -> ResponseReturnValue:
    """Make a one-time Dynamic Registration link (shown once) and list earlier ones."""
    form = InviteForm()
    new_url = None
    status = 200
    db = get_session()
    if form.validate_on_submit():
        invite, token = create_invite(db, lifetime=timedelta(hours=form.hours.data),
                                      note=(form.note.data or "").strip() or None)
        db.commit()
        _audit("created registration link %s valid until %s", invite.id, invite.expires_at)
        new_url = register_url(current_app.config["BASE_URL"], token)
        form = InviteForm(formdata=None)
    elif request.method == "POST":
        status = 400
    now = utcnow()
    rows = [(invite, invite_state(invite, now)) for invite in list_invites(db)]
    return render_template("admin/invites.html", form=form, new_url=new_url,
                           rows=rows), status


# -- keys ----------------------------------------------------------------------------------
@bp.get("/keys")
def keys() -> ResponseReturnValue:
    """The tool's signing keys with their status."""
    try:
        entries, problem = _keyring().keys(), None
    except KeyringError as error:
        entries, problem = [], str(error)
    return render_template("admin/keys.html", keys=entries, problem=problem, form=ActionForm())


@bp.post("/keys/rotate")
def keys_rotate() -> ResponseReturnValue:
    """Make a new signing key; the old one stays published until retired."""
    try:
        key = _keyring().rotate()
    except KeyringError as error:
        log.error("key rotation failed: %s", error)
        abort(409, f"The keys could not be rotated: {error}")
    _audit("rotated keys; new signing key %s", key.kid)
    flash(f"New signing key {key.kid}. The previous key stays published: retire it once "
          "platforms have refreshed their copy (a day is plenty).", "ok")
    return redirect(url_for("admin.keys"), code=303)


@bp.post("/keys/retire")
def keys_retire() -> ResponseReturnValue:
    """Stop publishing a previous key."""
    kid = request.form.get("kid", "")
    try:
        _keyring().retire(kid)
    except KeyringError as error:
        log.warning("key retirement refused: %s", error)
        abort(409, f"The key could not be retired: {error}")
    _audit("retired key %s", kid)
    flash(f"Retired {kid}: it is no longer published.", "ok")
    return redirect(url_for("admin.keys"), code=303)


# -- what went wrong -----------------------------------------------------------------------
@bp.get("/failures")
def failures() -> ResponseReturnValue:
    """Refused logins and launches with their reasons, newest first."""
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() else 1
    return render_template("admin/failures.html",
                           page=operations.launch_failures(get_session(), number))


@bp.get("/grades")
def grade_failures() -> ResponseReturnValue:
    """Grade deliveries the VLE refused for good, newest first, each with a resend button."""
    rows = list_deliveries(get_session(), failed_only=True, limit=operations.FAILURES_PER_PAGE)
    return render_template("admin/grades.html", rows=rows, form=ActionForm())


@bp.post("/grades/<int:delivery_id>/resend")
def grade_resend(delivery_id: int) -> ResponseReturnValue:
    """Queue a refused grade again (after its cause was fixed) and try to send it at once."""
    db = get_session()
    try:
        row = resend(db, delivery_id)
    except ResendRefused as refused:
        db.rollback()
        log.warning("grade resend refused: %s", refused)
        flash(str(refused), "error")
        return redirect(url_for("admin.grade_failures"), code=303)
    db.commit()
    user_id, link_id = row.user_id, row.resource_link_id
    _audit("resent grade delivery %s", delivery_id)
    deliver_now(user_id)  # after the commit, with its own sessions and short timeouts
    db.expire_all()
    outcome = delivery_status(db, user_id, link_id)
    flash(f"Grade delivery {delivery_id}: {outcome.label if outcome else 'queued again'}.",
          "ok")
    return redirect(url_for("admin.grade_failures"), code=303)
