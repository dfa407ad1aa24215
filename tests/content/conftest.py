"""Fixtures for the content engine tests: framework data and the small valid fixture package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lti_tool.content import Module, load_module

from .helpers import GOOD


@pytest.fixture(scope="session")
def good_module(frameworks) -> Module:
    """The valid fixture module, loaded with the strict (shipped-set) rules."""
    result = load_module(GOOD, frameworks)
    assert [p.format() for p in result.problems] == []
    return result.module


@pytest.fixture
def good_copy(tmp_path) -> Path:
    """A private copy of the fixture package, safe to edit."""
    dest = tmp_path / "src" / GOOD.name
    shutil.copytree(GOOD, dest)
    return dest
