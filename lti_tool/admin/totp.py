"""TOTP two-factor sign-in for console accounts (RFC 6238, through pyotp).

pyotp does the HMAC and time-step arithmetic; this module adds what it leaves to callers:
one step either side for clock drift, and refusing a code whose step was already used, so a
code seen over someone's shoulder cannot be replayed within its 30 seconds.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import Any, cast

import pyotp
from sqlalchemy import CursorResult, or_, update
from sqlalchemy.orm import Session

from ..models import AdminUser

ISSUER = "Digital capabilities tool console"
STEP = 30


class CodeRefused(ValueError):
    """An enrolment code that does not match the new secret."""


def new_secret() -> str:
    """A fresh base32 secret for an authenticator app."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// address an authenticator app reads (as a QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step (now, or one either side) whose code this is, if not used already."""
    code = re.sub(r"\s", "", code or "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP
    for step in (current - 1, current, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def check_code(session: Session, user: AdminUser, code: str | None, now: datetime) -> bool:
    """True when the account has no second factor, or `code` is a fresh valid one; its step
    is then claimed with a conditional UPDATE, so of two racing sign-ins with one code only
    one gets in, on every database."""
    if not user.totp_secret:
        return True
    step = _matching_step(user.totp_secret, code or "", now, user.totp_last_step)
    if step is None:
        return False
    claimed = cast("CursorResult[Any]", session.execute(
        update(AdminUser).where(AdminUser.id == user.id, or_(
            AdminUser.totp_last_step.is_(None), AdminUser.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)))
    if claimed.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def enrol(session: Session, user: AdminUser, secret: str, code: str, now: datetime) -> None:
    """Turn on two-factor sign-in once the app shows a code for the new secret."""
    step = _matching_step(secret, code, now, None)
    if step is None:
        raise CodeRefused("that code does not match; check the phone's clock and try the "
                          "newest code")
    user.totp_secret, user.totp_last_step = secret, step
    session.flush()


def remove(session: Session, user: AdminUser) -> None:
    """Turn two-factor sign-in off (a lost phone); the password alone works again."""
    user.totp_secret, user.totp_last_step = None, None
    session.flush()
