"""The grade services use no Flask: only the web hook and the command line touch the app."""

from __future__ import annotations

import ast
from pathlib import Path

GRADES = Path(__file__).resolve().parents[2] / "lti_tool" / "grades"
EDGES = {"web.py", "cli.py"}


def test_grade_services_import_no_flask():
    for path in sorted(GRADES.glob("*.py")):
        if path.name in EDGES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in {"flask", "werkzeug", "flask_wtf"}, \
                    f"{path.name} imports {name}"
