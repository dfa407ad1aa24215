"""Administrator accounts: passwords, throttled sign-in, and console sessions.

No Flask here: the console and the `lti-tool admin` commands pass a database session and plain
values. Everything is flushed, never committed; note that a refused sign-in still changed the
failure count, so callers commit after a LoginRefused too.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import AdminSession, AdminUser
from ..models.base import utcnow
from . import throttle, totp

log = logging.getLogger(__name__)

MAX_FAILURES = throttle.PAIR_LIMIT
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # hashing a megabyte on every attempt would be a cheap denial of service
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """An account request that cannot be carried out, with a message saying why."""


class LoginRefused(Exception):
    """A refused sign-in: `kind` is "invalid", or "throttled" with `scope` ("address",
    "account", "attack") and `locked_until`, when this address may try again."""

    def __init__(self, kind: str, reason: str, locked_until: datetime | None = None,
                 scope: str | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.locked_until = locked_until
        self.scope = scope


# -- accounts ------------------------------------------------------------------------------
def normalise_email(email: str) -> str:
    """The address as stored: trimmed and lower-cased; an AccountError if it is not one."""
    value = (email or "").strip().lower()
    if len(value) > 320 or not EMAIL.match(value) or not value.isprintable():
        raise AccountError(f"{email!r} is not an email address")
    return value


def check_password(password: str, email: str) -> str:
    """A password long enough to resist guessing, or an AccountError saying what to change."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters; "
                           "a few unrelated words make a good one")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")
    if password.strip().lower() == email.lower():
        raise AccountError("the password must not be the email address")
    return password


def hash_password(password: str) -> str:
    """Werkzeug's salted scrypt hash (its default method)."""
    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check unknown emails against, so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def find_admin(session: Session, email: str) -> AdminUser | None:
    """The account with this email (any case), or None."""
    try:
        value = normalise_email(email)
    except AccountError:
        return None
    return session.scalar(select(AdminUser).where(AdminUser.email == value))


def get_admin(session: Session, email: str) -> AdminUser:
    """The account with this email, or an AccountError."""
    user = find_admin(session, email)
    if user is None:
        raise AccountError(f"no administrator {email!r}; `lti-tool admin list` shows them")
    return user


