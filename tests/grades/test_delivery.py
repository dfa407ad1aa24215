"""Scores reach a recording grade service with the right fields, in order, exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from lti_tool.grades import Progress, requeue_after_marking
from lti_tool.models import DeliveryStatus
from lti_tool.models.base import utcnow

from .conftest import MODULE, make_course
from .platform import SCORE_TYPE

HOUR = 3600


def test_completed_module_posts_completed_fully_graded_score(course, ags):
    student = course.student("4")
    course.queue(course.attempt(student, 71.43))

    report = course.deliver()

    assert report.delivered and not report.failed
    [post] = [r for r in ags.requests if r.kind == "score"]
    # Moodle's line item URL keeps its ?type_id=1 after /scores is added to the path.
    assert post.path == "/mod/lti/services.php/2/lineitems/1/lineitem/scores"
    assert post.query == {"type_id": "1"}
    assert post.headers["Content-Type"] == SCORE_TYPE
    body = post.json
    assert body["userId"] == "4"
    assert body["scoreGiven"] == 10.0002  # 71.43% of the module's 14 points
    assert body["scoreMaximum"] == 14.0
    assert body["activityProgress"] == "Completed"
    assert body["gradingProgress"] == "FullyGraded"
    assert body["timestamp"].endswith("+00:00") and "." not in body["timestamp"]
    assert body["comment"] == "71% (attempt 1)"
    [row] = course.rows()
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 1
    assert row.lease_token is None and row.delivered_at is not None


def test_reflection_waiting_for_marking_is_pending_manual_then_fully_graded(course, ags, db):
    student = course.student("4")
    attempt = course.attempt(student, 50.0, pending=True)
    course.queue(attempt)
    course.deliver()

    # The lecturer marks the reflection: the attempt is re-scored, then the grade goes again.
    attempt.pending_manual = False
    attempt.percent = 71.43
    requeue_after_marking(db, attempt)
    db.commit()
    course.deliver()

    first, second = [r.json for r in ags.requests if r.kind == "score"]
    assert (first["activityProgress"], first["gradingProgress"]) == ("Submitted",
                                                                     "PendingManual")
    assert first["scoreGiven"] == 7.0 and first["scoreMaximum"] == 14.0
    assert "waiting for the lecturer's marking" in first["comment"]
    assert (second["activityProgress"], second["gradingProgress"]) == ("Completed",
                                                                       "FullyGraded")
    assert second["scoreGiven"] == 10.0002
    assert second["timestamp"] > first["timestamp"]
    assert [r.status for r in course.rows()] == [DeliveryStatus.DELIVERED] * 2


def test_progress_started_then_in_progress_is_throttled(course, ags):
    student = course.student("4")
    attempt = course.attempt(student)
    assert course.queue(attempt, Progress.STARTED) is not None
    assert course.queue(attempt, Progress.STARTED) is None  # resuming is not a new start
    assert course.queue(attempt, Progress.IN_PROGRESS) is not None
    for _ in range(5):  # every later save: no new score
        assert course.queue(attempt, Progress.IN_PROGRESS) is None
    course.deliver()
    [score] = [r.json for r in ags.requests if r.kind == "score"]  # Started was superseded
    assert score["activityProgress"] == "InProgress"
    assert score["gradingProgress"] == "NotReady"
    assert "scoreGiven" not in score
    assert [r.status for r in course.rows()] == [DeliveryStatus.SUPERSEDED,
                                                 DeliveryStatus.DELIVERED]


def test_a_new_attempt_sends_nothing_over_the_counted_grade(course, ags):
    student = course.student("4")
    first = course.attempt(student, 80.0)
    course.queue(first)
    second = course.attempt(student)
    # While a submitted attempt counts, a new attempt's progress is not a score: the gradebook
    # keeps the counted grade until a newer attempt is submitted.
    assert course.queue(second, Progress.STARTED) is None
    assert course.queue(second, Progress.IN_PROGRESS) is None
    course.deliver()
    [last] = [r.json for r in ags.requests if r.kind == "score"]
    assert last["activityProgress"] == "Completed"
    assert last["gradingProgress"] == "FullyGraded" and last["scoreGiven"] == 11.2


def test_score_is_scaled_to_the_links_maximum_points(app, db, ags):
    course = make_course(app, db, ags, custom={"module": MODULE, "max_points": "20"})
    course.queue(course.attempt(course.student("4"), 75.0))
    course.deliver()
    [score] = [r.json for r in ags.requests if r.kind == "score"]
    assert (score["scoreGiven"], score["scoreMaximum"]) == (15.0, 20.0)


def test_latest_counting_sends_the_latest_attempt(app, db, ags):
    course = make_course(app, db, ags, custom={"module": MODULE, "counting": "latest"})
    student = course.student("4")
    course.queue(course.attempt(student, 90.0))
    course.queue(course.attempt(student, 40.0))
    course.deliver()
    [score] = [r.json for r in ags.requests if r.kind == "score"]
    assert score["scoreGiven"] == 5.6


def test_newer_score_supersedes_an_undelivered_older_one(course, ags):
    student = course.student("4")
    course.queue(course.attempt(student, 40.0))
    course.queue(course.attempt(student, 90.0))
    course.queue(course.attempt(course.student("5"), 60.0))

    report = course.deliver()

    scores = [r.json for r in ags.requests if r.kind == "score"]
    assert [(s["userId"], s["scoreGiven"]) for s in scores] == [("4", 12.6), ("5", 8.4)]
    assert [r.status for r in course.rows()] == [
        DeliveryStatus.SUPERSEDED, DeliveryStatus.DELIVERED, DeliveryStatus.DELIVERED]
    assert len(report.delivered) == 2


def test_503_then_recovery_delivers_every_score_once_latest_last(course, ags):
    ags.fail("score", 503, times=7)
    students = [course.student(str(n)) for n in range(4, 8)]
    for student in students:
        course.queue(course.attempt(student, 50.0))
    now = utcnow()
    retries = 0
    for _ in range(6):
        report = course.deliver(now)
        retries += len(report.retrying)
        if len(report.retrying) == 0 and len(report.delivered) == 0:
            break
        # While the VLE is down, the first student retakes the module and does better.
        if _ == 0:
            course.queue(course.attempt(students[0], 100.0), now=now)
        now += timedelta(hours=2)  # past any backoff
    accepted = ags.accepted_scores()
    rows = course.rows()
    assert retries >= 7
    assert Counter(r.status for r in rows) == {DeliveryStatus.DELIVERED: 4,
                                               DeliveryStatus.SUPERSEDED: 1}
    # Every delivered row reached the VLE exactly once; nothing superseded ever did.
    sent = Counter((s["userId"], s["timestamp"]) for s in accepted)
    delivered = Counter((r.user.sub, r.score_timestamp.isoformat(timespec="seconds"))
                        for r in rows if r.status == DeliveryStatus.DELIVERED)
    assert sent == delivered and set(sent.values()) == {1}
    assert {s["userId"] for s in accepted} == {"4", "5", "6", "7"}
    # The first student's 50% never reached the VLE: the retake's 100% replaced it.
    assert [s["scoreGiven"] for s in accepted if s["userId"] == "4"] == [14.0]


def test_older_score_is_never_sent_after_a_newer_one(course, ags):
    student = course.student("4")
    course.queue(course.attempt(student, 40.0))
    ags.fail("score", 503, times=1)
    course.deliver()  # the 40% fails once and waits for its retry
    course.queue(course.attempt(student, 90.0))  # the retake supersedes it while it waits
    course.deliver(course.later(2 * HOUR))
    course.deliver(course.later(4 * HOUR))
    accepted = [s["scoreGiven"] for s in ags.accepted_scores()]
    assert accepted == [12.6]


def test_retry_after_is_honoured(course, ags):
    ags.fail("score", 429, times=1, **{"Retry-After": "7200"})
    course.queue(course.attempt(course.student("4"), 50.0))
    start = utcnow()
    course.deliver(start)
    [row] = course.rows()
    assert row.status == DeliveryStatus.PENDING and row.last_error_status == 429
    assert row.next_attempt_at >= start + timedelta(seconds=7200)
    course.deliver(start + timedelta(seconds=3600))
    assert ags.count("score") == 1  # not yet
    course.deliver(start + timedelta(seconds=7300))
    assert len(ags.accepted_scores()) == 1


def test_backoff_grows_and_is_jittered():
    from lti_tool.grades.outcomes import BACKOFF_CAP, backoff

    for attempts in range(1, 12):
        delay = backoff(attempts)
        nominal = min(BACKOFF_CAP, 30 * 2 ** (attempts - 1))
        assert nominal / 2 <= delay <= nominal
    assert backoff(1, retry_after=600) >= 600


def test_connection_refused_is_retried_not_lost(app, db, ags):
    course = make_course(app, db, ags)
    course.queue(course.attempt(course.student("4"), 50.0))
    url = course.link.ags_lineitem_url
    course.link.ags_lineitem_url = "http://127.0.0.1:9/nothing-listens-here?type_id=1"
    db.commit()
    # The row remembers the line item it was queued with; point it at a dead port.
    [row] = course.rows()
    row.lineitem_url = course.link.ags_lineitem_url
    db.commit()
    report = course.deliver()
    assert report.retrying and not report.failed
    [row] = course.rows()
    assert row.status == DeliveryStatus.PENDING
    assert "could not be reached" in row.last_error_explanation
    row.lineitem_url = url
    db.commit()
    course.deliver(course.later(2 * HOUR))
    assert len(ags.accepted_scores()) == 1


def test_a_short_wait_asked_for_stays_short_and_grows_when_it_repeats():
    from lti_tool.grades.outcomes import backoff

    # "Another worker is creating the grade column": 5 s, not the 30 s start of the backoff.
    assert backoff(1, retry_after=5) == 5
    assert 10 <= backoff(2, retry_after=5) <= 12.5  # the same score failing again: it grows
    assert backoff(1, retry_after=1) == 1  # Moodle's 409: restamped, retried in 1 s
    assert backoff(30, retry_after=5) <= 3600 * 1.25  # a stuck one is capped like the rest
    assert backoff(1, retry_after=8 * 3600) == 6 * 3600  # Retry-After is capped too
