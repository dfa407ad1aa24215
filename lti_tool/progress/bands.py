"""Mastery bands and how percentages are shown: the thresholds the profile page prints."""

from __future__ import annotations

from ..numbers import points, whole_percent

DEVELOPING = "Developing"
CAPABLE = "Capable"
PROFICIENT = "Proficient"

# Whole percentages. Below CAPABLE_FROM is Developing; CAPABLE_FROM up to (not including)
# PROFICIENT_FROM is Capable; PROFICIENT_FROM and above is Proficient.
CAPABLE_FROM = 50
PROFICIENT_FROM = 80
BANDS: tuple[str, ...] = (DEVELOPING, CAPABLE, PROFICIENT)

# Float sums of exact fractions (thirds, sixths) can land a hair under a threshold.
EPSILON = 1e-9


def band(percent: float | None) -> str | None:
    """The band for a mastery percentage; None when there is no evidence."""
    if percent is None:
        return None
    if percent + EPSILON >= PROFICIENT_FROM:
        return PROFICIENT
    if percent + EPSILON >= CAPABLE_FROM:
        return CAPABLE
    return DEVELOPING




def percent_label(percent: float | None) -> str:
    """'80%' or 'No evidence yet'."""
    return "No evidence yet" if percent is None else f"{whole_percent(percent)}%"


def band_descriptions() -> list[tuple[str, str]]:
    """(band, range) pairs for the page's key, e.g. ('Capable', '50% to 79%')."""
    return [(DEVELOPING, f"below {CAPABLE_FROM}%"),
            (CAPABLE, f"{CAPABLE_FROM}% to {PROFICIENT_FROM - 1}%"),
            (PROFICIENT, f"{PROFICIENT_FROM}% or more")]


def thresholds_sentence() -> str:
    """One sentence stating the thresholds, for the page and the chart description."""
    parts = [f"{name} {rng}" for name, rng in band_descriptions()]
    return "Bands: " + "; ".join(parts) + " of the available points."


def points_label(value: float) -> str:
    """Points as every page shows them (see lti_tool.numbers)."""
    return points(value)