def create_admin(session: Session, email: str, password: str) -> AdminUser:
    """A new, active administrator account."""
    value = normalise_email(email)
    check_password(password, value)
    if find_admin(session, value) is not None:
        raise AccountError(f"there is already an administrator {value!r}")
    user = AdminUser(email=value, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def list_admins(session: Session) -> list[AdminUser]:
    """Every administrator, by email."""
    return list(session.scalars(select(AdminUser).order_by(AdminUser.email)))


def set_password(session: Session, user: AdminUser, password: str) -> None:
    """Give an account a new password and sign it out everywhere."""
    user.password_hash = hash_password(check_password(password, user.email))
    end_all_sessions(session, user)
    session.flush()


def unlock(session: Session, user: AdminUser) -> None:
    """Forget earlier failures, so every address may try the account again at once."""
    user.locked_until = None
    user.failed_attempts = 0
    user.first_failed_at = None
    throttle.forget_failures(session, user.email)
    session.flush()


def set_active(session: Session, user: AdminUser, active: bool) -> None:
    """Allow or forbid signing in; deactivating also ends the account's sessions."""
    user.active = active
    if not active:
        end_all_sessions(session, user)
    session.flush()


def is_locked(user: AdminUser, now: datetime | None = None) -> bool:
    """Whether the account is locked out right now."""
    return user.locked_until is not None and user.locked_until > (now or utcnow())


# -- signing in ----------------------------------------------------------------------------
def authenticate(session: Session, email: str, password: str,
                 now: datetime | None = None, address: str = "unknown",
                 code: str | None = None) -> AdminUser:
    """The account if the password is right; otherwise a LoginRefused (and a counted failure).

    Throttling (lti_tool.admin.throttle) is by the address trying: a stranger's failures never
    stop the real admin signing in from their own address.
    """
    now = now or utcnow()
    password = password[:MAX_PASSWORD + 1]
    try:
        value = normalise_email(email)
    except AccountError:
        value = None
    held = throttle.check(session, address, value, now)
    if held is not None:
        raise LoginRefused("throttled", f"{address} throttled ({held.scope}) for "
                           f"{value or (email or '')[:100]!r} until {held.until}",
                           held.until, held.scope)
    # Locked for update: racing wrong passwords for one account are counted one by one.
    user = session.scalar(select(AdminUser).where(AdminUser.email == value)
                          .with_for_update()) if value else None
    if user is None:
        check_password_hash(_dummy_hash(), password)  # same work as for a real account
        throttle.record(session, address, value or (email or "")[:320], False, now)
        raise LoginRefused("invalid", f"unknown email {(email or '')[:100]!r}")
    if not check_password_hash(user.password_hash, password) or not user.active:
        reason = "wrong password" if user.active else "account deactivated"
        throttle.record(session, address, user.email, False, now)
        user.failed_attempts = throttle.recent_failures(session, user.email, now)
        raise LoginRefused("invalid", f"{user.email}: {reason} "
                           f"({user.failed_attempts} in the last 15 minutes)")
    if not totp.check_code(session, user, code, now):
        # Counted like a wrong password: the second factor is what stops a leaked one.
        throttle.record(session, address, user.email, False, now)
        raise LoginRefused("code", f"{user.email}: right password, wrong or reused "
                           "two-factor code")
    throttle.record(session, address, user.email, True, now)
    user.failed_attempts, user.first_failed_at, user.locked_until = 0, None, None
    user.last_login_at = now
    session.flush()
    return user


# -- console sessions ----------------------------------------------------------------------
@dataclass(frozen=True)
class SessionLimits:
    """How long a console session lasts: without activity, and at most."""

    idle: timedelta
    maximum: timedelta


def _session_id(token: str) -> str:
    """The stored id of a session token (its SHA-256), so the table holds no usable cookie."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(session: Session, user: AdminUser, limits: SessionLimits,
                  now: datetime | None = None) -> str:
    """A new session for a signed-in admin; returns the token for the cookie (once)."""
    now = now or utcnow()
    _purge_sessions(session, limits, now)
    token = secrets.token_urlsafe(32)
    session.add(AdminSession(id=_session_id(token), admin_user_id=user.id, created_at=now,
                             last_seen_at=now))
    session.flush()
    return token


def resume_session(session: Session, token: object, limits: SessionLimits,
                   now: datetime | None = None) -> tuple[AdminSession | None, str]:
    """(session, "ok"), or (None, why): "none", "expired" or "ended"."""
    if not isinstance(token, str) or not token:
        return None, "none"
    now = now or utcnow()
    row = session.get(AdminSession, _session_id(token))
    if row is None:
        return None, "ended"
    if now - row.last_seen_at > limits.idle or now - row.created_at > limits.maximum:
        session.delete(row)
        session.flush()
        return None, "expired"
    if not row.admin.active:
        session.delete(row)
        session.flush()
        return None, "ended"
    row.last_seen_at = now
    session.flush()
    return row, "ok"


def end_session(session: Session, token: object) -> None:
    """Sign one session out."""
    if isinstance(token, str) and token:
        session.execute(delete(AdminSession).where(AdminSession.id == _session_id(token)))
        session.flush()


def end_all_sessions(session: Session, user: AdminUser) -> None:
    """Sign an account out everywhere."""
    session.execute(delete(AdminSession).where(AdminSession.admin_user_id == user.id))


def _purge_sessions(session: Session, limits: SessionLimits, now: datetime) -> None:
    """Forget sessions that can no longer be resumed."""
    session.execute(delete(AdminSession).where(or_(
        AdminSession.last_seen_at < now - limits.idle,
        AdminSession.created_at < now - limits.maximum)))
