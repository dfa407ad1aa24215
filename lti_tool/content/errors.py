"""Problems found in content files and the small ContentError family."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a content file, located by path and 1-based line."""

    path: Path
    line: int | None
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        """True when the problem blocks the package (warnings do not)."""
        return self.severity == "error"

    def format(self, relative_to: Path | None = None) -> str:
        """Render as ``file:line: message`` (gcc style, so editors can jump to it)."""
        where = display_path(self.path, relative_to)
        if self.line is not None:
            where = f"{where}:{self.line}"
        tag = "warning: " if self.severity == "warning" else ""
        return f"{where}: {tag}{self.message}"

    def __str__(self) -> str:
        return self.format()

    def moved(self, old_root: Path, new_root: Path) -> Problem:
        """Same problem with its path re-rooted (used to hide temporary folders)."""
        try:
            rel = Path(self.path).relative_to(old_root)
        except ValueError:
            return self
        return replace(self, path=new_root / rel)


def display_path(path: Path, relative_to: Path | None = None) -> str:
    """Path relative to ``relative_to`` (default: the current directory) when possible."""
    base = relative_to if relative_to is not None else Path.cwd()
    if not Path(path).is_absolute():
        return str(path)
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # different drive on Windows
        return str(path)
    # "../../x" is harder to read than the absolute path it stands for.
    return str(path) if rel.startswith("..") else rel


def has_errors(problems: list[Problem]) -> bool:
    """True when any problem is an error rather than a warning."""
    return any(p.is_error for p in problems)


class ContentError(Exception):
    """Base class for every error the content engine raises on purpose."""


class InvalidAnswer(ContentError, ValueError):
    """An answer is malformed: wrong type, unknown option id, impossible path, short text."""


class ModuleNotFound(ContentError, LookupError):
    """No module (or no such version of it) is in the library."""


class PackageError(ContentError):
    """A package could not be loaded or imported; ``problems`` says why."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])
