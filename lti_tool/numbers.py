"""Numbers and times as people read them, the same on every page: points, percents, times.

Only what is shown is rounded; stored scores, the CSV and the score sent to the VLE keep their
full precision.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

# Float sums of exact fractions (thirds, sixths) can land a hair under a whole number.
EPSILON = 1e-9


def points(value: float | None) -> str:
    """Points with at most one decimal, whole numbers whole: 9.16667 -> '9.2', 8.0 -> '8'."""
    if value is None:
        return "–"
    # Decimal from a short repr, so 2.25 rounds up as a person expects (floats would not).
    shown = Decimal(repr(round(float(value), 6))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = f"{shown:f}"
    return text[:-2] if text.endswith(".0") else text


def whole_percent(value: float) -> int:
    """A percentage rounded down to a whole number, within 0-100.

    Down, so a label never shows a pass mark or band threshold the student has not reached.
    """
    return max(0, min(100, math.floor(float(value) + EPSILON)))


def percent(value: float | None) -> str:
    """'62%' by the rule above; '–' when there is nothing to show."""
    return "–" if value is None else f"{whole_percent(value)}%"


def share(part: float, whole: float) -> str:
    """``part`` of ``whole`` as a percent label ('–' when the whole is 0)."""
    return percent(100.0 * part / whole) if whole else "–"


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FULL_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


# The tool's time zone (LTI_TOOL_TIME_ZONE, checked by the config), set by the app factory:
# the grade labels are built by services that have no request or app at hand. One zone per
# process: the last app made sets it (every app of a deployment has the same setting).
_zone = ZoneInfo("Europe/London")


def use_zone(name: str) -> None:
    """Give times in this zone from now on."""
    global _zone
    _zone = ZoneInfo(name)


def zone() -> ZoneInfo:
    """The tool's time zone."""
    return _zone


def _local(value: datetime | str) -> datetime:
    """A stored UTC time in the tool's zone (naive from SQLite, aware, or an export's ISO text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(_zone)


def when(value: datetime | str | None) -> str:
    """A stored UTC time as people in the tool's time zone read it: '1 Dec 2026, 09:05 GMT'.

    %-formatting, not strftime: strftime's %b follows the process's locale.
    """
    if value is None:
        return "–"
    local = _local(value)
    return "%d %s %d, %02d:%02d %s" % (local.day, MONTHS[local.month - 1], local.year,
                                        local.hour, local.minute, local.tzname())


def day(value: datetime | str | None) -> str:
    """The date in the tool's time zone: '5 July 2026'.

    A submission at 23:30 UTC on 30 June was made on 1 July in a British summer.
    """
    if value is None:
        return "–"
    local = _local(value)
    return "%d %s %d" % (local.day, FULL_MONTHS[local.month - 1], local.year)


def clock(value: datetime) -> str:
    """The time of day in the tool's time zone: '09:30 GMT'."""
    local = _local(value)
    return "%02d:%02d %s" % (local.hour, local.minute, local.tzname())
