"""One-time links that let a platform register the tool by LTI Dynamic Registration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CreatedMixin
from .platform import Registration


class RegistrationInvite(CreatedMixin, Base):
    """A registration link: works once, until it expires; only the token's SHA-256 is kept."""

    __tablename__ = "registration_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A leaked database must not yield working links, so the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Removing the registration later keeps the invite as a used record.
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL"))

    registration: Mapped[Registration | None] = relationship()
