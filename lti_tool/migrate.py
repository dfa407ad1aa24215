"""Alembic, configured from code so `lti-tool db upgrade` needs no alembic.ini.

Upgrades hold a PostgreSQL advisory lock, so several pods starting at once migrate one after
another (the later ones find nothing to do). Downgrades say what data they would drop.
"""

from __future__ import annotations

import ast
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock takes a bigint; a fixed one derived from a name keeps it recognisable.
LOCK_ID = zlib.crc32(b"lti-tool db upgrade")


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration pointing at our migrations and the given database."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def safe_url(database_url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(database_url).render_as_string(hide_password=True)


@contextmanager
def _upgrade_lock(database_url: str) -> Iterator[None]:
    """Hold a session-level advisory lock on PostgreSQL while migrating (nothing on SQLite)."""
    if make_url(database_url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
                connection.commit()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the database schema up to `revision`; concurrent callers wait for each other."""
    with _upgrade_lock(database_url):
        command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database schema back to `revision`."""
    with _upgrade_lock(database_url):
        command.downgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)


# -- what a downgrade would drop -----------------------------------------------------------
@dataclass(frozen=True)
class Loss:
    """One table or column a downgrade removes, with the rows that hold data in it."""

    revision: str
    table: str
    column: str | None
    rows: int | None

    def __str__(self) -> str:
        what = f"column {self.table}.{self.column}" if self.column else f"table {self.table}"
        rows = "" if self.rows is None else f" ({self.rows} row{'s' * (self.rows != 1)})"
        return f"{what}{rows}, by migration {self.revision}"


def downgrade_losses(database_url: str, target: str) -> tuple[list[str], list[Loss]]:
    """The revisions a downgrade to `target` reverts and the tables and columns they drop."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
            existing = set(inspect(connection).get_table_names())
            reverted = [s for head in heads for s in script.iterate_revisions(head, target)
                        if s.revision not in ("base",)] if heads else []
            losses = []
            for migration in reverted:
                for table_name, column in _drops(Path(migration.path)):
                    rows = None
                    if table_name in existing:
                        rows = connection.scalar(select(func.count()).select_from(
                            table(table_name)))
                    losses.append(Loss(migration.revision, table_name, column, rows))
    finally:
        engine.dispose()
    return [f"{s.revision} ({s.doc})" for s in reverted], losses


def _drops(path: Path) -> list[tuple[str, str | None]]:
    """(table, column or None) for each drop_table/drop_column in a migration's downgrade()."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, str | None]] = []
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name == "downgrade"):
            continue
        batch_tables: dict[str, str] = {}
        for inner in ast.walk(node):
            if isinstance(inner, ast.With):
                for item in inner.items:
                    call = item.context_expr
                    if (isinstance(call, ast.Call) and _name(call.func) == "batch_alter_table"
                            and call.args and isinstance(item.optional_vars, ast.Name)):
                        batch_tables[item.optional_vars.id] = _literal(call.args[0])
            if not isinstance(inner, ast.Call):
                continue
            name = _name(inner.func)
            args = [_literal(a) for a in inner.args]
            if name == "drop_table" and args:
                found.append((args[0], None))
            elif name == "drop_column":
                owner = inner.func.value if isinstance(inner.func, ast.Attribute) else None
                if isinstance(owner, ast.Name) and owner.id in batch_tables and args:
                    found.append((batch_tables[owner.id], args[0]))
                elif len(args) >= 2:
                    found.append((args[0], args[1]))
    return found


def _name(func_node: ast.expr) -> str:
    """The called function's last name: op.drop_table -> drop_table."""
    if isinstance(func_node, ast.Attribute):
        return func_node.attr
    return func_node.id if isinstance(func_node, ast.Name) else ""


def _literal(node: ast.expr) -> str:
    """A string literal's value, or '?' for anything computed."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else "?"
