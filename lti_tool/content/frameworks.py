"""Alignment frameworks (DCS, PCF, QAA, HEE): one YAML file per edition, loaded as data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problem
from .yamlsrc import Fields, Source, YMap, expect_map, load_yaml

KINDS = {"capability", "professional", "benchmark", "digital"}
DCS = "dcs-2020"  # the framework whose elements activities evidence (``elements`` tags)


@dataclass(frozen=True)
class FrameworkItem:
    """A domain, element, statement or level inside a framework."""

    id: str
    title: str
    summary: str = ""
    domain: str | None = None  # the domain an element sits in; None for domains and levels


@dataclass(frozen=True, eq=False)
class Framework:
    """One edition of a framework; modules align to its leaf ids."""

    id: str
    title: str
    publisher: str
    edition: str
    kind: str
    domains: tuple[FrameworkItem, ...]
    elements: tuple[FrameworkItem, ...]
    levels: tuple[FrameworkItem, ...]
    crosswalk: dict[str, dict[str, tuple[str, ...]]]
    note: str = ""
    path: Path | None = field(default=None, compare=False)
    _crosswalk_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def alignable(self) -> dict[str, FrameworkItem]:
        """Ids a module may align to: the elements, or the domains when there are none."""
        items = self.elements or self.domains
        return {item.id: item for item in items}

    @property
    def level_ids(self) -> list[str]:
        """Level ids in order."""
        return [lvl.id for lvl in self.levels]

    def domain_of(self, item_id: str) -> str | None:
        """Domain id of an element (or the id itself when it is a domain)."""
        for el in self.elements:
            if el.id == item_id:
                return el.domain
        return item_id if any(d.id == item_id for d in self.domains) else None

    def domains_of(self, item_ids: Iterable[str]) -> tuple[str, ...]:
        """The domains these elements sit in, once each, in the framework's own order."""
        found = {self.domain_of(i) for i in item_ids}
        return tuple(d.id for d in self.domains if d.id in found)

    def crosswalk_to(self, other_id: str) -> dict[str, tuple[str, ...]]:
        """Map each of this framework's ids to ids in ``other_id`` (empty when not mapped)."""
        return {key: targets.get(other_id, ()) for key, targets in self.crosswalk.items()}


def load_framework(path: Path, problems: list[Problem]) -> Framework | None:
    """Load one framework file; None (with problems) when it is unusable."""
    before = len(problems)
    data = load_yaml(path, problems)
    if data is None:
        return None
    src = Source(path, problems)
    f = Fields(data, src, "the framework",
               {"id", "title", "publisher", "edition", "kind", "url", "note", "domains", "levels", "crosswalk"})
    fid = f.ident("id")
    title = f.text("title") or ""
    publisher = f.text("publisher") or ""
    edition = f.text("edition", what='the edition year, e.g. "2020"') or ""
    kind = f.text("kind") or ""
    f.text("url", required=False)
    note = f.text("note", required=False) or ""
    if fid and fid != path.stem:
        src.error(f.line("id"), f"framework id '{fid}' must equal the file name '{path.stem}'; rename one")
    if fid and edition and not fid.endswith(f"-{edition}"):
        src.error(f.line("id"), f"framework id '{fid}' must end with its edition '-{edition}' so "
                                "editions can live side by side")
    if kind and kind not in KINDS:
        src.error(f.line("kind"), f"kind '{kind}' is not one of {', '.join(sorted(KINDS))}")

    seen: dict[str, int] = {}
    domains: list[FrameworkItem] = []
    elements: list[FrameworkItem] = []
    for i, raw in enumerate(f.seq("domains") or []):
        d = expect_map(raw, f.data["domains"].line_at(i), src, "each domain")
        if d is None:
            continue
        df = Fields(d, src, "domain", {"id", "title", "summary", "elements"})
        did, dtitle = df.ident(), df.text("title")
        if did is None or dtitle is None:
            continue
        _unique(did, d.line_of("id"), seen, src)
        domains.append(FrameworkItem(did, dtitle, df.text("summary", required=False) or ""))
        for j, raw_el in enumerate(df.seq("elements", required=False) or []):
            e = expect_map(raw_el, d["elements"].line_at(j), src, "each element")
            if e is None:
                continue
            ef = Fields(e, src, f"element of domain '{did}'", {"id", "title", "summary"})
            eid, etitle = ef.ident(), ef.text("title")
            summary = ef.text("summary", required=False) or ""
            if eid is None or etitle is None:
                continue
            _unique(eid, e.line_of("id"), seen, src)
            elements.append(FrameworkItem(eid, etitle, summary, did))
    if not domains:
        src.error(data.line, "the framework has no domains; add 'domains:' with at least one")

    levels: list[FrameworkItem] = []
    for i, raw in enumerate(f.seq("levels", required=False) or []):
        lv = expect_map(raw, data["levels"].line_at(i), src, "each level")
        if lv is None:
            continue
        lf = Fields(lv, src, "level", {"id", "title", "summary"})
        lid, ltitle = lf.ident(), lf.text("title")
        if lid is not None and ltitle is not None:
            _unique(lid, lv.line_of("id"), seen, src)
            levels.append(FrameworkItem(lid, ltitle, lf.text("summary", required=False) or ""))

    crosswalk, cw_lines = _crosswalk(f.mapping("crosswalk", required=False), src,
                                     {x.id for x in (elements or domains)})
    if len(problems) > before and any(p.is_error for p in problems[before:]):
        return None
    return Framework(fid or path.stem, title, publisher, edition, kind, tuple(domains), tuple(elements),
                     tuple(levels), crosswalk, note, path, cw_lines)


