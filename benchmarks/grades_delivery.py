"""Scores delivered per second to a loopback grade service, in-process and by real workers.

One run, one database, one loopback platform (tests/grades/platform.py: Moodle-like, HTTP/1.1
keep-alive, records every score). Each row of the table gets a fresh queue of N students'
scores and times their delivery:

- in this process, claims of one row and a token request per score (the oldest way);
- in this process, claims of one row with the token cache: the baseline every ratio is
  against (one short claim transaction per score, as before claims came in batches);
- in this process, claims in batches (`claims.CLAIM_SIZE`) with the token cache;
- 1, then 2 real `lti-tool grades work` processes, started first and idle (polling every
  0.1 s); the queue is released in one UPDATE and the clock runs until the database says
  every score is delivered.

Every score is checked to have arrived exactly once. SQL statements per score are counted for
the in-process rows (SQLAlchemy events). Nothing here asserts a threshold; it measures.

    .venv/bin/python benchmarks/grades_delivery.py [--scores 2000] [--workers 1,2]
        [--postgres | --database-url URL]

`--postgres` starts a throwaway PostgreSQL cluster as the test suite does (tests/pg.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import event, func, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lti_tool import create_app, migrate  # noqa: E402
from lti_tool.config import TestConfig  # noqa: E402
from lti_tool.grades import (  # noqa: E402
    DatabaseTokenCache,
    Progress,
    UncachedTokens,
    deliver_pending,
    queue_score,
)
from lti_tool.grades.claims import CLAIM_SIZE  # noqa: E402
from lti_tool.keys import Keyring  # noqa: E402
from lti_tool.models import GradeDelivery, LtiUser, ResourceLink  # noqa: E402
from lti_tool.models.base import utcnow  # noqa: E402
from lti_tool.models.grades import DeliveryStatus  # noqa: E402
from tests.grades.conftest import CLIENT_ID, make_course  # noqa: E402
from tests.grades.platform import AgsPlatform  # noqa: E402

HOLD = timedelta(days=1)  # seeded rows wait this far in the future until released


@dataclass
class Row:
    """One line of the table."""

    label: str
    scores: int
    seconds: float
    statements: int | None = None
    tokens: int | None = None

    @property
    def rate(self) -> float:
        """Scores per second."""
        return self.scores / self.seconds


def seed(factory, course, tag: str, count: int) -> list[int]:
    """`count` new students, each with a submitted attempt whose score is queued through the
    tool's own service, held back (not yet due); the outbox ids."""
    ids: list[int] = []
    with factory() as session:
        link = session.get(ResourceLink, course.link.id)
        for start in range(0, count, 500):
            users = [LtiUser(registration_id=course.registration_id, sub=f"{tag}-{n}",
                             name=f"Student {n}") for n in range(start, min(count, start + 500))]
            session.add_all(users)
            session.flush()
            chunk = []
            for user in users:
                attempt = course.attempt(user, 80.0, number=1, link=link, session=session)
                chunk.append(queue_score(session, attempt, None, Progress.SUBMITTED).id)
            session.execute(update(GradeDelivery).where(GradeDelivery.id.in_(chunk))
                            .values(next_attempt_at=utcnow() + HOLD))
            session.commit()
            ids.extend(chunk)
    return ids


def release(factory, ids: list[int]) -> None:
    """Make the held rows due now, in one transaction."""
    with factory() as session:
        session.execute(update(GradeDelivery).where(GradeDelivery.id.in_(ids))
                        .values(next_attempt_at=utcnow()))
        session.commit()


def delivered(factory, ids: list[int]) -> int:
    """How many of these rows the outbox calls delivered."""
    with factory() as session:
        return session.scalar(select(func.count()).select_from(GradeDelivery).where(
            GradeDelivery.id.in_(ids), GradeDelivery.status == DeliveryStatus.DELIVERED))


def check_once(platform: AgsPlatform, tag: str, count: int) -> None:
    """Every student of this run got exactly one score."""
    subs = Counter(s["userId"] for s in platform.accepted_scores()
                   if s["userId"].startswith(f"{tag}-"))
    assert len(subs) == count and set(subs.values()) == {1}, "a score lost or sent twice"


def in_process(factory, course, platform, keyring, engine, label: str, scores: int, *,
               claim_size: int, cached: bool) -> Row:
    """Deliver a fresh queue in this process with `deliver_pending`."""
    tag = secrets.token_hex(3)
    ids = seed(factory, course, tag, scores)
    release(factory, ids)
    count = [0]

    def counted(*_args) -> None:
        count[0] += 1

    tokens_before = platform.count("token")
    event.listen(engine, "before_cursor_execute", counted)
    try:
        with requests.Session() as http:
            tokens = DatabaseTokenCache(factory, keyring, http) if cached else \
                UncachedTokens(keyring, http)
            start = time.perf_counter()
            report = deliver_pending(factory, http, limit=scores + 1, keyring=keyring,
                                     tokens=tokens, claim_size=claim_size)
            elapsed = time.perf_counter() - start
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert len(report.delivered) == scores, report
    check_once(platform, tag, scores)
    return Row(label, scores, elapsed, count[0], platform.count("token") - tokens_before)


