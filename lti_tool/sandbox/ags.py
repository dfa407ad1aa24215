"""The sandbox's gradebook: Assignment and Grade Services line items and scores, and a page.

Shaped like Moodle 4.5's: every activity has a line item (`/sandbox/lineitems/<link id>`,
created on first use from the activity's deep linking line item or title); the tool may
also list and create line items. Scores need a bearer token from `/sandbox/token`, and, as
in Moodle, one whose timestamp is not later than the stored one is refused with 409.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, NotRequired, TypedDict

from flask import Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import get_session
from ..extensions import csrf
from ..lti.constants import (
    CONTAINER_TYPE,
    LINEITEM_TYPE,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READ,
    SCOPE_SCORE,
    SCORE_TYPE,
)
from ..models import SandboxLineItem, SandboxScore
from ..models.base import utcnow
from . import bp
from . import platform as sandbox
from .deeplink import all_links
from .tokens import bearer_scopes

log = logging.getLogger(__name__)

ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}


def _base() -> str:
    """The sandbox issuer, which prefixes its service URLs."""
    return sandbox.issuer(current_app.config["BASE_URL"])


def _problem(status: int, message: str) -> Response:
    """A JSON error, as a service answers."""
    log.info("sandbox AGS refused (%s): %s", status, message)
    return Response(json.dumps({"error": message}), status=status,
                    content_type="application/json")


def _authorised(*scopes: str) -> Response | None:
    """None when the bearer token carries one of `scopes`; else the 401 to answer."""
    granted = bearer_scopes(request.headers.get("Authorization", ""),
                            current_app.config["KEYS_DIR"])
    if granted is None or not granted & set(scopes):
        return _problem(401, "a valid bearer token with the right scope is required")
    return None


class LineItemJson(TypedDict):
    """The JSON of an AGS line item."""

    id: str
    label: str
    scoreMaximum: float
    resourceId: str
    tag: str
    resourceLinkId: NotRequired[str]


def line_item_json(item: SandboxLineItem) -> LineItemJson:
    """A line item as AGS shows it."""
    data: LineItemJson = {"id": f"{_base()}/lineitems/{item.id}", "label": item.label,
            "scoreMaximum": item.score_maximum, "resourceId": item.resource_id,
            "tag": item.tag}
    if item.resource_link_id:
        data["resourceLinkId"] = item.resource_link_id
    return data


def ensure_activity_items(session: Session) -> None:
    """Give every sandbox activity its line item, as Moodle does for a graded activity."""
    for link in all_links(session).values():
        if session.get(SandboxLineItem, link["id"]) is None:
            spec = link.get("line_item") or {}
            session.add(SandboxLineItem(
                id=link["id"], label=str(spec.get("label") or link["title"])[:500],
                score_maximum=float(spec.get("scoreMaximum") or 100),
                resource_id=str(spec.get("resourceId") or link.get("module") or ""),
                resource_link_id=link["id"], tag=str(spec.get("tag") or "")))
    session.flush()


@bp.route("/lineitems", methods=["GET", "POST"])
@csrf.exempt  # a service called with a bearer token, not a browser form
def lineitems() -> ResponseReturnValue:
    """List the course's line items, or create one."""
    if request.method == "GET":
        refused = _authorised(SCOPE_LINEITEM, SCOPE_LINEITEM_READ)
        if refused:
            return refused
        db = get_session()
        ensure_activity_items(db)
        db.commit()
        items = [line_item_json(i) for i in db.scalars(
            select(SandboxLineItem).order_by(SandboxLineItem.created_at, SandboxLineItem.id))]
        return Response(json.dumps(items), content_type=CONTAINER_TYPE)
    refused = _authorised(SCOPE_LINEITEM)
    if refused:
        return refused
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict) or not str(data.get("label") or "").strip():
        return _problem(400, "a line item needs a label")
    try:
        maximum = float(data["scoreMaximum"])
    except (KeyError, TypeError, ValueError):
        return _problem(400, "scoreMaximum must be a number")
    if not 0 < maximum < 1e6:
        return _problem(400, "scoreMaximum must be positive")
    db = get_session()
    count = len(db.scalars(select(SandboxLineItem.id)).all())
    item = SandboxLineItem(id=f"created-{count + 1}", label=str(data["label"])[:500],
                           score_maximum=maximum,
                           resource_id=str(data.get("resourceId") or "")[:255],
                           resource_link_id=str(data.get("resourceLinkId") or "")[:255] or None,
                           tag=str(data.get("tag") or "")[:255])
    db.add(item)
    db.commit()
    return Response(json.dumps(line_item_json(item)), status=201, content_type=LINEITEM_TYPE)


