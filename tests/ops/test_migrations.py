"""`db upgrade` from several pods at once, `db downgrade` that names what it drops."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import create_engine, inspect, text

from lti_tool import migrate

from ..concurrency import together
from .helpers import BIN, ROOT, clean_env, free_port, lti_tool


@pytest.fixture
def empty_postgres(pg_cluster):
    """A new, empty PostgreSQL database (no migrations applied)."""
    cluster, reason = pg_cluster
    if cluster is None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    url = cluster.create_database()
    yield url
    cluster.drop_database(url)


def _version(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("trial", range(3))
def test_two_processes_upgrade_an_empty_database_at_once(empty_postgres, tmp_path, trial):
    env = clean_env(LTI_TOOL_DATABASE_URL=empty_postgres, LTI_TOOL_INSTANCE_DIR=str(tmp_path))
    procs = [subprocess.Popen([str(BIN / "lti-tool"), "db", "upgrade"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=180) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert all("Database is at heads." in out for out, _ in outputs)
    assert len(_version(empty_postgres)) == 1


@pytest.mark.postgres
def test_two_threads_upgrade_at_once(empty_postgres):
    together(lambda: migrate.upgrade(empty_postgres), lambda: migrate.upgrade(empty_postgres))
    assert _version(empty_postgres) == [_head()]


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def test_downgrade_names_what_goes_and_asks_for_yes(runner, app, database_url):
    before = _version(database_url)
    refused = runner.invoke(["db", "downgrade", "0006"])
    assert refused.exit_code == 1
    assert "column attempt.version" in refused.output
    assert "table reflection_mark (0 rows)" in refused.output
    assert "table roster_member" in refused.output and "--yes" in refused.output
    assert _version(database_url) == before  # nothing changed

    done = runner.invoke(["db", "downgrade", "0006", "--yes"])
    assert done.exit_code == 0, done.output
    assert "Dropped table reflection_mark" in done.output
    assert _version(database_url) == ["0006"]
    engine = create_engine(database_url)
    try:
        assert "reflection_mark" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert runner.invoke(["db", "upgrade"]).exit_code == 0


def test_downgrade_counts_rows_it_would_lose(runner, app, database_url, db, moodle):
    from lti_tool.models import Registration

    registrations = db.query(Registration).count()
    refused = runner.invoke(["db", "downgrade", "base"])
    assert refused.exit_code == 1
    plural = "row" if registrations == 1 else "rows"
    assert f"table registration ({registrations} {plural})" in refused.output


def test_upgrade_against_an_unreachable_database_is_one_line(tmp_path):
    url = f"postgresql+psycopg://lti:secret-pw@127.0.0.1:{free_port()}/lti?connect_timeout=3"
    result = lti_tool("db", "upgrade", env=clean_env(LTI_TOOL_DATABASE_URL=url,
                                                     LTI_TOOL_INSTANCE_DIR=str(tmp_path)))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: cannot reach the database at postgresql+psycopg://lti:***@")
    assert "secret-pw" not in result.stderr
