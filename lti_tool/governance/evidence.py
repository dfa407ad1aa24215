"""A person's export as a plain-text record a DPO can send with the JSON (same data, readable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .subjects import PersonExport

TITLES = {
    "lti_user": "Who they are to the tool",
    "membership": "Courses and roles",
    "launch": "Times they opened the tool",
    "attempt": "Attempts at modules (answers, reflections, ratings, scores)",
    "reflection_mark": "Marks and comments on reflections",
    "grade_delivery": "Scores sent to the VLE",
    "roster_member": "Entries in class lists fetched from the VLE",
    "deep_link_response": "Activities they added to a course",
    "sandbox_score": "Scores in the demonstration VLE",
    "audit_event": "Audit log entries by or about them",
}


def _value(value: object) -> str:
    """A value on one line."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) or "-"
    return "-" if value is None or value == "" else str(value)


def evidence_text(document: PersonExport) -> str:
    """Every table of the export, row by row, field by field."""
    reg = document["registration"]
    lines = ["Personal data held by the digital capabilities tool",
             f"Platform: {reg['name']} ({reg['issuer']}), user id {document['sub']}",
             f"Produced: {document['exported_at']}", ""]
    for table, rows in document["tables"].items():
        lines.append(f"{TITLES.get(table, table)} [{table}]: {len(rows)}")
        for n, row in enumerate(rows, start=1):
            lines.append(f"  {n}.")
            lines += [f"     {key}: {_value(value)}" for key, value in row.items()]
        lines.append("")
    return "\n".join(lines)
