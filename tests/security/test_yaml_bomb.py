"""A YAML alias bomb in a content package is refused at once, with its line (issue 13, item 6).

Without the expansion budget the ten-level bomb below means 9**10 values and never finishes;
tests carry no timing thresholds, so "quickly" is this file finishing at all.
"""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from lti_tool.content.cli import content
from lti_tool.content.yamlsrc import Source, parse_yaml

from ..content.helpers import GOOD


def bomb(levels: int = 10) -> str:
    """The 'billion laughs' in YAML: each level is nine aliases of the one before."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        prev = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([prev] * 9)}]")
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 10) -> str:
    """The same with merge keys, which PyYAML flattens eagerly."""
    lines = ["m0: &m0 {k: v}"]
    for level in range(1, levels + 1):
        merged = ", ".join([f"*m{level - 1}"] * 9)
        lines.append(f"m{level}: &m{level}\n  <<: [{merged}]\n  k{level}: v")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_with_its_line(tmp_path):
    for text, line in ((bomb(), 6), (merge_bomb(), None)):
        problems: list = []
        assert parse_yaml(text, Source(tmp_path / "module.yaml", problems)) is None
        [problem] = problems
        assert "alias bomb" in problem.message, problem.message
        if line is not None:
            assert problem.line == line


def test_ordinary_aliases_and_merge_keys_still_work(tmp_path):
    text = "base: &base {points: 1, shuffle: true}\nq1:\n  <<: *base\n  id: q1\nlist: [*base, *base]\n"
    problems: list = []
    data = parse_yaml(text, Source(tmp_path / "m.yaml", problems))
    assert problems == [] and data["q1"] == {"points": 1, "shuffle": True, "id": "q1"}
    assert data["list"] == [{"points": 1, "shuffle": True}] * 2


def test_content_validate_and_import_refuse_a_bomb_package(tmp_path):
    package = tmp_path / "bomb"
    shutil.copytree(GOOD, package)
    module = package / "module.yaml"
    module.write_text(module.read_text() + "\n" + bomb().replace("a", "x_a"))
    runner = CliRunner()
    result = runner.invoke(content, ["validate", str(package)])
    assert result.exit_code == 1 and "alias bomb" in result.output
    result = runner.invoke(content, ["import", str(package), "--store", str(tmp_path / "s")])
    assert result.exit_code != 0 and "alias bomb" in result.output
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("module.yaml"))
