"""Deliveries per second for N queued scores against a loopback grade service.

Runs the same queue twice in one process: with the database token cache (one token request
per lifetime) and with a token request per score (the baseline), and prints both rates and
their ratio; then real `lti-tool grades work --once` processes (1, then 2) on a fresh queue,
checking every score arrived exactly once. Nothing here asserts a threshold; it measures.

    .venv/bin/python benchmarks/grades_delivery.py [--scores 200] [--postgres | --database-url URL]

`--postgres` starts a throwaway PostgreSQL cluster as the test suite does (tests/pg.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lti_tool import create_app, migrate  # noqa: E402
from lti_tool.config import TestConfig  # noqa: E402
from lti_tool.grades import DatabaseTokenCache, UncachedTokens, deliver_pending  # noqa: E402
from lti_tool.keys import Keyring  # noqa: E402
from lti_tool.models.base import utcnow  # noqa: E402
from tests.grades.conftest import CLIENT_ID, make_course  # noqa: E402
from tests.grades.platform import AgsPlatform  # noqa: E402


def worker_processes(course, platform, workdir: Path, url: str, scores: int,
                     count: int) -> float:
    """Deliveries/s of `count` real worker processes on one queue, every score exactly once.

    The clock runs from the first process started to the last one done, start-up included.
    """
    tag = f"w{count}-{secrets.token_hex(2)}"
    users = [course.student(f"{tag}-{n}") for n in range(scores)]
    for user in users:
        course.queue(course.attempt(user, 80.0))
    before = len(platform.accepted_scores())
    env = {**os.environ, "LTI_TOOL_DATABASE_URL": url, "LTI_TOOL_KEYS_DIR": str(workdir / "keys"),
           "LTI_TOOL_INSTANCE_DIR": str(workdir / "instance"),
           "LTI_TOOL_BASE_URL": "http://localhost", "LTI_TOOL_SECRET_KEY": secrets.token_hex(32),
           "LTI_TOOL_LOG_LEVEL": "warning"}
    start = time.perf_counter()
    processes = [subprocess.Popen([str(ROOT / ".venv/bin/lti-tool"), "grades", "work", "--once",
                                   "--batch", str(scores + 1)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(count)]
    for process in processes:
        process.wait(timeout=600)
    elapsed = time.perf_counter() - start
    sent = platform.accepted_scores()[before:]
    subs = [score.get("userId") for score in sent]
    assert len(sent) == scores and len(set(subs)) == scores, "a score lost or sent twice"
    return scores / elapsed


def run(scores: int, database_url: str | None, workers: tuple[int, ...] = (1, 2)) -> None:
    """Queue, deliver with and without the token cache, print the figures."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    workdir = Path(tempfile.mkdtemp(prefix="grades-bench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    migrate.upgrade(url)
    app = create_app(TestConfig(INSTANCE_DIR=workdir / "instance", SQLALCHEMY_DATABASE_URL=url,
                                KEYS_DIR=workdir / "keys", BASE_URL="http://localhost"))
    keyring = Keyring(workdir / "keys")
    keyring.generate()
    platform = AgsPlatform(CLIENT_ID, keyring.public_jwks)
    factory = app.extensions["lti_tool.sessionmaker"]
    db = factory()
    course = make_course(app, db, platform)
    results = {}
    try:
        for label in ("baseline: a token request per score", "with the token cache"):
            students = [course.student(f"{label[:4]}-{n}") for n in range(scores)]
            for student in students:
                course.queue(course.attempt(student, 75.0))
            before = platform.count("token")
            with requests.Session() as http:
                tokens = (DatabaseTokenCache(factory, keyring, http) if "cache" in label
                          else UncachedTokens(keyring, http))
                start = time.perf_counter()
                report = deliver_pending(factory, http, utcnow(), limit=scores + 1,
                                         keyring=keyring, tokens=tokens)
                elapsed = time.perf_counter() - start
            assert len(report.delivered) == scores, report
            results[label] = scores / elapsed
            print(f"{label:<40} {scores} scores in {elapsed:6.2f} s = "
                  f"{scores / elapsed:7.1f} deliveries/s; "
                  f"token requests: {platform.count('token') - before}")
        baseline, cached = list(results.values())[:2]
        print(f"ratio (cache / baseline): {cached / baseline:.2f}x  "
              f"[{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}]")
        for count in workers:
            rate = worker_processes(course, platform, workdir, url, scores, count)
            print(f"{count} x `lti-tool grades work --once` processes: {rate:7.1f} "
                  f"deliveries/s (ratio to one in-process worker: {rate / cached:.2f}x)")
    finally:
        db.close()
        platform.close()
        app.extensions["lti_tool.engine"].dispose()


def main() -> None:
    """Command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=int, default=200)
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
