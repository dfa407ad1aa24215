"""The tool's own administrators and their console sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class AdminUser(Base):
    """An administrator of the tool (not a VLE user): signs in to /admin with a password."""

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so "Ann@Uni.ac.uk" and "ann@uni.ac.uk" are one account.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Failed sign-ins in the current window, which began at first_failed_at.
    failed_attempts: Mapped[int] = mapped_column(default=0)
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    # TOTP two-factor (lti_tool.admin.totp): the base32 secret once enrolled, and the last
    # time step used, so a code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None]


class AdminSession(Base):
    """One signed-in console session; the cookie holds a token whose SHA-256 is the id.

    Kept on the server so that signing out, a password change or deactivating the account
    ends the session even if someone kept a copy of the cookie.
    """

    __tablename__ = "admin_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    admin: Mapped[AdminUser] = relationship()


class AdminSignIn(Base):
    """One console sign-in attempt: the counts behind throttling by address and account.

    Failures are kept for the throttling window; successes for KNOWN_FOR (lti_tool.admin.
    throttle), so an address an admin has used before stays open while strangers are held off.
    """

    __tablename__ = "admin_sign_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    ok: Mapped[bool] = mapped_column(default=False)
