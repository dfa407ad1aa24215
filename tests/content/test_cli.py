"""The ``content`` command group: validate, list, import (also as ``python -m lti_tool.content``)."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from lti_tool.content.cli import content

from .helpers import BROKEN, GOOD, REPO


def run(*args: str):
    return CliRunner().invoke(content, list(args), catch_exceptions=False)


def test_validate_good_package(monkeypatch):
    monkeypatch.chdir(REPO)
    result = run("validate", str(GOOD))
    assert result.exit_code == 0
    assert result.output == "checked 1 module(s) and 0 framework file(s): 0 error(s), 0 warning(s)\n"


def test_validate_broken_prints_relative_file_and_line(monkeypatch):
    monkeypatch.chdir(REPO)
    result = run("validate", "--basic", str(BROKEN / "two-correct"), str(BROKEN / "missing-alt"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("tests/content_fixtures/broken/two-correct/module.yaml:22: single_choice")
    assert lines[1].startswith("tests/content_fixtures/broken/missing-alt/pages/01-intro.md:5: image")
    assert lines[-1] == "checked 2 module(s) and 0 framework file(s): 2 error(s), 0 warning(s)"


def test_validate_module_yaml_path_and_framework_file(monkeypatch):
    monkeypatch.chdir(REPO)
    assert run("validate", str(GOOD / "module.yaml")).exit_code == 0
    result = run("validate", "content_packages/frameworks/dcs-2020.yaml")
    assert result.exit_code == 0 and "0 error(s)" in result.output


def test_import_and_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    result = run("import", str(GOOD), "--store", str(store))
    assert result.exit_code == 0
    assert result.output == "fx-online-safety 1.0.0 imported in store/fx-online-safety/1.0.0\n"
    listed = run("list", "--store", str(store))
    assert ("fx-online-safety  1.0.0  15 min  dcs-2020: R4, R3; pcf-2018: PCF4, PCF7; "
            "qaa-sbs-sw-2019: ict-with-people; hee-dcf-2018: digital-identity") in listed.output


def test_import_bad_package_fails_with_click_exception(tmp_path):
    result = CliRunner().invoke(content, ["import", str(BROKEN / "cycle"), "--store", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "was not imported: fix the problems above; nothing was changed" in result.output
    assert not (tmp_path / "s").exists()


def test_python_dash_m_runs():
    proc = subprocess.run([sys.executable, "-m", "lti_tool.content", "validate", str(GOOD)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("0 error(s), 0 warning(s)")
