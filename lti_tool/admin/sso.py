"""Which console account a verified university sign-in opens, if any (issue 13, item 7).

No Flask and no Authlib here: lti_tool.admin.oidc checks the provider's id_token (signature,
iss, aud, exp, nonce); this module decides what its claims let in. An account is never
created here: console accounts come from `lti-tool admin create-user`, so the university's
directory alone cannot make anyone a tool administrator. Flushed, never committed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import OidcSettings
from ..governance.audit import admin_actor, record
from ..models import AdminUser
from . import accounts, throttle, totp

log = logging.getLogger(__name__)


class SsoRefused(Exception):
    """A verified sign-in that opens no account: `kind` is "no_email", "unverified",
    "domain", "claim", "unknown" or "inactive"; `email` is the address the provider gave."""

    def __init__(self, kind: str, email: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.email = email


def _verified(value: object) -> bool:
    """email_verified as a boolean; a few providers send the string "true"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _has_claim(claims: Mapping[str, object], name: str, expected: str) -> bool:
    """Whether the claim is `expected`, or is a list holding it (groups, roles)."""
    value = claims.get(name)
    if isinstance(value, list):
        return expected in value
    return isinstance(value, (str, int)) and not isinstance(value, bool) \
        and str(value) == expected


def account_for(session: Session, claims: Mapping[str, object],
                settings: OidcSettings) -> AdminUser:
    """The active account whose email the provider verified; otherwise an SsoRefused."""
    raw = claims.get("email")
    shown = raw[:320] if isinstance(raw, str) else ""
    try:
        email = accounts.normalise_email(shown)
    except accounts.AccountError:
        raise SsoRefused("no_email", shown, "the id_token has no usable email claim "
                                            f"(email={raw!r:.100})") from None
    if not _verified(claims.get("email_verified")):
        raise SsoRefused("unverified", email, f"{email}: email_verified is "
                                              f"{claims.get('email_verified')!r:.20}")
    domain = email.rpartition("@")[2]
    if settings.email_domains and domain not in settings.email_domains:
        raise SsoRefused("domain", email, f"{email}: domain not in OIDC_EMAIL_DOMAINS")
    if settings.required_claim and not _has_claim(claims, *settings.required_claim):
        name, value = settings.required_claim
        raise SsoRefused("claim", email, f"{email}: the id_token's {name!r} does not hold "
                                         f"{value!r}")
    user = session.scalar(select(AdminUser).where(AdminUser.email == email))
    if user is None:
        raise SsoRefused("unknown", email, f"{email}: no console account with this address")
    if not user.active:
        raise SsoRefused("inactive", email, f"{email}: account deactivated")
    return user


def needs_code(user: AdminUser, settings: OidcSettings) -> bool:
    """Whether the account's own TOTP code is still asked for after the university's sign-in."""
    return bool(user.totp_secret) and not settings.skip_totp


def confirm_code(session: Session, user_id: int, code: str, address: str,
                 now: datetime) -> AdminUser:
    """The account once its TOTP code is right; a LoginRefused otherwise, throttled and
    counted like the password form's codes (six digits are guessable without a limit)."""
    user = session.get(AdminUser, user_id)
    if user is None or not user.active:
        raise accounts.LoginRefused("invalid", f"account #{user_id} is gone or deactivated")
    held = throttle.check(session, address, user.email, now)
    if held is not None:
        raise accounts.LoginRefused("throttled", f"{address} throttled ({held.scope}) for "
                                    f"{user.email!r} until {held.until}", held.until,
                                    held.scope)
    if not totp.check_code(session, user, code, now):
        throttle.record(session, address, user.email, False, now)
        raise accounts.LoginRefused("code", f"{user.email}: university sign-in, wrong or "
                                    "reused two-factor code")
    return user


def signed_in(session: Session, user: AdminUser, claims: Mapping[str, object], address: str,
              now: datetime) -> None:
    """Note a completed sign-in: the address becomes a known one, the audit log has a row."""
    throttle.record(session, address, user.email, True, now)
    user.failed_attempts, user.first_failed_at, user.locked_until = 0, None, None
    user.last_login_at = now
    record(session, admin_actor(user.email), "admin.sso_sign_in", target=f"admin {user.email}",
           details={"issuer": str(claims.get("iss", ""))[:200],
                    "sub": str(claims.get("sub", ""))[:200]},
           summary=f"signed in through {str(claims.get('iss', ''))[:200]}")


def refused(session: Session, problem: SsoRefused, claims: Mapping[str, object]) -> None:
    """One audit row per refusal of a sign-in the provider vouched for (strangers cannot add
    these: each needs a real sign-in at the university)."""
    who = problem.email or f"sub {str(claims.get('sub', ''))[:200]}"
    record(session, f"sso:{who}", "admin.sso_refused", target=f"admin {problem.email}",
           details={"reason": problem.kind, "issuer": str(claims.get("iss", ""))[:200],
                    "sub": str(claims.get("sub", ""))[:200]},
           summary=f"console sign-in through the university refused: {problem}")
