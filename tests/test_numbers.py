"""Numbers as every page shows them."""

from __future__ import annotations

import pytest

from lti_tool.numbers import percent, points, share


@pytest.mark.parametrize(("value", "shown"), [
    (9.16667, "9.2"), (1.33333, "1.3"), (8.0, "8"), (2.25, "2.3"), (0.05, "0.1"), (0, "0"),
    (14, "14"), (6.25, "6.3"), (None, "–")])
def test_points_have_at_most_one_decimal(value, shown):
    assert points(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (62.999, "62%"), (63.0, "63%"), (44.64, "44%"), (79.9999999999, "80%"), (100.0, "100%"),
    (-1, "0%"), (None, "–")])
def test_percent_is_rounded_down_to_a_whole_number(value, shown):
    # Down, so "80%" never shows beside a band the student has not reached.
    assert percent(value) == shown


def test_share_of_a_whole():
    assert share(2, 3) == "66%" and share(1, 0) == "–"


def test_times_read_in_the_tools_time_zone():
    from datetime import datetime, timezone

    from lti_tool.numbers import when

    assert when(datetime(2026, 12, 1, 9, 5)) == "1 Dec 2026, 09:05 GMT"  # naive: stored UTC
    assert when(datetime(2026, 7, 1, 9, 5, tzinfo=timezone.utc)) == "1 Jul 2026, 10:05 BST"
    assert when(None) == "–"
    assert when("2026-07-01T09:05:00+00:00") == "1 Jul 2026, 10:05 BST"  # an export's ISO text


@pytest.mark.parametrize(("utc", "shown", "on"), [
    # The clocks go back at 01:00 UTC on 25 October 2026: 01:30 local comes twice.
    ((2026, 10, 25, 0, 30), "01:30 BST", "25 October 2026"),
    ((2026, 10, 25, 1, 30), "01:30 GMT", "25 October 2026"),
    # They go forward at 01:00 UTC on 29 March 2026: 01:30 local never happens.
    ((2026, 3, 29, 0, 30), "00:30 GMT", "29 March 2026"),
    ((2026, 3, 29, 1, 30), "02:30 BST", "29 March 2026"),
    # Late on 30 June in UTC is 1 July in London.
    ((2026, 6, 30, 23, 30), "00:30 BST", "1 July 2026"),
    ((2026, 12, 31, 23, 30), "23:30 GMT", "31 December 2026"),
])
def test_clock_and_day_across_the_clock_changes(utc, shown, on):
    from datetime import datetime, timezone

    from lti_tool.numbers import clock, day

    value = datetime(*utc, tzinfo=timezone.utc)
    assert clock(value) == shown and clock(value.replace(tzinfo=None)) == shown
    assert day(value) == on and day(None) == "–"
