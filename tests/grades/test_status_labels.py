"""The sentence a lecturer reads for each grade in the class view and its CSV."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from lti_tool import create_app
from lti_tool.config import Config, TestConfig
from lti_tool.grades.outbox import DeliveryView, status_label
from lti_tool.models.grades import DeliveryStatus

WHEN = datetime(2026, 3, 5, 14, 7, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize(("status", "given", "progress", "attempts", "expected"), [
    (DeliveryStatus.DELIVERED, 7.5, "FullyGraded", 1,
     "Sent to the gradebook on 5 Mar 2026, 14:07 GMT: 7.5 of 10"),
    (DeliveryStatus.DELIVERED, 6.0, "PendingManual", 1,
     "Sent to the gradebook on 5 Mar 2026, 14:07 GMT: 6 of 10 (awaiting marking)"),
    (DeliveryStatus.PENDING, 7.25, "FullyGraded", 0, "Waiting to be sent: 7.25 of 10"),
    (DeliveryStatus.PENDING, None, "Pending", 0, "Waiting to be sent: progress only"),
    (DeliveryStatus.PENDING, 3.0, "FullyGraded", 2,
     "Waiting to be sent (3 of 10); tried 2 time(s), next try 5 Mar 2026, 09:30 GMT. "
     "VLE timed out"),
    (DeliveryStatus.PENDING, 3.0, "FullyGraded", 1,
     "Waiting to be sent (3 of 10); tried 1 time(s), next try 5 Mar 2026, 09:30 GMT."),
    (DeliveryStatus.FAILED_PERMANENT, 3.0, "FullyGraded", 1, "Not sent: VLE timed out"),
    (DeliveryStatus.SUPERSEDED, -0.0, "FullyGraded", 0, "Waiting to be sent: 0 of 10"),
])
def test_each_status_reads_as_one_sentence(status: DeliveryStatus, given: float | None,
                                           progress: str, attempts: int, expected: str) -> None:
    next_try = datetime(2026, 3, 5, 9, 30, tzinfo=timezone.utc)
    explanation = "VLE timed out" if attempts > 1 or status.name.startswith("FAILED") else None
    label = status_label(status, given, 10.0, progress, attempts, WHEN, next_try, explanation)
    assert label == expected
    # The outbox's own view says the same.
    view = DeliveryView(id=1, status=status, score_given=given, score_maximum=10.0,
                        grading_progress=progress, attempts=attempts, delivered_at=WHEN,
                        next_attempt_at=next_try, explanation=explanation, error_status=None)
    assert view.label == expected


def test_month_names_are_english() -> None:
    months = [status_label(DeliveryStatus.DELIVERED, 1.0, 1.0, "FullyGraded", 1,
                           WHEN.replace(month=m), WHEN, None).split()[6] for m in range(1, 13)]
    assert months == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                      "Nov", "Dec"]


def test_a_delivered_grade_without_its_time_says_so_plainly() -> None:
    assert status_label(DeliveryStatus.DELIVERED, 4.0, 5.0, "FullyGraded", 1, None, WHEN,
                        None) == "Sent to the gradebook: 4 of 5"


def test_times_are_given_in_the_tools_zone_summer_and_winter() -> None:
    """British Summer Time shows as such; SQLite's naive UTC times read the same as aware."""
    july = datetime(2026, 7, 5, 13, 7)  # naive, as SQLite hands it back
    label = status_label(DeliveryStatus.DELIVERED, 5.0, 10.0, "FullyGraded", 1, july,
                         july, None)
    assert label == "Sent to the gradebook on 5 Jul 2026, 14:07 BST: 5 of 10"
    waiting = status_label(DeliveryStatus.PENDING, 5.0, 10.0, "FullyGraded", 1, None,
                           july.replace(tzinfo=timezone.utc), None)
    assert waiting.endswith("next try 5 Jul 2026, 14:07 BST.")


def test_another_zone_is_taken_from_the_configuration(monkeypatch, tmp_path) -> None:
    """An app set to New York gives the grade labels in New York's clock."""
    monkeypatch.setenv("LTI_TOOL_TIME_ZONE", "America/New_York")
    assert Config().TIME_ZONE == "America/New_York"
    create_app(TestConfig(INSTANCE_DIR=tmp_path, KEYS_DIR=tmp_path / "keys",
                          TIME_ZONE="America/New_York"))
    label = status_label(DeliveryStatus.DELIVERED, 5.0, 10.0, "FullyGraded", 1, WHEN,
                         WHEN, None)
    assert label == "Sent to the gradebook on 5 Mar 2026, 09:07 EST: 5 of 10"
