"""Small builders shared by the progress tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lti_tool.progress import AttemptResult, ConfidenceRatings

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
DCS_ELEMENTS = ["P1", "P2", "P3", "P4", "P5", "R1", "R2", "R3", "R4", "R5", "I1", "I2"]


def at(days: float) -> datetime:
    """A timestamp ``days`` after T0, so tests can order events plainly."""
    return T0 + timedelta(days=days)


def attempt(module_id: str, points: dict[str, tuple[float, float]], *, day: float = 0, percent: float | None = None,
            context: str | None = "course-a", version: str = "1.0.0", pending: bool = False) -> AttemptResult:
    """An attempt whose percent defaults to its points over its maximum."""
    if percent is None:
        total = sum(m for _, m in points.values())
        percent = 100 * sum(p for p, _ in points.values()) / total if total else 0.0
    return AttemptResult(module_id, version, at(day), context, points, percent, percent >= 60, pending)


def ratings(module_id: str, phase: str, values: dict[str, list[int]], *, day: float = 0,
            context: str | None = "course-a") -> ConfidenceRatings:
    """One set of confidence ratings."""
    return ConfidenceRatings(module_id, phase, values, at(day), context)
