"""Signing in and out of the console: the password form, and the university's sign-in (OIDC).

University sign-in is checked in lti_tool.admin.oidc (Authlib) and mapped to an account in
lti_tool.admin.sso; both routes end in the same console session (accounts.start_session and a
cleared browser session), with the same throttling of two-factor codes.
"""

from __future__ import annotations

import logging
import time

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from ..config import OidcSettings
from ..db import get_session
from ..models import AdminUser
from ..models.base import utcnow
from ..numbers import clock
from . import accounts, bp, oidc, sso
from .forms import LoginForm, SsoCodeForm
from .guard import SESSION_KEY, safe_next, session_limits
from .sso_pages import provider_page, refusal_page, sso_page

log = logging.getLogger(__name__)

NEXT_KEY = "admin_sso_next"
PENDING_KEY = "admin_sso_pending"
# Seconds between the university's sign-in and the tool's own code being entered.
PENDING_TTL = 300

# What a throttled sign-in is told, by what held it up (lti_tool.admin.throttle).
THROTTLED = {
    "address": "Too many failed sign-ins have come from your network. Try again after "
               "{until}.",
    "account": (f"{accounts.MAX_FAILURES} failed sign-ins to this account have come from your "
                "network. Try again after {until}, or ask another administrator to run "
                "`lti-tool admin unlock EMAIL`."),
    "attack": "This account is receiving many failed sign-ins from elsewhere, so for now it "
              "accepts them only from places it was used before. Try again after {until} "
              "from your usual network, or ask another administrator to run "
              "`lti-tool admin unlock EMAIL`.",
}
WRONG_CODE = ("The code from your authenticator app is not right, or was used already. "
              "Enter the newest code it shows.")


def _address() -> str:
    """The browser's address, which throttling goes by."""
    return request.remote_addr or "unknown"


def _refused(refused: accounts.LoginRefused) -> tuple[int, str]:
    """Status and words for a refused password or code."""
    log.warning("admin sign-in refused from %s: %s", _address(), refused)
    if refused.kind == "throttled":
        return 429, THROTTLED[refused.scope or "address"].format(
            until=clock(refused.locked_until) if refused.locked_until else "a few minutes")
    if refused.kind == "code":
        return 400, WRONG_CODE
    return 400, "The email address or password is not right. Check both and try again."


def _open_console(user: AdminUser, next_url: str | None) -> ResponseReturnValue:
    """A new console session for a signed-in admin; on to the page they were going to."""
    db = get_session()
    token = accounts.start_session(db, user, session_limits())
    db.commit()
    # A new session: nothing set before signing in (by anyone) carries over.
    session.clear()
    session[SESSION_KEY] = token
    return redirect(safe_next(next_url, url_for("admin.dashboard")), code=303)


# -- email and password --------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in with email and password (or, when set up, through the university)."""
    settings = oidc.settings()
    if settings is not None and settings.only and request.method == "POST":
        log.warning("password sign-in refused from %s: LTI_TOOL_OIDC_ONLY is on", _address())
        return sso_page(403, "Password sign-in is switched off",
                        f"This console is entered through {settings.name} only.",
                        "Use the sign-in button on the sign-in page.")
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error = None
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            admin = accounts.authenticate(db, form.email.data, form.password.data,
                                          address=_address(), code=form.code.data)
        except accounts.LoginRefused as refused:
            db.commit()  # the failure count must stick
            status, error = _refused(refused)
        else:
            log.info("admin %s signed in from %s", admin.email, _address())
            return _open_console(admin, form.next.data)
    elif request.method == "POST":
        status = 400
    return render_template("admin/login.html", form=form, error=error, sso=settings,
                           next_url=form.next.data or ""), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out: the session ends on the server and in the browser."""
    db = get_session()
    accounts.end_session(db, session.pop(SESSION_KEY, None))
    db.commit()
    log.info("admin %s signed out", g.admin.email)
    flash("You have signed out.", "ok")
    return redirect(url_for("admin.login"), code=303)


# -- the university's sign-in --------------------------------------------------------------
def _settings() -> OidcSettings:
    """The OIDC settings, or a 404: university sign-in is not set up here."""
    settings = oidc.settings()
    if settings is None:
        abort(404, "Sign-in through the university is not set up for this tool. Sign in "
                   "with your email address and password.")
    return settings


@bp.get("/login/sso")
def sso_start() -> ResponseReturnValue:
    """Send the browser to the university's sign-in page."""
    settings = _settings()
    session[NEXT_KEY] = safe_next(request.args.get("next"), url_for("admin.dashboard"))
    session.pop(PENDING_KEY, None)
    redirect_uri = current_app.config["BASE_URL"] + url_for("admin.sso_callback")
    try:
        return oidc.start(redirect_uri)
    except oidc.ProviderProblem as problem:
        log.warning("university sign-in could not start from %s (%s): %s", _address(),
                    problem.kind, problem)
        return provider_page(problem, settings.name)


