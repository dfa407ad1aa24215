"""Database engine and per-request session, set up by `init_app`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import ConnectionPoolEntry

log = logging.getLogger(__name__)
T = TypeVar("T")
# A unit of work that lost a race (a row changed since it was read, or a unique row was
# inserted by someone else first) runs again on fresh data this many times at most.
RACE_RETRIES = 8


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
    return create_engine(url, pool_pre_ping=True)


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
