"""Every shipped module passes the validator with the strict (shipped-set) rules."""

from __future__ import annotations

import pytest

from lti_tool.content import load_module
from lti_tool.content.library import SHIPPED_MODULES, shipped_module_dirs

DIRS = shipped_module_dirs(SHIPPED_MODULES)


@pytest.mark.parametrize("folder", DIRS, ids=[d.name for d in DIRS])
def test_shipped_module_is_valid(frameworks, folder):
    result = load_module(folder, frameworks)
    errors = [p.format() for p in result.problems if p.is_error]
    assert errors == []
    assert result.module.id == folder.name
