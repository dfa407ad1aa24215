"""Mangled module.yaml files only ever produce Problems: the loader never raises."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lti_tool.content import load_frameworks, load_module
from lti_tool.content.library import SHIPPED_FRAMEWORKS

from .helpers import GOOD

FRAMEWORKS = load_frameworks(SHIPPED_FRAMEWORKS, [])
LINES = (GOOD / "module.yaml").read_text().splitlines()
VALUES = ["", "~", "[]", "{}", "-1", "0", ".inf", ".nan", "yes", "'x'", "[a, b]", "{a: 1}", "1.0", "&a x",
          "*a", "'", "- x", "!!python/object:os.system ''", "2024-01-01", "\"../../etc\""]


@st.composite
def mangled(draw) -> str:
    """module.yaml with a few lines deleted, duplicated or given a junk value."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "value", "dedent"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        elif ": " in lines[i]:
            lines[i] = lines[i].split(": ", 1)[0] + ": " + draw(st.sampled_from(VALUES))
        if not lines:
            break
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mangled())
def test_loader_never_raises(text):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / GOOD.name
        shutil.copytree(GOOD, folder)
        (folder / "module.yaml").write_text(text)
        result = load_module(folder, FRAMEWORKS)
        assert (result.module is None) == any(p.is_error for p in result.problems)
        for p in result.problems:
            assert p.path.is_relative_to(folder) and (p.line is None or p.line >= 1)
        if result.module is not None:
            for activity in result.module.activities:
                activity.score(activity.best_answer())
