"""What launches tell us: users, courses, memberships, resource links and the launches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CreatedMixin, utcnow
from .platform import Deployment, Registration


class LtiUser(CreatedMixin, Base):
    """A person as one registration knows them (`sub`); names only if the platform sent them."""

    __tablename__ = "lti_user"
    __table_args__ = (UniqueConstraint("registration_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Looked up through the unique (registration_id, sub) index; no index of its own.
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    # The person's user_id under the platform's LTI 1.1 tool, from a verified lti1p1 claim.
    lti1p1_user_id: Mapped[str | None] = mapped_column(String(255))
    last_launch_at: Mapped[datetime] = mapped_column(default=utcnow)

    registration: Mapped[Registration] = relationship()

    @property
    def display_name(self) -> str:
        """The best name we have, falling back to something neutral."""
        full = self.name or " ".join(p for p in (self.given_name, self.family_name) if p)
        return full or "there"


class Context(CreatedMixin, Base):
    """A course (or other context) on a platform, seen through one deployment."""

    __tablename__ = "context"
    __table_args__ = (UniqueConstraint("deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(  # indexed by the unique constraint above
        ForeignKey("deployment.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    types: Mapped[list[str]] = mapped_column(default=list)
    # Names and Role Provisioning Service offered by the platform, for rosters later.
    nrps_url: Mapped[str | None] = mapped_column(String(1000))
    nrps_versions: Mapped[list[str]] = mapped_column(default=list)

    deployment: Mapped[Deployment] = relationship()


class Membership(CreatedMixin, Base):
    """A user's roles in a context, as of their latest launch."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("context_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("lti_user.id", ondelete="CASCADE"), index=True
    )
    roles: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    context: Mapped[Context] = relationship()
    user: Mapped[LtiUser] = relationship()


class ResourceLink(CreatedMixin, Base):
    """A placement of the tool in a course; AGS endpoints are kept for grade passback."""

    __tablename__ = "resource_link"
    __table_args__ = (UniqueConstraint("context_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ags_lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    ags_lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[list[str]] = mapped_column(default=list)
    # The module this link delivers and how it is marked (set by a lecturer or deep linking).
    module_id: Mapped[str | None] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)

    context: Mapped[Context] = relationship()


class Launch(CreatedMixin, Base):
    """One accepted launch, with the claims it carried, so later pages can act on it."""

    __tablename__ = "launch"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("lti_user.id", ondelete="CASCADE"), index=True
    )
    context_id: Mapped[int | None] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"))
    resource_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_link.id", ondelete="CASCADE")
    )
    message_type: Mapped[str] = mapped_column(String(100))
    roles: Mapped[list[str]] = mapped_column(default=list)
    claims: Mapped[dict[str, Any]] = mapped_column(default=dict)

    deployment: Mapped[Deployment] = relationship()
    user: Mapped[LtiUser] = relationship()
    context: Mapped[Context | None] = relationship()
    resource_link: Mapped[ResourceLink | None] = relationship()


class LaunchFailure(CreatedMixin, Base):
    """A rejected login or launch, kept so admins can see why launches fail."""

    __tablename__ = "launch_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str | None] = mapped_column(String(500))
    deployment_id: Mapped[str | None] = mapped_column(String(500))
