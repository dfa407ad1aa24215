"""The Module model and its loader/validator: module.yaml plus pages, checked line by line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .activities import (
    ACTIVITY_TYPES,
    Activity,
    Confidence,
    Context,
    ElementScore,
    Reflection,
    ScoreResult,
)
from .checks import (
    ALLOWED_SUFFIXES,
    check_files,
    check_measures,
    check_module,
    check_sensitive,
    package_digest,
)
from .errors import InvalidAnswer, Problem, has_errors
from .frameworks import DCS, Framework
from .markdown import (
    AssetUrl,
    check_markdown,
    package_path,
    page_title,
    render_markdown,
)
from .yamlsrc import Fields, Source, YList, YMap, expect_map, load_yaml

MODULE_FILE = "module.yaml"
MODULE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# semver.org's own pattern, so "1.0", "v1.0.0" and "01.0.0" are rejected.
SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
MODULE_KEYS = {"id", "version", "title", "summary", "estimated_minutes", "pcf_levels", "alignment",
               "learning_outcomes", "content_warning", "pass_mark", "references", "confidence", "steps"}

# Quality rules for the shipped set (strict profile): see docs/content-format.md.
STRICT_MINUTES = (15, 60)


def semver_key(version: str) -> tuple[Any, ...]:
    """Sort key giving semantic-version order (1.0.0-rc.1 < 1.0.0 < 1.0.10)."""
    m = SEMVER_RE.match(version)
    if not m:
        return (-1, -1, -1, 0, ())
    major, minor, patch, pre = int(m[1]), int(m[2]), int(m[3]), m[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    # numeric identifiers sort before alphanumeric ones, as semver.org says
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


@dataclass(frozen=True)
class Page:
    """A Markdown teaching page."""

    path: str  # package-relative, e.g. "pages/01-why.md"
    title: str
    markdown: str
    line: int = field(compare=False)  # where module.yaml lists it

    def render(self, asset_url: AssetUrl | None = None) -> dict[str, Any]:
        """Template data: title and sanitized HTML."""
        return {"kind": "page", "path": self.path, "title": self.title,
                "html": render_markdown(self.markdown, asset_url)}


@dataclass(frozen=True)
class Reference:
    """A source listed at the end of the module."""

    text: str
    year: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class ModuleScore:
    """A whole attempt scored: totals, per activity and per DCS element."""

    points: float
    max_points: float
    percent: float
    passed: bool
    pending_manual: bool
    by_activity: Mapping[str, ScoreResult]
    by_element: Mapping[str, ElementScore]


Step = Page | Activity


@dataclass(frozen=True, eq=False)  # identity equality/hash: modules are cached and used as keys
class Module:
    """A loaded, valid capability module at one version."""

    id: str
    version: str
    title: str
    summary: str
    estimated_minutes: int
    pcf_levels: tuple[str, ...]
    alignment: Mapping[str, tuple[str, ...]]
    learning_outcomes: tuple[str, ...]
    content_warning: str | None
    pass_mark: int
    references: tuple[Reference, ...]
    confidence: Confidence
    steps: tuple[Step, ...]
    root: Path = field(compare=False)
    digest: str = ""  # sha256 of the package files: which exact content an attempt used

    @property
    def key(self) -> tuple[str, str]:
        """(id, version): what attempts should record."""
        return (self.id, self.version)

    @property
    def pages(self) -> list[Page]:
        """Teaching pages in order."""
        return [s for s in self.steps if isinstance(s, Page)]

    @property
    def activities(self) -> list[Activity]:
        """Scored activities in order."""
        return [s for s in self.steps if isinstance(s, Activity)]

    def activity(self, activity_id: str) -> Activity:
        """The activity (or ``"confidence"``) with this id; KeyError if none."""
        if activity_id == self.confidence.id:
            return self.confidence
        for a in self.activities:
            if a.id == activity_id:
                return a
        raise KeyError(activity_id)

    @property
    def max_points(self) -> float:
        """Sum of the weights of scored activities."""
        return sum(a.max_points for a in self.activities)

    @property
    def elements(self) -> list[str]:
        """DCS elements the module evidences (activity tags, then module alignment)."""
        tags = [e for a in self.activities for e in a.elements] + list(self.alignment.get(DCS, ()))
        return list(dict.fromkeys(tags))

    def render_step(self, index: int, asset_url: AssetUrl | None = None, state: Any = None) -> dict[str, Any]:
        """Template data for step ``index`` (0-based): a page or an activity."""
        step = self.steps[index]
        if isinstance(step, Page):
            return step.render(asset_url)
        return {"kind": "activity", **step.render(asset_url, state)}

    def asset_path(self, relative: str) -> Path | None:
        """File for a package-relative asset path, or None if it is unsafe or missing."""
        norm = package_path(relative)
        if norm is None or Path(norm).suffix.lower() not in ALLOWED_SUFFIXES - {".yaml", ".yml", ".md"}:
            return None
        file = (self.root / norm).resolve()
        return file if file.is_relative_to(self.root.resolve()) and file.is_file() else None

    def score(self, answers: Mapping[str, Any], *, marks: Mapping[str, Any] | None = None,
              **settings: Any) -> ModuleScore:
        """Score an attempt: ``answers`` by activity id (missing ones earn 0), reflection ``marks``
        by activity id, link ``settings`` (e.g. completion_credit=True) passed to every activity.
        Raises InvalidAnswer for a malformed answer or an unknown activity id."""
        known = {a.id for a in self.activities}
        unknown = set(answers) - known - {self.confidence.id}
        if unknown:
            raise InvalidAnswer(f"module {self.id} has no activity '{str(sorted(map(str, unknown))[0])[:40]}'")
        by_activity: dict[str, ScoreResult] = {}
        for a in self.activities:
            if a.id in answers:
                extra = {"marks": (marks or {}).get(a.id)} if isinstance(a, Reflection) else {}
                by_activity[a.id] = a.score(answers[a.id], **settings, **extra)
            else:
                by_activity[a.id] = ScoreResult(0.0, a.max_points, False,
                                                {e: ElementScore(0.0, a.max_points / len(a.elements))
                                                 for e in a.elements})
        points = sum(r.points for r in by_activity.values())
        max_points = self.max_points
        by_element: dict[str, ElementScore] = {}
        for r in by_activity.values():
            for e, s in r.by_element.items():
                old = by_element.get(e, ElementScore(0.0, 0.0))
                by_element[e] = ElementScore(old.points + s.points, old.max_points + s.max_points)
        percent = min(100.0, 100.0 * points / max_points) if max_points else 0.0
        pending = any(r.pending_manual for r in by_activity.values())
        # tiny tolerance: float sums of exact fractions can land a hair under the mark
        return ModuleScore(points, max_points, percent, percent + 1e-9 >= self.pass_mark, pending,
                           by_activity, by_element)


@dataclass
class LoadResult:
    """A module (None when it has errors) and every problem found."""

    module: Module | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not has_errors(self.problems)


def load_module(folder: Path, frameworks: Mapping[str, Framework], *, strict: bool = True,
                expected_id: str | None = None, expected_version: str | None = None,
                measures: bool = True) -> LoadResult:
    """Load and fully validate the package in ``folder``.

    ``strict`` adds the shipped-set quality rules. ``measures`` runs the guessing check (off
    when serving a version already in the store: old attempts must stay viewable). ``expected_id`` defaults to the folder name
    ("" skips the check, for a zip with module.yaml at its root); the store passes the id and
    version from ``<store>/<id>/<version>/``.
    """
    folder = Path(folder)
    problems: list[Problem] = []
    path = folder / MODULE_FILE
    if not path.is_file():
        problems.append(Problem(folder, None, f"no {MODULE_FILE} in this folder; a package is a folder "
                                              f"with {MODULE_FILE}, pages/ and images/"))
        return LoadResult(None, problems)
    data = load_yaml(path, problems)
    if data is None:
        return LoadResult(None, problems)
    ctx = Context(Source(path, problems), folder, dict(frameworks), strict)
    module = _build(data, ctx, folder.name if expected_id is None else expected_id, expected_version)
    check_files(folder, ctx, module)
    if module is not None:
        check_module(module, data, ctx)
        check_sensitive(module, data, ctx)
        if measures and not has_errors(problems):  # figures of a broken module are noise
            check_measures(module, data, ctx)
    problems.sort(key=lambda p: (p.path != path, str(p.path), p.line or 0))  # module.yaml first, by line
    if module is None or has_errors(problems):
        return LoadResult(None, problems)
    return LoadResult(_with_digest(module), problems)


def _build(data: YMap, ctx: Context, expected_id: str, expected_version: str | None) -> Module | None:
    src = ctx.src
    f = Fields(data, src, MODULE_FILE, MODULE_KEYS)
    mid = f.text("id")
    if mid is not None and not MODULE_ID_RE.match(mid):
        src.error(f.line("id"), f"module id '{mid}' must be lower-case letters, digits and hyphens")
    elif mid is not None and expected_id and mid != expected_id:
        src.error(f.line("id"), f"module id '{mid}' must equal the folder name '{expected_id}'; rename one")
    version = data.get("version")
    if version is None:
        src.error(data.line, "module.yaml has no 'version'; add version: 1.0.0")
    elif not isinstance(version, str) or not SEMVER_RE.match(version):
        src.error(f.line("version"), f"version '{version}' is not a semantic version; write MAJOR.MINOR.PATCH "
                                     "such as 1.0.0 (quote it if needed)")
        version = None
    elif expected_version is not None and version != expected_version:
        src.error(f.line("version"), f"version '{version}' does not match its store folder '{expected_version}'")
    title = f.text("title")
    summary = f.text("summary", what="one or two sentences for the lecturer's picker")
    low, high = STRICT_MINUTES if ctx.strict else (1, 240)
    minutes = f.integer("estimated_minutes", low=low, high=high)
    pass_mark = f.integer("pass_mark", low=1, high=100)
    content_warning = f.text("content_warning", required=False)

    levels = []
    pcf = ctx.frameworks.get("pcf-2018")
    for lvl, line in f.id_list("pcf_levels", required=ctx.strict,
                               what="the PCF levels it suits, e.g. pcf_levels: [L1, L2, L3, L4]"):
        if pcf and lvl not in pcf.level_ids:
            src.error(line, f"pcf_levels: '{lvl}' is not a pcf-2018 level; use {', '.join(pcf.level_ids)}")
        levels.append(lvl)

    alignment = _alignment(f.mapping("alignment"), ctx)
    outcomes = []
    raw_outcomes = f.seq("learning_outcomes", what="a list of learning outcomes")
    if raw_outcomes is not None:
        for i, o in enumerate(raw_outcomes):
            if not isinstance(o, str) or not o.strip():
                src.error(raw_outcomes.line_at(i), "each learning outcome must be a sentence of text")
            else:
                outcomes.append(o)
        if not outcomes:
            src.error(raw_outcomes.line, "learning_outcomes is empty; add at least one outcome")

    references = []
    raw_refs = f.seq("references", required=False) or YList()
    for i, r in enumerate(raw_refs):
        rm = expect_map(r, raw_refs.line_at(i), src, "each reference")
        if rm is None:
            continue
        rf = Fields(rm, src, "reference", {"text", "year", "url"})
        text, year = rf.text("text"), rf.integer("year", required=False, low=1800, high=2100)
        url = rf.text("url", required=False)
        if url and not url.startswith(("https://", "http://")):
            src.error(rf.line("url"), f"reference url '{url}' must start with https://")
        if text:
            references.append(Reference(text, year, url))

    confidence = Confidence.from_list(f.seq("confidence", required=ctx.strict,
                                            what="confidence statements ('- {id: c1, element: R4, text: ...}')"),
                                      f.line("confidence"), ctx)
    steps = _steps(f.seq("steps", what="the pages and activities in order"), ctx)
    if steps is None:
        return None
    # Fields already reported as bad get placeholders so the remaining checks still run; the
    # module is thrown away at the end because errors were recorded.
    return Module(mid or expected_id, version or "0.0.0", title or "", summary or "", minutes or 0,
                  tuple(levels), alignment, tuple(outcomes), content_warning, pass_mark or 0,
                  tuple(references), confidence, tuple(steps), ctx.root)


def _alignment(data: YMap | None, ctx: Context) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    if data is None:
        return out
    for key, ids in data.items():
        line = data.line_of(key)
        fw = ctx.frameworks.get(str(key))
        if fw is None:
            ctx.src.error(line, f"alignment to unknown framework '{key}'; use one of "
                                f"{', '.join(sorted(ctx.frameworks))} (framework file names)")
            continue
        if not isinstance(ids, YList) or not ids:
            ctx.src.error(line, f"alignment '{key}' must be a non-empty list of ids, e.g. [{next(iter(fw.alignable))}]")
            continue
        good = []
        for i, x in enumerate(ids):
            x = str(x)
            if x not in fw.alignable:
                ctx.src.error(ids.line_at(i), f"'{x}' is not an id in {key}; use one of {', '.join(fw.alignable)}")
            else:
                good.append(x)
        out[str(key)] = tuple(good)
    return out


def _steps(items: Any, ctx: Context) -> list[Step] | None:
    if items is None:
        return None
    steps: list[Step] = []
    for i, raw in enumerate(items):
        line = items.line_at(i)
        item = expect_map(raw, line, ctx.src, "each step")
        if item is None:
            continue
        kinds = [k for k in item if k in ("page", "activity")]
        if len(kinds) != 1 or len(item) != 1:
            ctx.src.error(line, "each step must be either '- page: pages/NN-name.md' or '- activity: {...}'")
            continue
        if kinds[0] == "page":
            page = _page(item["page"], item.line_of("page"), ctx)
            if page is not None:
                steps.append(page)
            continue
        act = expect_map(item["activity"], item.line_of("activity"), ctx.src, "an activity")
        if act is None:
            continue
        atype = act.get("type")
        cls = ACTIVITY_TYPES.get(atype) if isinstance(atype, str) else None
        if cls is None:
            known = ", ".join(t for t in ACTIVITY_TYPES if t != "confidence")
            what = f"has type '{atype}'" if atype is not None else "has no 'type'"
            ctx.src.error(act.line_of("type"), f"activity '{act.get('id', '?')}' {what}; use one of {known}")
            continue
        activity = cls.parse(act, ctx)
        if activity is not None:
            steps.append(activity)
    return steps


def _page(value: Any, line: int, ctx: Context) -> Page | None:
    if not isinstance(value, str) or not value.strip():
        ctx.src.error(line, "page must be a path such as pages/01-why-it-matters.md")
        return None
    rel = package_path(value)
    if rel is None:
        ctx.src.error(line, f"page '{value}' must be a path inside the package such as pages/01-intro.md "
                            "(no '../', no absolute path or web address)")
        return None
    if not rel.endswith(".md"):
        ctx.src.error(line, f"page '{value}' must be a Markdown file ending in .md")
        return None
    file = ctx.root / rel
    if not file.resolve().is_relative_to(ctx.root.resolve()):
        ctx.src.error(line, f"page '{value}' resolves outside the package; copy the file into pages/")
        return None
    if not file.is_file():
        ctx.src.error(line, f"page file '{rel}' does not exist; create it or fix the path")
        return None
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        ctx.src.error(line, f"page '{rel}' is not UTF-8 text; save it as UTF-8")
        return None
    page_src = Source(file, ctx.src.problems)
    title = page_title(text)
    if title is None:
        page_src.error(1, "page has no title; start it with a level-1 heading such as '# Why it matters'")
    check_markdown(text, page_src, 1, ctx.root, "this page")
    return Page(rel, title or rel, text, line)


def _with_digest(module: Module) -> Module:
    return replace(module, digest=package_digest(module.root))
