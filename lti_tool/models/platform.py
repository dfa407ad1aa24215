"""Platform registrations (issuer + client id) and their deployments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CreatedMixin, str_enum


class DeploymentStatus(str, enum.Enum):
    """Whether launches through a deployment are let in."""

    PENDING = "pending"
    APPROVED = "approved"
    DISABLED = "disabled"


class Registration(CreatedMixin, Base):
    """One client id that a platform issued to this tool."""

    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    key_set_url: Mapped[str] = mapped_column(String(1000))
    auth_audience: Mapped[str | None] = mapped_column(String(1000))
    # The LTI 1.1 key and secret this platform used before 1.3: they check the lti1p1 claim.
    lti1p1_key: Mapped[str | None] = mapped_column(String(255))
    lti1p1_secret: Mapped[str | None] = mapped_column(String(255))
    auto_approve_deployments: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", order_by="Deployment.id"
    )


class Deployment(CreatedMixin, Base):
    """A deployment id under a registration; Blackboard tells institutions apart by these."""

    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(  # indexed by the unique constraint above
        ForeignKey("registration.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(500))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[DeploymentStatus] = mapped_column(
        str_enum(DeploymentStatus),
        default=DeploymentStatus.PENDING,
    )
    approved_at: Mapped[datetime | None]

    registration: Mapped[Registration] = relationship(back_populates="deployments")
