"""`lti-tool grades work|list|resend`."""

from __future__ import annotations

from lti_tool.models import DeliveryStatus


def test_work_once_delivers_what_is_due(course, ags, runner):
    for sub in ("4", "5"):
        course.queue(course.attempt(course.student(sub), 50.0))
    result = runner.invoke(["grades", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 delivered" in result.output and "handled 2 score(s)" in result.output
    assert len(ags.accepted_scores()) == 2


def test_list_failed_explains_and_resend_requeues(course, ags, runner, db):
    ags.grade_sync = False
    course.queue(course.attempt(course.student("4", "Sam Student"), 50.0))
    runner.invoke(["grades", "work", "--once"])

    listing = runner.invoke(["grades", "list", "--failed"])
    assert listing.exit_code == 0
    [row] = course.rows()
    assert f"{row.id:>6}  failed_permanent" in listing.output
    assert "Sam Student" in listing.output and "[401]" in listing.output
    assert "Use this service for grade sync and column management" in listing.output

    ags.grade_sync = True
    resent = runner.invoke(["grades", "resend", str(row.id)])
    assert resent.exit_code == 0 and "queued again" in resent.output
    runner.invoke(["grades", "work", "--once"])
    assert course.rows()[0].status == DeliveryStatus.DELIVERED
    assert "No failed grade deliveries." in runner.invoke(["grades", "list", "--failed"]).output
    assert "delivered" in runner.invoke(["grades", "list"]).output


def test_resend_of_something_unknown_is_a_clear_error(app, runner):
    result = runner.invoke(["grades", "resend", "4242"])
    assert result.exit_code != 0
    assert "There is no grade delivery 4242." in result.output
