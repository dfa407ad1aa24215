"""Transactions as the database sees them: a unit of work is all or nothing, and on PostgreSQL
a read opens no transaction, so the driver keeps its prepared statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from lti_tool.db import ALONE, make_engine
from lti_tool.models import LoginState

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
def engine(database_url):
    """The tool's engine for the database, disposed after the test."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    """Sessions on that engine, as requests get them."""
    return sessionmaker(bind=engine)


def _values(state: str, nonce: str) -> dict[str, object]:
    return {"state": state, "nonce": nonce, "issuer": "https://vle.test", "client_id": "c",
            "target_link_uri": "https://tool.test/",
            "expires_at": datetime.now(UTC) + timedelta(minutes=5)}


def _state(state: str, nonce: str) -> LoginState:
    return LoginState(**_values(state, nonce))


def test_a_unit_of_work_that_fails_halfway_leaves_nothing_behind(sessions):
    with sessions() as session:
        session.add(_state("kept", "n-kept"))
        session.commit()
    with sessions() as session:
        # a read first: on PostgreSQL the transaction opens later, at the first write
        assert session.scalar(select(func.count()).select_from(LoginState)) == 1
        session.add(_state("first", "n-first"))
        session.flush()  # written, not committed
        session.add(_state("second", "n-kept"))  # the nonce is taken
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    with sessions() as session:
        assert session.scalars(select(LoginState.state)).all() == ["kept"]


@POSTGRES_ONLY
def test_a_row_lock_holds_until_commit(sessions):
    """SELECT ... FOR UPDATE opens the transaction, so its lock lasts until the commit."""
    with sessions() as session:
        session.add(_state("locked", "n-locked"))
        session.commit()
    with sessions() as holder, sessions() as other:
        holder.scalars(select(LoginState).where(LoginState.state == "locked")
                       .with_for_update()).one()
        free = other.scalars(select(LoginState).where(LoginState.state == "locked")
                             .with_for_update(skip_locked=True)).all()
        assert free == []  # the holder's lock is still there
        holder.commit()
        other.rollback()
        free = other.scalars(select(LoginState).where(LoginState.state == "locked")
                             .with_for_update(skip_locked=True)).all()
        assert [row.state for row in free] == ["locked"]
        other.rollback()


@POSTGRES_ONLY
def test_pages_that_only_read_keep_the_statements_prepared(engine, sessions):
    """psycopg prepares a statement after 5 uses on a connection and forgets all of them at
    every ROLLBACK; a session that only read must not send one."""
    query = select(LoginState).where(LoginState.state == "nobody")
    for _ in range(8):  # one page view each, as a request's session is used and closed
        with sessions() as session:
            assert session.scalars(query).all() == []
    with engine.connect() as connection:
        prepared = connection.execute(text(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
        )).all()
        status = connection.connection.dbapi_connection.info.transaction_status
    assert [uses for statement, uses in prepared if "FROM login_state" in statement] == [3]
    assert status.name == "IDLE"  # that read did not leave a transaction open either


@POSTGRES_ONLY
def test_a_statement_alone_commits_by_itself_unless_a_transaction_is_open(sessions):
    """ALONE spares a one-statement unit of work (a login) its BEGIN and COMMIT."""
    states = select(LoginState.state).order_by(LoginState.state)
    with sessions() as writer, sessions() as reader:
        row = _values("alone", "n-alone")
        writer.connection().execute(insert(LoginState), row, execution_options=ALONE)
        assert reader.scalars(states).all() == ["alone"]  # before the writer commits
        writer.commit()

        writer.add(_state("joined", "n-joined"))
        writer.flush()  # the transaction is open now
        row.update(state="joining", nonce="n-joining")
        writer.connection().execute(insert(LoginState), row, execution_options=ALONE)
        assert reader.scalars(states).all() == ["alone"]
        writer.rollback()
        assert reader.scalars(states).all() == ["alone"]


@POSTGRES_ONLY
def test_streamed_reads_and_transaction_scoped_locks_run_in_a_transaction(sessions):
    """A server-side cursor and pg_advisory_xact_lock exist only inside a transaction."""
    with sessions() as session:
        session.add_all(_state(f"s{n}", f"n{n}") for n in range(5))
        session.commit()
    with sessions() as session:
        streamed = session.scalars(select(LoginState.state).order_by(LoginState.state)
                                   .execution_options(yield_per=2))
        assert list(streamed) == [f"s{n}" for n in range(5)]
    with sessions() as holder, sessions() as other:
        holder.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        assert other.scalar(text("SELECT pg_try_advisory_xact_lock(4242)")) is False
        other.rollback()
        holder.commit()
        assert other.scalar(text("SELECT pg_try_advisory_xact_lock(4242)")) is True
        other.rollback()


@POSTGRES_ONLY
def test_only_connections_that_sat_idle_are_pinged(engine, monkeypatch):
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(1) or real_ping(c))
    for _ in range(3):  # a new connection, then the same one in steady use
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    assert pings == []
    monkeypatch.setattr("lti_tool.db.PING_AFTER_IDLE_S", 0.0)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert pings == [1]
