"""Route for LTI Dynamic Registration: the Tool URL a platform admin pastes in."""

from __future__ import annotations

import logging

import requests
from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from .. import (
    errors as error_pages,  # a module import: lti_tool.errors imports this package
)
from ..db import get_session
from . import bp
from .dynreg import ToolDescription, register_platform
from .dynreg_refusals import RegistrationRefused

log = logging.getLogger(__name__)


@bp.get("/lti/register")
def register() -> ResponseReturnValue:
    """Register the platform that opened this link (with an invite), then tell it we are done."""
    db = get_session()
    args = request.args
    try:
        with requests.Session() as http:
            outcome = register_platform(
                db, http, tool=ToolDescription(current_app.config["BASE_URL"]),
                invite_token=args.get("invite"),
                openid_configuration=args.get("openid_configuration"),
                registration_token=args.get("registration_token"),
                timeout=current_app.config["HTTP_TIMEOUT"])
    except RegistrationRefused as error:
        db.rollback()
        log.warning("dynamic registration refused: code=%s reason=%s", error.code, error.reason)
        refusal = error.refusal
        message = refusal.message + (f" Details: {error.detail}" if error.detail else "")
        return error_pages.render_problem(refusal.status, refusal.title, message)
    db.commit()
    row, deployment = outcome.registration, outcome.deployment
    log.info("dynamic registration stored: registration=%s issuer=%r client_id=%r "
             "deployment=%r", row.id, row.issuer, row.client_id,
             deployment.deployment_id if deployment else None)
    return render_template("lti/registered.html", registration=row, deployment=deployment,
                           moodle=outcome.product_family_code == "moodle")
