"""Progress per domain and the capability profile: a pure service fed plain data (no Flask, no database).

The web layer loads a student's attempts and confidence ratings across every course of the
institution, turns them into ``AttemptResult`` (``AttemptResult.from_score`` for a
``ModuleScore``) and ``ConfidenceRatings`` (``ConfidenceRatings.from_answers``), and calls::

    profile = capability_profile(attempts, ratings, library.frameworks,
                                 teaching_modules(library.modules()), course_filter=None, counting="best")
    svg = profile_chart_svg(profile, by="element")      # insert unescaped; pair with the table
    rows = profile_table_rows(profile, by="element")    # the same data for an accessible table
"""

from .bands import (
                    BANDS,
                    CAPABLE,
                    CAPABLE_FROM,
                    DEVELOPING,
                    PROFICIENT,
                    PROFICIENT_FROM,
                    band,
                    band_descriptions,
                    percent_label,
                    points_label,
                    thresholds_sentence,
)
from ..numbers import whole_percent
from .chart import (
                    BAND_COLOURS,
                    ChartRow,
                    chart_title,
                    profile_chart_svg,
                    profile_table_rows,
)
from .models import (
                    AttemptResult,
                    ConfidenceChange,
                    ConfidenceRatings,
                    Counting,
                    DomainMastery,
                    ElementMastery,
                    EvidenceRow,
                    Mastery,
                    NextStep,
                    Phase,
                    Profile,
                    TeachingModule,
                    evidence_by_element,
                    teaching_modules,
)
from .profile import (
                    CROSSWALK_TARGETS,
                    DCS_FRAMEWORK,
                    MAX_NEXT_STEPS,
                    capability_profile,
                    confidence_by_element,
                    counted_attempts,
                    next_steps,
)

__all__ = [
    "AttemptResult", "BANDS", "BAND_COLOURS", "CAPABLE", "CAPABLE_FROM", "CROSSWALK_TARGETS", "ChartRow",
    "ConfidenceChange", "ConfidenceRatings", "Counting", "DCS_FRAMEWORK", "DEVELOPING", "DomainMastery",
    "ElementMastery", "EvidenceRow", "MAX_NEXT_STEPS", "Mastery", "NextStep", "PROFICIENT", "PROFICIENT_FROM", "Phase",
    "Profile", "TeachingModule", "band", "band_descriptions", "capability_profile", "chart_title",
    "confidence_by_element", "counted_attempts", "evidence_by_element", "next_steps", "percent_label", "points_label",
    "profile_chart_svg", "profile_table_rows", "teaching_modules", "thresholds_sentence", "whole_percent",
]
