"""Refusals are permanent, explained in words that say what to change, and can be resent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lti_tool.grades import ResendRefused, delivery_status, list_deliveries, resend
from lti_tool.models import DeliveryStatus, Registration

MOODLE_ADVICE = ("In Moodle, Site administration > Plugins > Activity modules > External tool "
                 "> Manage tools > edit the tool > Services: set IMS LTI Assignment and Grade "
                 "Services to 'Use this service for grade sync and column management'")


def test_moodle_401_grade_sync_off_is_permanent_with_the_setting_to_change(course, ags, db):
    ags.grade_sync = False  # Moodle answers every service call with 401
    student = course.student("4")
    course.queue(course.attempt(student, 50.0))

    report = course.deliver()

    assert report.failed and not report.retrying
    # The token was renewed once in case it had been revoked, then the 401 was believed.
    assert ags.count("token") == 2 and ags.count("score") == 2
    [row] = course.rows()
    assert row.status == DeliveryStatus.FAILED_PERMANENT
    assert row.last_error_status == 401
    assert MOODLE_ADVICE in row.last_error_explanation
    status = delivery_status(db, student.id, course.link.id)
    assert status.value == "failed_permanent"
    assert status.label.startswith("Not sent: The VLE refused the tool access")
    # A later worker pass does not hammer the VLE with it.
    course.deliver(course.later(7200))
    assert ags.count("score") == 2

    # The administrator switches grade sync on; the lecturer resends.
    ags.grade_sync = True
    resend(db, row.id)
    db.commit()
    assert course.deliver().delivered
    assert len(ags.accepted_scores()) == 1
    [row] = course.rows()
    assert row.status == DeliveryStatus.DELIVERED and row.last_error_explanation is None
    assert delivery_status(db, student.id, course.link.id).label.startswith(
        "Sent to the gradebook")


@pytest.mark.parametrize("status, words", [
    (400, "no longer enrolled with a graded role"),
    (403, "did not allow the tool to change this grade"),
    (404, "grade column for this activity was not found"),
])
def test_other_refusals_are_permanent_and_explained(course, ags, status, words):
    ags.fail("score", status, body="Incorrect score received")
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().failed
    [row] = course.rows()
    assert row.status == DeliveryStatus.FAILED_PERMANENT and row.last_error_status == status
    assert words in row.last_error_explanation
    assert row.last_error_body == "Incorrect score received"
    assert ags.count("score") == 1


def test_resend_refuses_what_cannot_be_resent(course, ags, db):
    student = course.student("4")
    course.queue(course.attempt(student, 40.0))
    course.queue(course.attempt(student, 60.0))
    course.deliver()
    old, new = course.rows()
    with pytest.raises(ResendRefused, match="replaced by a newer score"):
        resend(db, old.id)
    with pytest.raises(ResendRefused, match="already delivered"):
        resend(db, new.id)
    with pytest.raises(ResendRefused, match="no grade delivery"):
        resend(db, 999999)


def test_a_newer_score_replaces_a_refused_one(course, ags, db):
    ags.fail("score", 403)
    student = course.student("4")
    course.queue(course.attempt(student, 40.0))
    course.deliver()
    course.queue(course.attempt(student, 60.0))
    course.deliver()
    refused, sent = course.rows()
    assert refused.status == DeliveryStatus.SUPERSEDED
    assert sent.status == DeliveryStatus.DELIVERED
    assert list_deliveries(db, failed_only=True) == []


def test_disabled_registration_holds_grades_with_a_reason(course, ags, db):
    db.get(Registration, course.registration_id).enabled = False
    db.commit()
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().failed
    [row] = course.rows()
    assert "registration is disabled in the tool" in row.last_error_explanation
    assert ags.requests == []


def test_moodle_409_gets_a_new_timestamp_once(course, ags):
    ags.fail("score", 409, body="Refusing score with an earlier timestamp")
    first_stamp = course.queue(course.attempt(course.student("4"), 50.0)).score_timestamp
    course.deliver()
    [row] = course.rows()
    assert row.status == DeliveryStatus.PENDING and row.last_error_status == 409
    assert course.deliver(course.later(60)).delivered
    [sent] = ags.accepted_scores()
    [row] = course.rows()
    assert row.score_timestamp > first_stamp
    assert sent["timestamp"] == row.score_timestamp.isoformat(timespec="seconds")


def test_a_failing_vle_is_not_tried_inline_again_for_a_while(app, course, ags, db):
    """One slow or failing VLE must not make every student's submit wait on it."""
    from lti_tool.grades.outbox import BREAKER_SECONDS, platform_failing
    from lti_tool.grades.web import deliver_now
    from lti_tool.models.base import utcnow

    app.config["GRADES_DELIVER_INLINE"] = True
    first, second = course.student("4"), course.student("5")
    ags.fail("score", 503, times=5)
    course.queue(course.attempt(first, 50.0))
    with app.app_context():
        deliver_now(first.id)  # tried at once, refused: stays queued with the reason
    tried = ags.count("score")
    assert tried == 1
    course.queue(course.attempt(second, 70.0))
    assert platform_failing(db, second.id)
    with app.app_context():
        deliver_now(second.id)
    assert ags.count("score") == tried  # not even tried: the worker will send it
    later = utcnow() + timedelta(seconds=BREAKER_SECONDS + 1)
    assert not platform_failing(db, second.id, later)
