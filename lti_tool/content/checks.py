"""Checks that need a whole loaded module: ids, shipped-set rules, content warnings, guessing,
honest minutes, and the package's files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .activities import Context, Reflection, Scenario
from .frameworks import DCS
from .guessing import guessing_problems
from .timing import estimated_minutes, honest_range
from .errors import Severity
from .yamlsrc import Source, YMap

if TYPE_CHECKING:
    from .module import Module

ALLOWED_SUFFIXES = {".yaml", ".yml", ".md", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
# A module that mentions these needs a content warning (students may have lived experience).
# The core topics are errors; "abuse" alone is a warning because passing mentions (a domestic
# abuse helpline, abuse of staff) are common and the author should judge.
SENSITIVE_RE = re.compile(r"\b(groom(?:ing|ed|er|ers|s)?|sexual(?:ly)?[ -]+(?:exploit\w*|abus\w*)|sextortion)\b",
                          re.IGNORECASE)
ABUSE_RE = re.compile(r"\babus(?:e|es|ed|ive|er|ers)\b", re.IGNORECASE)
STRICT_MIN_PAGES = 3
STRICT_MIN_SCORED = 6


def check_module(module: Module, data: YMap, ctx: Context) -> None:
    """Rules that need the whole module: unique ids, pass mark, alignment, shipped-set rules."""
    src, strict = ctx.src, ctx.strict
    seen: dict[str, int] = {}
    for a in module.activities:
        if a.id in seen:
            src.error(a.line, f"activity id '{a.id}' is used twice (first at line {seen[a.id]}); "
                              "activity ids must be unique in the module")
        elif a.id == module.confidence.id:
            src.error(a.line, f"'{a.id}' is reserved for the confidence self-rating; rename the activity")
        seen.setdefault(a.id, a.line)
        ctx.src.problems.extend(a.validate(ctx))
    ctx.src.problems.extend(module.confidence.validate(ctx))
    seen_pages: set[str] = set()
    for p in module.pages:
        if p.path in seen_pages:
            src.warning(p.line, f"page '{p.path}' is listed twice")
        seen_pages.add(p.path)

    if module.max_points <= 0 and module.pass_mark:
        src.error(data.line_of("pass_mark"), f"pass_mark {module.pass_mark} can never be reached: the module "
                                             "has no scored activities; add activities with a weight")
    if not module.pages:
        src.error(data.line_of("steps"), "the module has no pages; add at least one '- page: pages/...md'")
    if DCS not in module.alignment and strict:
        src.error(data.line_of("alignment"), f"alignment has no '{DCS}' entry; list the DCS elements the "
                                             "module develops")

    if not strict:
        return
    n_scored = len(module.activities)
    scenarios = [a for a in module.activities if isinstance(a, Scenario)]
    steps_line = data.line_of("steps")
    if len(module.pages) < STRICT_MIN_PAGES:
        src.error(steps_line, f"the module has {len(module.pages)} page(s); shipped modules need at least "
                              f"{STRICT_MIN_PAGES} teaching pages")
    if n_scored < STRICT_MIN_SCORED:
        src.error(steps_line, f"the module has {n_scored} scored activities; shipped modules need at least "
                              f"{STRICT_MIN_SCORED}")
    if not scenarios:
        src.error(steps_line, "the module has no scenario; shipped modules need at least one branching "
                              "scenario with three or more decision points on every path")
    if not any(isinstance(a, Reflection) for a in module.activities):
        src.error(steps_line, "the module has no reflection; shipped modules need one")
    if not module.confidence.statements and "confidence" in data:  # absent: already reported
        src.error(data.line_of("confidence"), "the module has no confidence statements; add at least one "
                                              "'- {id: c1, element: R4, text: I can ...}'")


def check_measures(module: Module, data: YMap, ctx: Context) -> None:
    """What a naive guess scores (always) and whether the stated minutes are honest (strict)."""
    src, strict = ctx.src, ctx.strict
    if module.max_points > 0:
        src.problems.extend(guessing_problems(module, src.path, strict=strict,
                                              line=data.line_of("steps")))
    if not strict:
        return
    estimate = estimated_minutes(module)
    low, high = honest_range(estimate)
    if module.estimated_minutes and not low <= module.estimated_minutes <= high:
        src.add(data.line_of("estimated_minutes"), f"estimated_minutes {module.estimated_minutes} "
                f"does not match the module: reading its words and answering its items takes "
                f"about {estimate:.0f} minutes; state {low}-{high}, or trim the text", "error")


def check_sensitive(module: Module, data: YMap, ctx: Context) -> None:
    """Grooming, sexual exploitation or sextortion need a content_warning (error); abuse, a warning."""
    if module.content_warning:
        return
    found: dict[str, tuple[str, int, str]] = {}
    for path in [ctx.src.path] + [ctx.root / p.path for p in module.pages]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for n, text in enumerate(lines, start=1):
            if path.suffix == ".yaml" and text.lstrip().startswith("#"):
                continue  # YAML comments are not shown to students
            for kind, regex in (("core", SENSITIVE_RE), ("abuse", ABUSE_RE)):
                m = regex.search(text)
                if m and kind not in found:
                    found[kind] = (m.group(0), n, path.relative_to(ctx.root).as_posix())
    severities: tuple[tuple[str, Severity], ...] = (("core", "error"), ("abuse", "warning"))
    for kind, severity in severities:
        if kind not in found or (kind == "abuse" and "core" in found):
            continue
        word, n, rel = found[kind]
        Source(ctx.root / rel, ctx.src.problems).add(
            n, f"the module mentions '{word}' but module.yaml has no content_warning; add "
               "content_warning: with a sentence telling students what the module covers", severity)


def _package_files(root: Path) -> Iterator[Path]:
    """Files of a package, skipping hidden files and folders (e.g. .DS_Store, .git)."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue
        if path.is_file() or path.is_symlink():
            yield path


def check_files(root: Path, ctx: Context, module: Module | None) -> None:
    used = {p.path for p in module.pages} if module else set()
    for path in _package_files(root):
        rel = path.relative_to(root).as_posix()
        src = Source(path, ctx.src.problems)
        if path.is_symlink():
            src.error(None, "symbolic links are not allowed in a package; copy the file instead")
        elif path.suffix.lower() not in ALLOWED_SUFFIXES:
            src.error(None, f"file type '{path.suffix or path.name}' is not allowed in a package; keep only "
                            f"{', '.join(sorted(ALLOWED_SUFFIXES))}")
        elif module and path.suffix == ".md" and rel.startswith("pages/") and rel not in used:
            src.warning(None, "this page is not listed in steps, so students never see it")


def package_digest(root: Path) -> str:
    """sha256 over every package file's relative path and bytes."""
    h = hashlib.sha256()
    for path in _package_files(root):
        if path.is_file() and not path.is_symlink():
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()
