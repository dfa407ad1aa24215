"""Migrations and models describe the same schema, and migrate down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from lti_tool import migrate
from lti_tool.models import Base


def test_migrations_match_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_nothing_and_back(database_url):
    migrate.downgrade(database_url, "base")
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(database_url)
    assert "launch" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrations_form_one_line():
    from alembic.script import ScriptDirectory

    from lti_tool.migrate import alembic_config

    # Parallel work may branch the history; it must be joined before it lands.
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1