@bp.get("/login/sso/callback")
def sso_callback() -> ResponseReturnValue:
    """The university's answer: check it, find the account, sign in (or ask for the code)."""
    settings = _settings()
    try:
        claims = oidc.finish(request.args.to_dict(), current_app.config["JWT_LEEWAY"])
    except oidc.ProviderProblem as problem:
        log.warning("university sign-in failed from %s (%s): %s", _address(), problem.kind,
                    problem)
        return provider_page(problem, settings.name)
    db = get_session()
    try:
        user = sso.account_for(db, claims, settings)
    except sso.SsoRefused as refused:
        sso.refused(db, refused, claims)
        db.commit()
        log.warning("university sign-in refused from %s: %s", _address(), refused)
        return refusal_page(refused, settings)
    next_url = session.pop(NEXT_KEY, None)
    if sso.needs_code(user, settings):
        session[PENDING_KEY] = {"id": user.id, "at": time.time(), "next": next_url,
                                "iss": claims.get("iss"), "sub": claims.get("sub")}
        log.info("university sign-in of %s from %s; asking for the two-factor code",
                 user.email, _address())
        return redirect(url_for("admin.sso_code"), code=303)
    sso.signed_in(db, user, claims, _address(), utcnow())
    log.info("admin %s signed in through the university from %s", user.email, _address())
    return _open_console(user, next_url)


@bp.route("/login/sso/code", methods=["GET", "POST"])
def sso_code() -> ResponseReturnValue:
    """The account's own two-factor code, after the university's sign-in."""
    settings = _settings()
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_TTL:
        session.pop(PENDING_KEY, None)
        log.info("university sign-in code step without a recent sign-in from %s", _address())
        return sso_page(400, "Start the sign-in again",
                        "The step asking for your two-factor code waits five minutes after "
                        "the university's sign-in; it has expired, or no sign-in was started "
                        "in this browser.")
    form = SsoCodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        db = get_session()
        try:
            user = sso.confirm_code(db, int(pending["id"]), form.code.data or "", _address(),
                                    utcnow())
        except accounts.LoginRefused as refused:
            db.commit()  # the failure count must stick
            if refused.kind == "invalid":
                session.pop(PENDING_KEY, None)
                log.warning("admin sign-in refused from %s: %s", _address(), refused)
                return sso_page(403, "This console account cannot sign in",
                                "It was deactivated or removed after the university's "
                                "sign-in.")
            status, error = _refused(refused)
        else:
            claims = {"iss": pending.get("iss"), "sub": pending.get("sub")}
            sso.signed_in(db, user, claims, _address(), utcnow())
            log.info("admin %s signed in through the university (and code) from %s",
                     user.email, _address())
            return _open_console(user, pending.get("next"))
    elif request.method == "POST":
        status = 400
    return render_template("admin/sso_code.html", form=form, error=error,
                           name=settings.name), status
