"""Route table of the person's own privacy page, reached by a LtiDataPrivacyLaunchRequest."""

from __future__ import annotations

import json
import logging

from flask import Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ...db import committed, get_session
from ...lti.constants import MessageType
from ...lti.current import current_launch
from ...models import Launch, Registration
from .. import audit
from ..requests import pending_requests, person_target, request_erasure
from ..settings import RetentionPolicy, SettingError
from ..subjects import PersonExport, export_person
from . import bp

log = logging.getLogger(__name__)


def _privacy_launch(launch_id: str) -> Launch:
    """The launch in the URL, which must be a Data Privacy Launch of this browser."""
    launch = current_launch(launch_id)
    if launch.message_type != MessageType.DATA_PRIVACY.value:
        abort(404, "This page opens from your learning environment's privacy or data "
                   "settings for this tool.")
    return launch


def _export(launch: Launch) -> PersonExport:
    """Everything held about the launch's person."""
    db = get_session()
    registration = db.get_one(Registration, launch.user.registration_id)
    return export_person(db, registration, launch.user.sub)


@bp.get("/p/<launch_id>")
def show(launch_id: str) -> ResponseReturnValue:
    """What the tool holds about you, how long it keeps it, and what you can do."""
    launch = _privacy_launch(launch_id)
    document = _export(launch)
    try:
        policy = RetentionPolicy.from_env()
    except SettingError:
        policy = None
    target = person_target(launch.user)
    requested = next((p.event for p in pending_requests(get_session())
                      if p.event.target == target), None)
    return render_template("governance/privacy.html", launch=launch, tables=document["tables"],
                           policy=policy, requested=requested)


@bp.post("/p/<launch_id>/export")
def export(launch_id: str) -> ResponseReturnValue:
    """Your data as a JSON file."""
    launch = _privacy_launch(launch_id)
    db = get_session()
    document = _export(launch)
    audit.record(db, audit.lti_actor(launch.user), "data.export", person_target(launch.user),
                 {"by": "the person (Data Privacy Launch)",
                  "rows": {k: len(v) for k, v in document["tables"].items()}})
    db.commit()
    body = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": "attachment; filename=my-data.json"})


@bp.post("/p/<launch_id>/erase")
def erase_request(launch_id: str) -> ResponseReturnValue:
    """Ask for your data to be erased; an administrator confirms it."""
    launch = _privacy_launch(launch_id)
    db = get_session()
    user_id = launch.user_id
    _, new = committed(db, lambda: request_erasure(db, launch.user), what="erasure request")
    log.info("user %s asked for erasure (new request: %s)", user_id, new)
    flash("Your request is recorded. An administrator of the tool will erase your data and "
          "your university will confirm." if new else "You have already asked; your request "
          "is waiting for an administrator.")
    return redirect(url_for("privacy.show", launch_id=launch_id), code=303)
