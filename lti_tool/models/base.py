"""Declarative base with named constraints and shared column helpers."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A DateTime stored in UTC that always comes back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None,
                           dialect: Dialect) -> datetime | None:
        """Store aware datetimes converted to UTC."""
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value: datetime | None,
                             dialect: Dialect) -> datetime | None:
        """Give back aware datetimes in UTC."""
        if value is None or value.tzinfo is timezone.utc:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        # PostgreSQL answers in the session's TimeZone (a server set to Europe/London would
        # give summer times an hour ahead, and pages label them UTC).
        return value.astimezone(timezone.utc)


def str_enum(enum_class: type[enum.Enum]) -> Enum:
    """A portable column for a str Enum: its values stored as VARCHAR, no database ENUM type."""
    return Enum(enum_class, native_enum=False, length=20,
                values_callable=lambda members: [m.value for m in members])


class Base(DeclarativeBase):
    """Base class of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # JSON columns: each annotation used must be listed (SQLAlchemy matches generics exactly);
    # bare dict and list stay so a new `Mapped[dict]` still maps, though strict mypy refuses it.
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON, dict[str, Any]: JSON,
                           list[str]: JSON, list[dict[str, Any]]: JSON}


class CreatedMixin:
    """Adds a created_at timestamp."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
