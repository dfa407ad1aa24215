"""SQL helpers every area shares; plain SQLAlchemy, no Flask."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

T = TypeVar("T")


def get_or_insert(session: Session, model: type[T], defaults: dict[str, Any] | None = None,
                  **key: Any) -> T:
    """The row with this unique key, inserted first (with ``defaults``) if missing; race-free.

    INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike) means two requests
    creating the same row at once both end with the one row, where a SELECT-then-INSERT would
    give one of them a unique-key error.
    """
    found = session.scalar(select(model).filter_by(**key))
    if found is not None:
        return found
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # Core applies the columns' Python defaults, as the ORM would.
    session.execute(insert(model).values(**(defaults or {}), **key)
                    .on_conflict_do_nothing(index_elements=list(key)))
    return session.scalars(select(model).filter_by(**key)
                           .execution_options(populate_existing=True)).one()
