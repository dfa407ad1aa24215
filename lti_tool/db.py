"""Database engine and per-request session, set up by `init_app`."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import ConnectionPoolEntry

log = logging.getLogger(__name__)
T = TypeVar("T")
# A unit of work that lost a race (a row changed since it was read, or a unique row was
# inserted by someone else first) runs again on fresh data this many times at most.
RACE_RETRIES = 8


# A pooled PostgreSQL connection unused for longer than this (s) is pinged before use.
PING_AFTER_IDLE_S = 1.0

# Execution options of a statement that is a whole unit of work by itself: on PostgreSQL it
# commits on its own, without BEGIN and COMMIT round trips (it joins a transaction already open).
ALONE = {"alone": True}

# SQLite waits this long (ms) for another process's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys and a busy timeout like PostgreSQL's behaviour.

    SQLite also runs in WAL mode with synchronous=NORMAL: readers never wait for a writer, and
    a commit appends to the log instead of waiting for a synced write of the database file
    (a power cut may lose the last commits, never corrupt the file).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection,
                            _record: ConnectionPoolEntry) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not _in_memory(url):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if make_url(url).get_driver_name() != "psycopg":
        return create_engine(url, pool_pre_ping=True)
    return _postgres_engine(url)


def _postgres_engine(url: str) -> Engine:
    """A PostgreSQL (psycopg) engine whose transactions open at the first write and that
    pings idle connections only.

    The driver runs in autocommit mode and a transaction is opened (BEGIN) just before the
    first statement that writes or locks rows; the usual commit or rollback ends it. Reads
    before it see what READ COMMITTED (PostgreSQL's default) would show them inside it, each
    statement its own snapshot, and a page that only reads opens no transaction at all: no
    BEGIN and no ROLLBACK, which would also make psycopg drop its prepared statements (it
    forgets them on every rollback), so every statement would be planned afresh. SQLite's
    driver does the same (it begins before the first INSERT, UPDATE or DELETE).
    """
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    for hook in ("do_execute", "do_execute_no_params", "do_executemany"):
        event.listen(engine, hook, _begin_before_a_write)
    event.listen(engine, "connect", _mark_used)  # a new connection needs no ping
    event.listen(engine, "checkin", _mark_used)

    def ping_if_idle(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry,
                     _proxy: object) -> None:
        # A connection in steady use is known to be alive; one that sat idle may have been
        # cut by a database restart: the pool then replaces it before the request uses it.
        if time.monotonic() - record.info.get("used", 0.0) > PING_AFTER_IDLE_S:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError(f"idle connection is gone: {exc}") from exc

    event.listen(engine, "checkout", ping_if_idle)
    return engine


def _mark_used(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    """Note when a connection was opened or went back to the pool."""
    record.info["used"] = time.monotonic()


@functools.lru_cache(maxsize=1024)
def _writes(statement: str) -> bool:
    """Whether a statement needs a transaction: anything but a SELECT (or SHOW) that takes
    no locks. A SELECT of a function that writes would not be seen as a write: none is used."""
    return _READ.match(statement) is None


_READ = re.compile(r"\s*(?:SHOW\b|SELECT\b(?!.*(?:\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY|KEY\s+SHARE)\b"
                   r"|pg_advisory_xact)))", re.IGNORECASE | re.DOTALL)


def _begin_before_a_write(cursor: Any, statement: str, *args: Any) -> bool:
    """Open the transaction just before the first statement that writes or locks.

    A dialect-level hook, so that a failure here (the connection is gone) is handled like
    the statement's own: the pool is renewed and the request gets the try-again page.
    """
    options = args[-1].execution_options if args[-1] is not None else {}
    # A server-side cursor (stream_results) lives only inside a transaction.
    needed = (_writes(statement) and not options.get("alone")) or options.get("stream_results")
    if needed and cursor.connection.info.transaction_status == TransactionStatus.IDLE:
        cursor.connection.execute("BEGIN")  # not on a server-side cursor: it would DECLARE
    return False  # the statement itself is run as usual


def _in_memory(url: str) -> bool:
    """Whether a SQLite URL names an in-memory database (which has no log to keep)."""
    path = url.split("///", 1)[1] if "///" in url else ""
    return path in ("", ":memory:") or "mode=memory" in url


def init_app(app: Flask) -> None:
    """Attach an engine and session factory to the app and close sessions after requests."""
    url = app.config["SQLALCHEMY_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    app.extensions["lti_tool.engine"] = engine
    app.extensions["lti_tool.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session for this request or command, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["lti_tool.sessionmaker"]()
    session: Session = g.db_session
    return session


def _close_session(exc: BaseException | None) -> None:
    """Roll back anything uncommitted and return the connection to the pool."""
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def committed(session: Session, work: Callable[[], T], *, what: str = "change") -> T:
    """Run ``work`` and commit; when it lost a race with another request, run it again.

    ``work`` must read what it needs inside itself: after a lost race the session is rolled
    back and everything is read afresh, so the second run sees the winner's changes.
    """
    for attempt in range(1, RACE_RETRIES + 1):
        try:
            result = work()
            session.commit()
            return result
        except (StaleDataError, IntegrityError) as exc:
            session.rollback()
            if attempt == RACE_RETRIES:
                raise
            log.info("%s lost a race (%s); running it again", what, type(exc).__name__)
    raise AssertionError("unreachable")
