"""Reflections: free text marked against a rubric, or completion credit."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import InvalidAnswer, Problem
from ..markdown import AssetUrl, render_markdown
from ..yamlsrc import Fields, YMap, expect_map
from .base import COMMON_KEYS, Activity, Context, ScoreResult, _result, activity_type

MAX_TEXT = 20_000  # characters in a reflection; longer is an abuse, not an essay


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion the lecturer marks from 0 to ``points``."""

    id: str
    description: str
    points: Fraction
    line: int = field(compare=False)
    # What each whole mark looks like, {0: "...", 1: "...", 2: "..."}, so markers agree.
    levels: tuple[tuple[int, str], ...] = ()


def _levels(data: YMap | None, points: Fraction | None, where: str,
            ctx: Context) -> tuple[tuple[int, str], ...]:
    """A criterion's level descriptors: one text per whole mark from 0 to its points."""
    if data is None or points is None:
        return ()
    out: list[tuple[int, str]] = []
    for key, text in data.items():
        line = data.line_of(key)
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key <= points:
            ctx.src.error(line, f"level '{key}' of {where} must be a whole mark from 0 to {points}")
        elif not isinstance(text, str) or not text.strip():
            ctx.src.error(line, f"level {key} of {where} needs a sentence saying what that mark looks like")
        else:
            out.append((key, text.strip()))
    missing = [n for n in range(int(points) + 1) if n not in dict(out)]
    if out and missing:
        ctx.src.error(data.line, f"{where} describes levels {', '.join(str(n) for n, _ in sorted(out))} "
                                 f"but not {', '.join(map(str, missing))}; describe every whole mark")
    return tuple(sorted(out))


_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def word_count(text: str) -> int:
    """Words in ``text`` (runs of letters/digits; apostrophes and hyphens join)."""
    return len(_WORD_RE.findall(text))


@activity_type("reflection")
@dataclass(frozen=True)
class Reflection(Activity):
    """Free text marked by a lecturer against a rubric, or completion credit."""

    prompt: str = ""
    min_words: int = 0
    rubric: tuple[Criterion, ...] = ()

    @classmethod
    def parse(cls, data: YMap, ctx: Context) -> Activity | None:
        f = Fields(data, ctx.src, f"activity '{data.get('id', '?')}'", COMMON_KEYS | {"prompt", "min_words", "rubric"})
        common = cls._common(f)
        prompt = f.text("prompt", what="the question to reflect on")
        min_words = f.integer("min_words", low=1, high=5000)
        rubric: list[Criterion] = []
        for i, raw in enumerate(f.seq("rubric") or []):
            r = expect_map(raw, data["rubric"].line_at(i), ctx.src, f"each rubric criterion of {f.where}")
            if r is None:
                continue
            rf = Fields(r, ctx.src, f"criterion '{r.get('id', i + 1)}' of {f.where}",
                        {"id", "description", "points", "levels"})
            rid, desc, pts = rf.ident(), rf.text("description"), rf.number("points", positive=True)
            levels = _levels(rf.mapping("levels", required=False), pts, rf.where, ctx)
            if rid is not None and pts is not None:
                rubric.append(Criterion(rid, desc or "", pts, r.line, levels))
        if common is None or prompt is None or min_words is None:
            return None
        return cls(**common, prompt=prompt, min_words=min_words, rubric=tuple(rubric))

    def validate(self, ctx: Context) -> list[Problem]:
        out = super().validate(ctx)
        if not self.rubric:
            out.append(Problem(ctx.src.path, self.line, f"{self.where} has no rubric; add at least one "
                               "criterion {id, description, points}"))
        seen: dict[str, int] = {}
        for c in self.rubric:
            if c.id in seen:
                out.append(Problem(ctx.src.path, c.line, f"criterion id '{c.id}' is used twice in {self.where}"))
            seen.setdefault(c.id, c.line)
            if ctx.strict and not c.levels:
                out.append(Problem(ctx.src.path, c.line, f"criterion '{c.id}' of {self.where} has no levels; "
                                   "describe what each mark looks like (levels: {0: ..., 1: ...}) so "
                                   "lecturers mark alike", "warning"))
        out += ctx.markdown(self.prompt, self.line, f"the prompt of {self.where}")
        return out

    def check_answer(self, answer: Any) -> str:
        if not isinstance(answer, str):
            raise InvalidAnswer(f"{self.where}: the answer must be text")
        if len(answer) > MAX_TEXT:
            raise InvalidAnswer(f"Your reflection is {len(answer):,} characters long; the limit is "
                                f"{MAX_TEXT:,}. Shorten it and save again: your text is still here.")
        return answer

    def words_missing(self, answer: Any) -> int:
        """How many more words the answer needs to reach ``min_words``."""
        return max(0, self.min_words - word_count(self.check_answer(answer)))

    def check_marks(self, marks: Any) -> dict[str, Fraction]:
        """Lecturer marks as {criterion id: points}; every criterion, each 0..its points."""
        if not isinstance(marks, Mapping):
            raise InvalidAnswer(f"{self.where}: marks must map criterion ids to numbers")
        rubric = {c.id: c for c in self.rubric}
        unknown = set(marks) - set(rubric)
        if unknown:
            raise InvalidAnswer(f"{self.where}: there is no criterion '{str(sorted(map(str, unknown))[0])[:40]}'")
        out = {}
        for cid, c in rubric.items():
            mark = marks.get(cid)
            if isinstance(mark, bool) or not isinstance(mark, (int, float, Fraction)) or \
                    (isinstance(mark, float) and not math.isfinite(mark)):
                raise InvalidAnswer(f"{self.where}: give criterion '{cid}' a mark from 0 to {c.points}")
            mark = Fraction(str(mark)) if isinstance(mark, float) else Fraction(mark)
            if not 0 <= mark <= c.points:
                raise InvalidAnswer(f"{self.where}: the mark for '{cid}' must be from 0 to {c.points}")
            out[cid] = mark
        return out

    def score(self, answer: Any, *, marks: Any = None, completion_credit: bool = False,
              **settings: Any) -> ScoreResult:
        """Lecturer marks win; else completion credit if the link allows it; else pending."""
        text = self.check_answer(answer)
        if marks is not None:
            given = self.check_marks(marks)
            total = sum((c.points for c in self.rubric), Fraction(0))
            return _result(sum(given.values(), Fraction(0)) / total * self.weight if total else Fraction(0),
                           self.weight, self.elements)
        if completion_credit:
            enough = word_count(text) >= self.min_words
            return _result(self.weight if enough else Fraction(0), self.weight, self.elements)
        return _result(Fraction(0), self.weight, self.elements, pending=True)

    def render(self, asset_url: AssetUrl | None = None, state: Any = None,
               seed: str | None = None) -> dict[str, Any]:
        return {**self._base_render(), "prompt_html": render_markdown(self.prompt, asset_url),
                "min_words": self.min_words,
                "max_chars": MAX_TEXT,
                "rubric": [{"id": c.id, "description": c.description, "points": float(c.points),
                            "levels": list(c.levels)} for c in self.rubric]}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None,
                 seed: str | None = None) -> dict[str, Any]:
        text = self.check_answer(answer)
        return {**self.render(asset_url), "word_count": word_count(text), "words_missing": self.words_missing(text)}

    def best_answer(self) -> str:
        return " ".join(["reflection"] * self.min_words)

    def full_marks(self) -> dict[str, Fraction]:
        """Marks giving every criterion its full points."""
        return {c.id: c.points for c in self.rubric}
