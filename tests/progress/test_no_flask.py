"""The progress service stays free of Flask, LTI and the database layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHECK = ("import sys, types; pkg = types.ModuleType('lti_tool'); pkg.__path__ = ['lti_tool']; "
         "sys.modules['lti_tool'] = pkg; import lti_tool.progress; "
         "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
         "('flask', 'werkzeug', 'flask_wtf', 'pylti1p3', 'sqlalchemy', 'alembic', 'psycopg')); "
         "print(','.join(bad))")


def test_progress_imports_no_flask_and_no_database():
    # Bypass lti_tool/__init__.py (the app factory) to test only the service's own imports.
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
