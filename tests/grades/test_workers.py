"""Several workers, and workers that die: every score is delivered, once, in order."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from lti_tool.grades import claim, claim_next, deliver_pending
from lti_tool.grades.claims import LEASE_SECONDS
from lti_tool.keys import Keyring
from lti_tool.models import DeliveryStatus, LtiUser, ResourceLink
from lti_tool.models.base import utcnow

from .conftest import make_course


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


def _worker_processes(app, database_url: str, tmp_path, count: int, *options: str):
    """`count` real `lti-tool grades work` processes, returned once each is in its loop."""
    env = {**os.environ, "LTI_TOOL_DATABASE_URL": database_url,
           "LTI_TOOL_KEYS_DIR": str(app.config["KEYS_DIR"]),
           "LTI_TOOL_INSTANCE_DIR": str(app.config["INSTANCE_DIR"])}
    command = [sys.executable, "-c", "from lti_tool.cli import main; main()",
               "grades", "work", *options]
    logs = [tmp_path / f"worker-{n}.log" for n in range(count)]
    workers = []
    for log in logs:
        with open(log, "w") as out:
            workers.append(subprocess.Popen(command, env=env, stdout=out,
                                            stderr=subprocess.STDOUT, text=True))
    deadline = time.monotonic() + 60
    # A SIGTERM before the handler is installed would kill a worker instead of stopping it.
    while not all("grades: working" in log.read_text() for log in logs):
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers), \
            [log.read_text() for log in logs]
        time.sleep(0.05)
    return workers, logs


def _stop(workers, logs) -> list[str]:
    """SIGTERM every worker, wait for it; their outputs."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return [log.read_text() for log in logs]


def test_two_worker_processes_race_every_score_once_in_order_and_stop_on_sigterm(
        course, ags, app, database_url, tmp_path):
    """Two real workers share one queue while students keep improving their scores, a new
    one often queued while the last is on its way to the VLE: each score the outbox calls
    delivered reaches the VLE exactly once, one student's scores arrive oldest first, nothing
    replaced is ever sent, and the newest always arrives last."""
    rounds = 10  # each beats the last: 45%, 50%, ... 90%
    students = {s.sub: s.id for s in (course.student(f"p{n}") for n in range(12))}
    link_id = course.link.id
    queued = dict.fromkeys(students, 0)
    lock = threading.Lock()
    latency = random.Random(11)

    def next_round(sub: str) -> None:
        """Queue this student's next, better score (at most `rounds` in all)."""
        with lock:
            if queued[sub] == rounds:
                return
            queued[sub] += 1
            number = queued[sub]
        # A session of this thread's own: the test's belongs to the test's thread.
        with course.factory() as session:
            user, link = session.get(LtiUser, students[sub]), session.get(ResourceLink, link_id)
            course.queue(course.attempt(user, 40.0 + 5 * number, number=number, link=link,
                                        session=session), session=session)

    def in_flight(record) -> None:
        """While a score is on its way, the student submits a better one; the VLE is slowish."""
        if record.kind == "score":
            next_round(record.json["userId"])
        time.sleep(0.5 if latency.random() < 0.1 else 0.002)  # now and then a slow answer

    for _ in range(2):  # the first of these is replaced before any worker starts
        for sub in students:
            next_round(sub)
    ags.on_request = in_flight
    workers, logs = _worker_processes(app, database_url, tmp_path, 2,
                                      "--interval", "0.1", "--batch", "7")
    try:
        deadline = time.monotonic() + 120
        while any(r.status == DeliveryStatus.PENDING for r in course.rows()) or \
                set(queued.values()) != {rounds}:
            assert time.monotonic() < deadline, "scores still pending after 2 minutes"
            time.sleep(0.1)
    finally:
        outputs = _stop(workers, logs)
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert all("stopped; undelivered scores stay queued" in out for out in outputs), outputs
    assert all(" delivered" in out for out in outputs), outputs  # both took part
    received: dict[str, list[tuple[str, float]]] = {}
    for score in ags.accepted_scores():
        received.setdefault(score["userId"], []).append((score["timestamp"],
                                                         score["scoreGiven"]))
    for sub in students:
        arrived = received[sub]
        assert arrived == sorted(set(arrived)), (sub, arrived)  # in order, once each
        assert arrived[-1][1] == 12.6, (sub, arrived)  # the newest, 90% of 14
    rows = course.rows()
    sent = Counter((s["userId"], s["timestamp"]) for s in ags.accepted_scores())
    by_status = {status: Counter((r.user.sub, r.score_timestamp.isoformat(timespec="seconds"))
                                 for r in rows if r.status == status)
                 for status in DeliveryStatus}
    assert sent == by_status[DeliveryStatus.DELIVERED]
    assert not set(sent) & set(by_status[DeliveryStatus.SUPERSEDED])
    assert by_status[DeliveryStatus.SUPERSEDED]  # some were replaced before they went
    assert sum(by_status[DeliveryStatus.DELIVERED].values()) + \
        sum(by_status[DeliveryStatus.SUPERSEDED].values()) == len(rows) == rounds * len(students)


