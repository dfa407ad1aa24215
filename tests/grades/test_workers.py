"""Several workers, and workers that die: every score is delivered, once, in order."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests

from lti_tool.grades import claim_next, deliver_pending
from lti_tool.grades.delivery import LEASE_SECONDS
from lti_tool.keys import Keyring
from lti_tool.models import DeliveryStatus
from lti_tool.models.base import utcnow


class WorkerKilled(BaseException):
    """The process dies here (not an Exception: nothing in the worker may catch it)."""


class DiesAfterScorePost(requests.Session):
    """HTTP that lets a score POST reach the VLE, then kills the worker before it records it."""

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        if "/scores" in url:
            raise WorkerKilled()
        return response


def test_worker_killed_before_sending_loses_nothing(course, ags):
    course.queue(course.attempt(course.student("4"), 50.0))
    now = utcnow()
    claim = claim_next(course.factory, now)  # ...and the worker process dies here
    assert claim is not None
    assert course.deliver(now).handled == 0  # its lease still holds
    assert ags.count("score") == 0
    report = course.deliver(now + timedelta(seconds=LEASE_SECONDS + 1))
    assert report.delivered == [claim[0]]
    assert len(ags.accepted_scores()) == 1
    assert course.deliver(now + timedelta(hours=3)).handled == 0  # no duplicate after success
    assert ags.count("score") == 1


def test_worker_killed_after_the_vle_answered_sends_again_then_never(course, ags, app):
    course.queue(course.attempt(course.student("4"), 50.0))
    now = utcnow()
    with pytest.raises(WorkerKilled), DiesAfterScorePost() as http:
        deliver_pending(course.factory, http, now, keyring=Keyring(app.config["KEYS_DIR"]))
    [row] = course.rows()
    assert row.status == DeliveryStatus.PENDING and row.lease_until is not None
    course.deliver(now + timedelta(seconds=LEASE_SECONDS + 1))
    # At least once: the VLE got the same score twice (the same value and time: no change).
    first, second = ags.accepted_scores()
    assert first == second
    [row] = course.rows()
    assert row.status == DeliveryStatus.DELIVERED
    course.deliver(now + timedelta(hours=3))
    assert len(ags.accepted_scores()) == 2


def test_a_newer_score_waits_for_an_older_one_in_flight(course, ags):
    student = course.student("4")
    course.queue(course.attempt(student, 40.0))
    now = utcnow()
    older, _ = claim_next(course.factory, now)  # in flight in a worker that then dies
    course.queue(course.attempt(student, 90.0))
    other = course.student("5")
    course.queue(course.attempt(other, 70.0))
    report = course.deliver()
    # The other student's score goes; this student's newer one waits for the lease.
    assert [s["userId"] for s in ags.accepted_scores()] == ["5"]
    assert len(report.delivered) == 1
    course.deliver(now + timedelta(seconds=LEASE_SECONDS + 1))
    assert [(s["userId"], s["scoreGiven"]) for s in ags.accepted_scores()] == [
        ("5", 9.8), ("4", 12.6)]
    statuses = {r.id: r.status for r in course.rows()}
    assert statuses[older] == DeliveryStatus.SUPERSEDED  # never sent


def test_two_workers_in_threads_deliver_each_score_once(course, ags, app):
    """On PostgreSQL the claim is SELECT ... FOR UPDATE SKIP LOCKED; on SQLite a
    conditional UPDATE. Either way, two workers with their own sessions share the queue."""
    students = [course.student(f"s{n}") for n in range(30)]
    for student in students:
        course.queue(course.attempt(student, 50.0))
    for student in students[:10]:  # retakes: the newer score supersedes
        course.queue(course.attempt(student, 100.0))
    ags.on_request = lambda record: time.sleep(0.002)  # a VLE with some latency
    gate = threading.Barrier(2)
    reports, errors = [], []

    def worker():
        with requests.Session() as http:
            gate.wait()
            try:
                reports.append(deliver_pending(course.factory, http, utcnow(),
                                               keyring=Keyring(app.config["KEYS_DIR"])))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    accepted = ags.accepted_scores()
    assert Counter(s["userId"] for s in accepted) == Counter(s.sub for s in students)
    assert {s["scoreGiven"] for s in accepted if s["userId"] in
            {u.sub for u in students[:10]}} == {14.0}
    assert sum(len(r.delivered) for r in reports) == 30
    assert ags.count("token") == 1  # shared through the database
    rows = course.rows()
    assert Counter(r.status for r in rows) == {DeliveryStatus.DELIVERED: 30,
                                               DeliveryStatus.SUPERSEDED: 10}


def test_two_worker_processes_deliver_each_score_once_and_stop_on_sigterm(course, ags, app,
                                                                          database_url):
    import os
    import signal
    import subprocess
    import sys

    students = [course.student(f"p{n}") for n in range(20)]
    for student in students:
        course.queue(course.attempt(student, 50.0))
    env = {**os.environ, "LTI_TOOL_DATABASE_URL": database_url,
           "LTI_TOOL_KEYS_DIR": str(app.config["KEYS_DIR"]),
           "LTI_TOOL_INSTANCE_DIR": str(app.config["INSTANCE_DIR"])}
    command = [sys.executable, "-c", "from lti_tool.cli import main; main()",
               "grades", "work", "--interval", "0.1", "--batch", "3"]
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while len(ags.accepted_scores()) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=30)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert all("stopped; undelivered scores stay queued" in out for out in outputs), outputs
    assert Counter(s["userId"] for s in ags.accepted_scores()) == Counter(
        s.sub for s in students)
    assert {r.status for r in course.rows()} == {DeliveryStatus.DELIVERED}


def test_a_lease_that_ran_out_in_flight_is_not_posted(course, ags, app, monkeypatch):
    """A delivery slower than its lease does not post: another worker may own the row now."""
    from lti_tool.grades import delivery

    course.queue(course.attempt(course.student("4"), 50.0))
    now = utcnow()
    claim = claim_next(course.factory, now)
    late = now + timedelta(seconds=LEASE_SECONDS + 1)  # the clock when the score would go out
    monkeypatch.setattr(delivery, "utcnow", lambda: late)
    with requests.Session() as http:
        outcome = delivery.deliver_claimed(course.factory, http, claim, now,
                                           tokens=delivery.DatabaseTokenCache(
                                               course.factory, Keyring(app.config["KEYS_DIR"]),
                                               http))
    assert outcome == "superseded" and ags.count("score") == 0
    monkeypatch.undo()
    assert course.deliver(late).delivered == [claim[0]]  # the next pass sends it, once
    assert ags.count("score") == 1
