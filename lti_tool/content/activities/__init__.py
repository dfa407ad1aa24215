"""Activity types: one registry of classes that parse, validate, render, give feedback and score.

Answer shapes (anything else raises ``InvalidAnswer``, never another exception):

- single_choice: the chosen option id, a ``str``.
- multiple_response: the chosen option ids, a list/tuple/set of distinct ``str`` (may be empty).
- scenario: the choice ids taken, in order, from ``start`` to an end step (list/tuple of ``str``).
- reflection: the student's text, a ``str``; lecturer marks come in ``score(..., marks={...})``.
- confidence: ``{statement_id: rating}`` with an ``int`` rating 1-5 for every statement.
"""

from .base import (
                   ACTIVITY_TYPES,
                   COMMON_KEYS,
                   Activity,
                   Context,
                   ElementScore,
                   ScoreResult,
                   activity_type,
)
from .choice import MultipleResponse, Option, SingleChoice
from .confidence import SCALE, Confidence, Statement
from .reflection import MAX_TEXT, Criterion, Reflection, word_count
from .scenario import MIN_DECISIONS, Scenario, ScenarioChoice, ScenarioStep

__all__ = [
    "ACTIVITY_TYPES", "COMMON_KEYS", "MAX_TEXT", "MIN_DECISIONS", "SCALE", "Activity", "Confidence",
    "Context", "Criterion", "ElementScore", "MultipleResponse", "Option", "Reflection", "Scenario",
    "ScenarioChoice", "ScenarioStep", "ScoreResult", "SingleChoice", "Statement", "activity_type",
    "word_count",
]