def worker_processes(factory, course, platform, workdir: Path, url: str, scores: int,
                     count: int) -> Row:
    """`count` real, idle `lti-tool grades work` processes deliver a queue released at once."""
    tag = secrets.token_hex(3)
    ids = seed(factory, course, tag, scores)
    env = {**os.environ, "LTI_TOOL_DATABASE_URL": url, "LTI_TOOL_KEYS_DIR": str(workdir / "keys"),
           "LTI_TOOL_INSTANCE_DIR": str(workdir / "instance"),
           "LTI_TOOL_BASE_URL": "http://localhost", "LTI_TOOL_SECRET_KEY": secrets.token_hex(32),
           "LTI_TOOL_LOG_LEVEL": "warning"}
    logs = [workdir / f"worker-{tag}-{n}.log" for n in range(count)]
    processes = []
    for log in logs:
        with open(log, "w") as out:
            processes.append(subprocess.Popen(
                [str(ROOT / ".venv/bin/lti-tool"), "grades", "work", "--interval", "0.1"],
                env=env, stdout=out, stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 120
        while not all("grades: working" in log.read_text() for log in logs):
            assert time.monotonic() < deadline and all(p.poll() is None for p in processes), \
                [log.read_text() for log in logs]
            time.sleep(0.05)
        tokens_before = platform.count("token")
        release(factory, ids)
        start = time.perf_counter()
        deadline = time.monotonic() + 600
        while delivered(factory, ids) < scores:
            assert time.monotonic() < deadline, "not delivered within 10 minutes"
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in processes]
    assert codes == [0] * count, [log.read_text() for log in logs]
    check_once(platform, tag, scores)
    label = f"{count} `lti-tool grades work` process{'es' if count > 1 else ''}"
    return Row(label, scores, elapsed, None, platform.count("token") - tokens_before)


def run(scores: int, database_url: str | None, workers: tuple[int, ...] = (1, 2)) -> None:
    """Every row of the table on one database; print it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="grades-bench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    migrate.upgrade(url)
    app = create_app(TestConfig(INSTANCE_DIR=workdir / "instance", SQLALCHEMY_DATABASE_URL=url,
                                KEYS_DIR=workdir / "keys", BASE_URL="http://localhost"))
    keyring = Keyring(workdir / "keys")
    keyring.generate()
    platform = AgsPlatform(CLIENT_ID, keyring.public_jwks)
    factory = app.extensions["lti_tool.sessionmaker"]
    engine = app.extensions["lti_tool.engine"]
    db = factory()
    course = make_course(app, db, platform)
    kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    rows: list[Row] = []
    try:
        common = (factory, course, platform, keyring, engine)
        rows.append(in_process(*common, "in-process, claims of 1, a token request per score",
                               scores, claim_size=1, cached=False))
        rows.append(in_process(*common, "in-process, claims of 1, token cache (baseline)",
                               scores, claim_size=1, cached=True))
        rows.append(in_process(*common, f"in-process, claims of {CLAIM_SIZE}, token cache",
                               scores, claim_size=CLAIM_SIZE, cached=True))
        for count in workers:
            rows.append(worker_processes(factory, course, platform, workdir, url, scores,
                                         count))
    finally:
        db.close()
        platform.close()
        engine.dispose()
    baseline = rows[1].rate
    print(f"\nGrade delivery, {scores} scores per row, {kind}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| run | seconds | scores/s | × baseline | SQL statements / score | token requests |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        statements = f"{row.statements / row.scores:.2f}" if row.statements is not None \
            else "(other process)"
        print(f"| {row.label} | {row.seconds:.2f} | {row.rate:.0f} | {row.rate / baseline:.2f}× "
              f"| {statements} | {row.tokens} |")


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=int, default=2000)
    parser.add_argument("--workers", default="1,2",
                        help="also run this many `lti-tool grades work` processes (comma list)")
    parser.add_argument("--database-url", default=None,
                        help="default: a throwaway SQLite file")
    parser.add_argument("--postgres", action="store_true",
                        help="run on a throwaway PostgreSQL cluster")
    args = parser.parse_args()
    workers = tuple(int(w) for w in args.workers.split(",") if w)
    if not args.postgres:
        run(args.scores, args.database_url, workers)
        return
    from tests.pg import throwaway_database

    with throwaway_database() as url:
        run(args.scores, url, workers)


if __name__ == "__main__":
    main()
