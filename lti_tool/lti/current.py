"""The launch a page belongs to: every area's pages start from it (no views here)."""

from __future__ import annotations

from flask import session
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ..db import get_session
from ..models import Launch
from .errors import LtiError

# Who, where and through which link, in the one query every page after a launch needs.
LAUNCH_LOADS = (joinedload(Launch.user), joinedload(Launch.context),
                joinedload(Launch.resource_link))
# Built once: SQLAlchemy then computes its cache key once, not on every page.
_LAUNCH = select(Launch).options(*LAUNCH_LOADS).where(Launch.id == bindparam("launch_id"))


def current_launch(launch_id: str) -> Launch:
    """The launch named in the URL, if this browser made it; otherwise a session-expired page."""
    if launch_id not in session.get("launches", []):
        raise LtiError("session_expired", f"launch {launch_id[:8]}… not in this browser session")
    record = get_session().scalar(_LAUNCH, {"launch_id": launch_id})
    if record is None or record.user_id != session.get("user_id"):
        raise LtiError("session_expired", f"launch {launch_id[:8]}… not found for this user")
    return record
