"""How long a module really takes: reading at a steady pace plus time to answer each item.

The estimate a student and a lecturer rely on is checked against this, so "25 minutes" means
what it says. The rates are deliberately plain: 180 words a minute for reading, a minute per
single-choice question, a minute and a half per multiple-response question, a minute per
scenario decision on its longest route, 20 words a minute for writing a reflection, and two
minutes for the two confidence ratings.
"""

from __future__ import annotations

import re
from typing import Any

from .activities import MultipleResponse, Reflection, Scenario, SingleChoice, word_count

READING_WPM = 180
WRITING_WPM = 20
CONFIDENCE_MINUTES = 2.0
TOLERANCE = 0.25  # the stated minutes may differ from the estimate by this share
_MARKUP = re.compile(r"!\[[^\]]*\]\([^)]*\)|[#*_>`|]")


def _words(*texts: str) -> int:
    """Words a reader reads in Markdown texts (image syntax and markup left out)."""
    return sum(word_count(_MARKUP.sub(" ", t or "")) for t in texts)


def _scenario(activity: Scenario) -> tuple[int, int]:
    """(words read, decisions) along the scenario's longest route."""
    steps = activity.step_map
    memo: dict[str, tuple[int, int]] = {}

    def route(sid: str) -> tuple[int, int]:
        if sid not in memo:
            step = steps[sid]
            if step.end:
                memo[sid] = (_words(step.text), 0)
            else:
                options = _words(*(c.text for c in step.choices))
                after = max((_words(c.consequence, c.feedback) + route(c.next)[0], route(c.next)[1])
                            for c in step.choices)
                memo[sid] = (_words(step.text) + options + after[0], after[1] + 1)
        return memo[sid]

    words, decisions = route(activity.start)
    return words + _words(activity.intro), decisions


def estimated_minutes(module: Any) -> float:
    """Minutes to read every page and answer every item at the rates above."""
    words = sum(_words(page.markdown) for page in module.pages)
    minutes = CONFIDENCE_MINUTES
    for activity in module.activities:
        if isinstance(activity, (SingleChoice, MultipleResponse)):
            words += _words(activity.prompt, *(o.text for o in activity.options),
                            *(o.feedback for o in activity.options))
            minutes += 1.0 if isinstance(activity, SingleChoice) else 1.5
        elif isinstance(activity, Scenario):
            read, decisions = _scenario(activity)
            words += read
            minutes += decisions
        elif isinstance(activity, Reflection):
            words += _words(activity.prompt)
            minutes += activity.min_words / WRITING_WPM
    return minutes + words / READING_WPM


def honest_range(estimate: float) -> tuple[int, int]:
    """The stated minutes that count as honest for an estimate."""
    return round(estimate * (1 - TOLERANCE)), round(estimate * (1 + TOLERANCE))
