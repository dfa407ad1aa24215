"""The content engine stays free of Flask and LTI so authors' tools and workers can use it."""

from __future__ import annotations

import subprocess
import sys

from .helpers import REPO

CHECK = "import sys; {setup}import lti_tool.content, lti_tool.content.cli; " \
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'pylti1p3', 'werkzeug', 'flask_wtf')); " \
        "print(','.join(bad))"


def _imported(setup: str = "") -> str:
    proc = subprocess.run([sys.executable, "-c", CHECK.format(setup=setup)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_engine_code_imports_no_flask():
    # Bypass lti_tool/__init__.py (the app factory) to test only the engine's own imports.
    setup = ("import types; pkg = types.ModuleType('lti_tool'); pkg.__path__ = ['lti_tool']; "
             "sys.modules['lti_tool'] = pkg; ")
    assert _imported(setup) == ""


def test_importing_lti_tool_content_imports_no_flask():
    assert _imported() == "", "lti_tool/__init__.py must import Flask lazily (inside create_app)"