def _item_or_404(item_id: str) -> SandboxLineItem:
    """The line item, created on first use for an activity of the course."""
    db = get_session()
    item = db.get(SandboxLineItem, item_id)
    if item is None:
        ensure_activity_items(db)
        db.commit()
        item = db.get(SandboxLineItem, item_id)
    if item is None:
        abort(404, "No such line item in the sandbox course.")
    return item


@bp.get("/lineitems/<item_id>")
def lineitem(item_id: str) -> ResponseReturnValue:
    """One line item."""
    refused = _authorised(SCOPE_LINEITEM, SCOPE_LINEITEM_READ)
    if refused:
        return refused
    return Response(json.dumps(line_item_json(_item_or_404(item_id))),
                    content_type=LINEITEM_TYPE)


@bp.post("/lineitems/<item_id>/scores")
@csrf.exempt
def scores(item_id: str) -> ResponseReturnValue:
    """Store a score, checked as Moodle checks it."""
    refused = _authorised(SCOPE_SCORE)
    if refused:
        return refused
    if request.mimetype != SCORE_TYPE:
        return _problem(415, f"scores must be sent as {SCORE_TYPE}")
    item = _item_or_404(item_id)
    data: Any = request.get_json(force=True, silent=True)  # its shape: _check_score
    error = _check_score(data)
    if error:
        return _problem(400, error)
    stamp = datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    db = get_session()
    latest = db.scalar(select(SandboxScore).where(
        SandboxScore.line_item_id == item.id, SandboxScore.user_id == str(data["userId"]))
        .order_by(SandboxScore.timestamp.desc(), SandboxScore.id.desc()).limit(1))
    if latest is not None and int(latest.timestamp.timestamp()) >= int(stamp.timestamp()):
        return _problem(409, "refusing a score with an earlier timestamp")
    given = data.get("scoreGiven")
    db.add(SandboxScore(
        line_item_id=item.id, user_id=str(data["userId"])[:255],
        score_given=float(given) if given is not None else None,
        score_maximum=float(data["scoreMaximum"]) if data.get("scoreMaximum") is not None
        else None, activity_progress=data["activityProgress"],
        grading_progress=data["gradingProgress"],
        comment=str(data["comment"])[:2000] if data.get("comment") else None,
        timestamp=stamp, received_at=utcnow()))
    db.commit()
    return Response("", status=200, content_type=SCORE_TYPE)


def _check_score(data: object) -> str | None:
    """What is wrong with a score body, or None."""
    if not isinstance(data, dict):
        return "the body must be a JSON score"
    for name in ("userId", "timestamp", "activityProgress", "gradingProgress"):
        if not data.get(name):
            return f"{name} is required"
    if data["activityProgress"] not in ACTIVITY or data["gradingProgress"] not in GRADING:
        return "unknown activityProgress or gradingProgress"
    for name in ("scoreGiven", "scoreMaximum"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, (int, float))):
            return f"{name} must be a number"
    if data.get("scoreGiven") is not None and data.get("scoreMaximum") is None:
        return "scoreMaximum is required with scoreGiven"
    try:
        datetime.fromisoformat(str(data["timestamp"]).replace("Z", "+00:00"))
    except ValueError:
        return "timestamp must be ISO 8601"
    return None


@bp.get("/gradebook")
def gradebook() -> ResponseReturnValue:
    """The course gradebook: each student's latest score per line item."""
    db = get_session()
    ensure_activity_items(db)
    db.commit()
    items = list(db.scalars(select(SandboxLineItem).order_by(SandboxLineItem.created_at,
                                                              SandboxLineItem.id)))
    latest: dict[tuple[str, str], SandboxScore] = {}
    for score in db.scalars(select(SandboxScore).order_by(SandboxScore.timestamp,
                                                          SandboxScore.id)):
        latest[(score.line_item_id, score.user_id)] = score
    names = {user.sub: user.name for user in sandbox.USERS.values()}
    students = sorted({user for _, user in latest} | {
        u.sub for u in sandbox.USERS.values() if "Learner" in " ".join(u.roles)},
        key=lambda sub: names.get(sub, sub))
    return render_template("sandbox/gradebook.html", items=items, students=students,
                           names=names, latest=latest, course=sandbox.COURSE)