def _unique(item_id: str, line: int, seen: dict[str, int], src: Source) -> None:
    if item_id in seen:
        src.error(line, f"id '{item_id}' is used twice (first at line {seen[item_id]}); ids must be unique")
    seen.setdefault(item_id, line)


def _crosswalk(data: YMap | None, src: Source, own: set[str]
               ) -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, int]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    lines: dict[str, int] = {}
    if data is None:
        return out, lines
    for key, targets in data.items():
        line = data.line_of(key)
        key = str(key)
        if key not in own:
            src.error(line, f"crosswalk key '{key}' is not an id of this framework")
            continue
        tmap = expect_map(targets, line, src, f"crosswalk entry '{key}'")
        if tmap is None:
            continue
        out[key] = {}
        lines[key] = line
        for other, ids in tmap.items():
            if not isinstance(ids, list) or not all(isinstance(x, (str, int)) for x in ids):
                src.error(tmap.line_of(other), f"crosswalk '{key}' -> '{other}' must be a list of ids")
                continue
            out[key][str(other)] = tuple(str(x) for x in ids)
    return out, lines


def check_crosswalks(frameworks: dict[str, Framework], problems: list[Problem]) -> None:
    """Every crosswalk target must be a loaded framework and an id inside it."""
    for fw in frameworks.values():
        src = Source(fw.path or Path(f"{fw.id}.yaml"), problems)
        for key, targets in fw.crosswalk.items():
            line = fw._crosswalk_lines.get(key)
            for other, ids in targets.items():
                target = frameworks.get(other)
                if target is None:
                    src.error(line, f"crosswalk '{key}' refers to framework '{other}', which does not "
                                    f"exist; known: {', '.join(sorted(frameworks))}")
                    continue
                for x in ids:
                    if x not in target.alignable:
                        src.error(line, f"crosswalk '{key}' -> '{other}' names '{x}', which is not in "
                                        f"{other}; use one of {', '.join(target.alignable)}")


def load_frameworks(folder: Path, problems: list[Problem]) -> dict[str, Framework]:
    """Load every ``*.yaml`` framework in ``folder`` and check their crosswalks."""
    out: dict[str, Framework] = {}
    for path in sorted(folder.glob("*.yaml")):
        fw = load_framework(path, problems)
        if fw is not None:
            out[fw.id] = fw
    check_crosswalks(out, problems)
    return out
