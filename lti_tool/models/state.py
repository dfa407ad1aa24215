"""Short-lived protocol state shared by every app process: OIDC logins and platform key sets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, CreatedMixin


class LoginState(CreatedMixin, Base):
    """The state and nonce of one OIDC login, consumed by exactly one launch."""

    __tablename__ = "login_state"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), unique=True)
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    target_link_uri: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    # The platform's frame that keeps state and nonce (LTI Client Side postMessages), when
    # the login offered one: the launch may then prove its state without a cookie.
    storage_target: Mapped[str | None] = mapped_column(String(200))


class PlatformKeySet(Base):
    """A platform's JWKS as last fetched, refetched when stale or when a `kid` is unknown."""

    __tablename__ = "platform_key_set"

    url: Mapped[str] = mapped_column(String(1000), primary_key=True)
    jwks: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]
