"""The class view as CSV: the same columns as the heat map, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from ..progress import band, whole_percent
from .services import ClassScope, Columns, Student

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (CSV injection); a leading apostrophe makes it plain text. Tab and CR start formulas too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
STREAM_ROWS = 200  # students per chunk of a streamed export


def safe_cell(value: object) -> str:
    """A value as text a spreadsheet will never run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def header(columns: Columns) -> list[str]:
    """Column names: who, progress, then a percent and a band per domain and element."""
    cols = ["Name", "Email", "User ID", "Status", "Launched", "Modules completed",
            "Modules in scope", "Submitted attempts", "Awaiting marking", "Last activity (UTC)",
            "Grade delivery"]
    for label in [title for _, title in columns.domains] + [eid for eid, _ in columns.elements]:
        cols += [f"{label} %", f"{label} band"]
    return cols


def rows(students: Iterable[Student]) -> Iterator[list[object]]:
    """One list of values per student, in header order, every cell neutralised against formula
    injection (the figures and bands are the tool's own words and numbers; only what people
    and platforms wrote needs it)."""
    for s in students:
        row: list[object] = [
            safe_cell(s.name), safe_cell(s.email), safe_cell(s.sub), safe_cell(s.status),
            "yes" if s.launched else "no",
            s.modules_done, s.modules_total, s.submitted, s.pending_marking,
            s.last_activity.strftime("%Y-%m-%d %H:%M") if s.last_activity else "",
            safe_cell(s.grade_status)]
        for percent in s.percents():
            if percent is None:
                row += ["", "No evidence"]
            else:
                row += [whole_percent(percent), band(percent)]
        yield row


def class_csv(columns: Columns, students: list[Student]) -> str:
    """The whole export as text."""
    return "".join(stream_csv(columns, students))


def stream_csv(columns: Columns, students: Iterable[Student]) -> Iterator[str]:
    """The export as chunks of text for a streamed response."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in header(columns)])
    for count, row in enumerate(rows(students), 1):
        writer.writerow(row)
        if count % STREAM_ROWS == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def filename(scope: ClassScope) -> str:
    """A download name such as 'class-SW101-link.csv', ASCII only."""
    label = scope.context.label or scope.context.context_id
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in label)
    return f"class-{safe.strip('-')[:40] or 'course'}-{scope.kind}.csv"
