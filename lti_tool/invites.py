"""One-time registration links: create, check and use up; they flush, callers commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from .models import Registration, RegistrationInvite
from .models.base import utcnow

DEFAULT_LIFETIME = timedelta(hours=24)


class InviteError(ValueError):
    """A registration link that cannot be used; `kind` is "unknown", "used" or "expired"."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a link's token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def register_url(base_url: str, token: str) -> str:
    """The address an admin pastes into the platform's Tool URL field."""
    return f"{base_url}/lti/register?{urlencode({'invite': token})}"


def create_invite(session: Session, *, lifetime: timedelta = DEFAULT_LIFETIME,
                  note: str | None = None) -> tuple[RegistrationInvite, str]:
    """A new invite and its token; the token is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    invite = RegistrationInvite(token_hash=hash_token(token), note=note or None,
                                expires_at=utcnow() + lifetime)
    session.add(invite)
    session.flush()
    return invite, token


def invite_state(invite: RegistrationInvite, now: datetime | None = None) -> str:
    """"used", "expired" or "open"."""
    if invite.used_at is not None:
        return "used"
    return "expired" if invite.expires_at <= (now or utcnow()) else "open"


def list_invites(session: Session, limit: int = 100) -> list[RegistrationInvite]:
    """The most recent invites, newest first, with the registrations they made."""
    return list(session.scalars(select(RegistrationInvite)
                                .order_by(RegistrationInvite.created_at.desc(),
                                          RegistrationInvite.id.desc()).limit(limit)))


def usable_invite(session: Session, token: str | None) -> RegistrationInvite:
    """The invite for `token` if it is unused and unexpired, else an InviteError."""
    invite = session.scalar(select(RegistrationInvite).where(
        RegistrationInvite.token_hash == hash_token(token))) if token else None
    if invite is None:
        raise InviteError("unknown", "no invite token" if not token else "unknown invite token")
    if invite.used_at is not None:
        raise InviteError("used", f"invite {invite.id} was used at {invite.used_at}")
    if invite.expires_at <= utcnow():
        raise InviteError("expired", f"invite {invite.id} expired at {invite.expires_at}")
    return invite


def use_invite(session: Session, invite: RegistrationInvite, registration: Registration) -> None:
    """Mark the invite used by `registration`; an InviteError if another request got there first."""
    # A conditional update, so two registrations racing on one link cannot both succeed.
    result = cast("CursorResult[Any]", session.execute(
        update(RegistrationInvite)
        .where(RegistrationInvite.id == invite.id, RegistrationInvite.used_at.is_(None))
        .values(used_at=utcnow(), registration_id=registration.id)))
    if result.rowcount != 1:
        raise InviteError("used", f"invite {invite.id} was used by another registration meanwhile")
    session.flush()
