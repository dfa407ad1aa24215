"""SQL helpers every area shares; plain SQLAlchemy, no Flask."""

from __future__ import annotations

import functools
import json
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Label,
    Row,
    Table,
    TextualSelect,
    bindparam,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Dialect
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


def table_of(model: type[Any]) -> Table:
    """A mapped model's table (SQLAlchemy types ``__table__`` as any FROM clause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def upsert(connection: Connection, table: Table, key: dict[str, Any], always: dict[str, Any],
           when_sent: dict[str, Any], returning: tuple[str, ...] = ("id",)) -> Row[Any]:
    """Insert the row or update it in place, in one statement; the RETURNING row.

    ``always`` columns take the new value; ``when_sent`` ones only when it is not None (a
    platform that leaves a name out keeps the one it sent before).
    """
    sent = {name: value for name, value in when_sent.items() if value is not None}
    statement, defaults = _upsert_text(connection.dialect.name, table, tuple(key),
                                       tuple(always), tuple(sent), returning)
    # Python-side defaults (created_at, empty lists) for the columns not given, as the ORM does
    filled = {c.name: c.default.arg(None) for c in defaults}  # type: ignore[union-attr]
    return connection.execute(statement, {**filled, **key, **always, **sent}).one()


def prefixed(table: Table, prefix: str) -> list[Label[Any]]:
    """Every column of a table labelled ``<prefix><name>``: several rows in one SELECT's row."""
    return [column.label(f"{prefix}{column.name}") for column in table.c]


def holds(row: Row[Any] | None, prefix: str, always: dict[str, Any],
          when_sent: dict[str, Any]) -> bool:
    """Whether a row read with `prefixed` columns already holds what `upsert`
    would write (so the write can be left out)."""
    if row is None or getattr(row, f"{prefix}id") is None:
        return False
    return all(_same(getattr(row, prefix + name), value) for name, value in always.items()) \
        and all(value is None or _same(getattr(row, prefix + name), value)
                for name, value in when_sent.items())


def _same(stored: Any, sent: Any) -> bool:
    """Equal as JSON: 1, 1.0 and true differ to a platform (and to whoever reads them later),
    though Python calls them equal."""
    if type(stored) is not type(sent):
        return False
    if isinstance(sent, (dict, list)):
        return json.dumps(stored, sort_keys=True) == json.dumps(sent, sort_keys=True)
    return bool(stored == sent)


@functools.cache
def _upsert_text(dialect: str, table: Table, key: tuple[str, ...], always: tuple[str, ...],
                 when_sent: tuple[str, ...],
                 returning: tuple[str, ...]) -> tuple[TextualSelect, list[Column[Any]]]:
    """The upsert as SQL text, built once per shape.

    SQLAlchemy never caches ON CONFLICT statements (their Insert sets inherit_cache = False),
    so building and compiling one on every launch cost more than running it; text is cached.
    """
    base: Dialect = (
        PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
        if dialect == "postgresql" else SQLiteDialect(paramstyle="named"))
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    defaults = [c for c in table.columns if c.name not in (*key, *always, *when_sent)
                and c.default is not None and c.default.is_callable]
    names = (*(c.name for c in defaults), *key, *always, *when_sent)
    # Untyped here so that no dialect renders casts (":x::JSON") into the text; the text's own
    # parameters below carry the column types that convert the values.
    statement = insert(table).values({n: literal_column(":" + n) for n in names})
    changes: dict[str, Any] = {n: statement.excluded[n] for n in (*always, *when_sent)}
    if not changes:  # never an empty SET: DO UPDATE (unlike DO NOTHING) returns the row
        changes = {key[0]: statement.excluded[key[0]]}
    sql = str(statement.on_conflict_do_update(index_elements=list(key), set_=changes)
              .returning(*(table.c[n] for n in returning)).compile(dialect=base))
    return (text(sql).bindparams(*(bindparam(n, type_=table.c[n].type) for n in names))
            .columns(*(table.c[n] for n in returning)), defaults)