def test_a_worker_waits_seconds_not_30_while_another_creates_the_column(app, db, ags):
    """The first worker to need a link's column finds or creates it; another worker's score
    for that link is tried again 5 s later (not at the 30 s start of the backoff)."""
    course = make_course(app, db, ags, lineitem=False)
    for sub in ("4", "5"):
        course.queue(course.attempt(course.student(sub), 50.0))
    looking, go_on = threading.Event(), threading.Event()

    def slow_list(record):
        if record.kind == "lineitems":
            looking.set()
            go_on.wait(30)

    ags.on_request = slow_list
    keyring = Keyring(app.config["KEYS_DIR"])
    first: list = []

    def first_worker():
        with requests.Session() as http:
            first.append(deliver_pending(course.factory, http, keyring=keyring, claim_size=1,
                                         limit=1))

    thread = threading.Thread(target=first_worker)
    thread.start()
    try:
        assert looking.wait(30)  # the first worker is looking for the column now
        now = utcnow()
        with requests.Session() as http:
            second = deliver_pending(course.factory, http, now, keyring=keyring, limit=1)
    finally:
        go_on.set()
        thread.join(60)
    [waiting] = second.retrying
    row = next(r for r in course.rows() if r.id == waiting)
    assert "Another worker is finding the grade column" in row.last_error_explanation
    assert row.next_attempt_at == now + timedelta(seconds=5)
    assert first[0].delivered and ags.count("lineitem_create") == 1
    assert course.deliver(now + timedelta(seconds=5)).delivered == [waiting]
    assert ags.count("lineitem_create") == 1 and len(ags.accepted_scores()) == 2


def test_a_lease_that_ran_out_in_flight_is_not_posted(course, ags, app, monkeypatch):
    """A delivery slower than its lease does not post: another worker may own the row now."""
    from lti_tool.grades import delivery

    course.queue(course.attempt(course.student("4"), 50.0))
    now = utcnow()
    taken = claim(course.factory, now)
    late = now + timedelta(seconds=LEASE_SECONDS + 1)  # the clock when the score would go out
    monkeypatch.setattr(delivery, "utcnow", lambda: late)
    with requests.Session() as http:
        report = delivery.deliver_claimed(course.factory, http, taken, now,
                                          tokens=delivery.DatabaseTokenCache(
                                              course.factory, Keyring(app.config["KEYS_DIR"]),
                                              http))
    assert report.superseded == taken.ids and ags.count("score") == 0
    monkeypatch.undo()
    assert course.deliver(late).delivered == taken.ids  # the next pass sends it, once
    assert ags.count("score") == 1


def test_a_lease_running_low_is_renewed_before_the_post(course, ags, app):
    """Less than RENEW_BELOW seconds left: the lease is extended before the score goes out, so
    it outlives the request; with plenty left, no renewal is spent."""
    from lti_tool.grades import delivery
    from lti_tool.grades.claims import RENEW_BELOW
    from lti_tool.models import GradeDelivery

    for sub in ("4", "5"):
        course.queue(course.attempt(course.student(sub), 50.0))
    now = utcnow()
    leases = []

    def lease_at_post(record):
        if record.kind == "score":
            with course.factory() as session:
                leases.append(session.scalar(select(GradeDelivery.lease_until).where(
                    GradeDelivery.lease_token.is_not(None))))

    ags.on_request = lease_at_post
    taken = claim(course.factory, now, 2)
    late = now + timedelta(seconds=LEASE_SECONDS - RENEW_BELOW + 1)  # 44 s left
    with requests.Session() as http:
        report = delivery.deliver_claimed(
            course.factory, http, taken, now, clock=late,
            tokens=delivery.DatabaseTokenCache(course.factory, Keyring(app.config["KEYS_DIR"]),
                                               http))
    assert sorted(report.delivered) == sorted(taken.ids)
    assert leases == [late + timedelta(seconds=LEASE_SECONDS)] * 2  # renewed once, for both
    ags.requests.clear()
    course.queue(course.attempt(course.student("6"), 50.0))
    leases.clear()
    now = utcnow()
    again = claim(course.factory, now, 2)
    with requests.Session() as http:
        delivery.deliver_claimed(course.factory, http, again, now, clock=now,
                                 tokens=delivery.DatabaseTokenCache(
                                     course.factory, Keyring(app.config["KEYS_DIR"]), http))
    assert leases == [again.until]  # 90 s left: not renewed


def test_a_score_replaced_while_its_claim_is_being_sent_is_not_posted(course, ags, monkeypatch):
    """Rows wait in a claim while earlier ones go out; one replaced meanwhile by a newer score
    is given back unsent at the next look (every second; here before every post)."""
    from lti_tool.grades import delivery

    monkeypatch.setattr(delivery, "LOOK_AGAIN", 0.0)
    first, second = course.student("4"), course.student("5")
    course.queue(course.attempt(first, 50.0))
    course.queue(course.attempt(second, 50.0))
    second_id, link_id = second.id, course.link.id

    def retake_while_first_goes(record):
        if record.kind == "score" and record.json["userId"] == "4":
            with course.factory() as session:  # the second student submits a better attempt
                user = session.get(LtiUser, second_id)
                link = session.get(ResourceLink, link_id)
                course.queue(course.attempt(user, 90.0, link=link, session=session),
                             session=session)

    ags.on_request = retake_while_first_goes
    report = course.deliver()
    assert [s["userId"] for s in ags.accepted_scores()] == ["4"]
    assert len(report.superseded) == 1 and len(report.delivered) == 1
    ags.on_request = None
    assert len(course.deliver().delivered) == 1  # the next pass sends the retake
    assert [(s["userId"], s["scoreGiven"]) for s in ags.accepted_scores()] == [
        ("4", 7.0), ("5", 12.6)]
    statuses = [r.status for r in course.rows()]
    assert statuses == [DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED,
                        DeliveryStatus.DELIVERED]
