"""Sign-in throttling that slows guessers without letting a stranger lock a real admin out.

The old rule (five failures lock the account for everyone) let anyone who knew an admin's
email keep them out. Now every limit is tied to the address trying:

- an address with ADDRESS_LIMIT failures in WINDOW (any emails) waits out the window;
- an address with PAIR_LIMIT failures for one account waits, for that account only;
- an account under a spread-out attack (ACCOUNT_LIMIT failures in WINDOW from anywhere)
  accepts tries only from addresses that signed in to it successfully within KNOWN_FOR.

A real admin at their usual address is held up by none of these. Checks come before the
password hash, so throttled tries cost no hashing. Counts are read before the write; two
racing tries can overshoot a limit by one each, which does not change what it protects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, select
from sqlalchemy.orm import Session

from ..models import AdminSignIn

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
ADDRESS_LIMIT = 20
PAIR_LIMIT = 5
ACCOUNT_LIMIT = 50
KNOWN_FOR = timedelta(days=90)


@dataclass(frozen=True)
class Throttled:
    """Why and until when an address must wait."""

    scope: str  # "address", "account" or "attack"
    until: datetime


def check(session: Session, address: str, email: str | None, now: datetime) -> Throttled | None:
    """None if this address may try this email now; else why it must wait."""
    since = now - WINDOW
    failures = select(AdminSignIn.at).where(AdminSignIn.ok.is_(False), AdminSignIn.at >= since)
    from_here = failures.where(AdminSignIn.address == address)
    if _count(session, from_here) >= ADDRESS_LIMIT:
        return Throttled("address", _until(session, from_here, ADDRESS_LIMIT))
    if not email:
        return None
    pair = from_here.where(AdminSignIn.email == email)
    if _count(session, pair) >= PAIR_LIMIT:
        return Throttled("account", _until(session, pair, PAIR_LIMIT))
    on_account = failures.where(AdminSignIn.email == email)
    if _count(session, on_account) >= ACCOUNT_LIMIT and not _known(session, address, email,
                                                                    now):
        return Throttled("attack", _until(session, on_account, ACCOUNT_LIMIT))
    return None


def record(session: Session, address: str, email: str | None, ok: bool,
           now: datetime) -> None:
    """Remember one attempt (flushed); forget what no rule looks at any more."""
    session.add(AdminSignIn(at=now, address=address[:64], email=(email or "")[:320], ok=ok))
    session.execute(delete(AdminSignIn).where(AdminSignIn.ok.is_(False),
                                              AdminSignIn.at < now - WINDOW))
    session.execute(delete(AdminSignIn).where(AdminSignIn.at < now - KNOWN_FOR))
    session.flush()


def forget_failures(session: Session, email: str) -> int:
    """`lti-tool admin unlock`: every address may try this account again at once."""
    result = cast("CursorResult[Any]", session.execute(delete(AdminSignIn).where(
        AdminSignIn.email == email, AdminSignIn.ok.is_(False))))
    session.flush()
    return result.rowcount or 0


def recent_failures(session: Session, email: str, now: datetime) -> int:
    """Failed sign-ins for an account in the current window (for `admin list`)."""
    return _count(session, select(AdminSignIn.at).where(
        AdminSignIn.email == email, AdminSignIn.ok.is_(False), AdminSignIn.at >= now - WINDOW))


def _count(session: Session, query: Select[tuple[datetime]]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _until(session: Session, query: Select[tuple[datetime]], limit: int) -> datetime:
    """When the window has moved past enough failures for the count to drop under `limit`."""
    times = list(session.scalars(query.order_by(AdminSignIn.at.desc()).limit(limit)))
    return times[-1] + WINDOW


def _known(session: Session, address: str, email: str, now: datetime) -> bool:
    """Whether this address signed in to this account successfully not long ago."""
    return session.scalar(select(AdminSignIn.id).where(
        AdminSignIn.address == address, AdminSignIn.email == email, AdminSignIn.ok.is_(True),
        AdminSignIn.at >= now - KNOWN_FOR).limit(1)) is not None
