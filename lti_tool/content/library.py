"""The library of modules: shipped ones plus every version ever served or imported, kept on disk."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .checks import package_digest
from .errors import ModuleNotFound, Problem
from .frameworks import Framework, load_frameworks
from .module import (
    MODULE_FILE,
    MODULE_ID_RE,
    SEMVER_RE,
    LoadResult,
    Module,
    load_module,
    semver_key,
)
from .packages import copy_package, open_package

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The repository's content_packages/ unless the deployment points elsewhere (an installed wheel
# does not carry it); same variable as the app's Config.CONTENT_DIR.
PACKAGES_ROOT = Path(os.environ.get("LTI_TOOL_CONTENT_DIR") or PROJECT_ROOT / "content_packages")
SHIPPED_MODULES = PACKAGES_ROOT / "modules"
SHIPPED_FRAMEWORKS = PACKAGES_ROOT / "frameworks"


def default_store() -> Path:
    """The store the app uses: $LTI_TOOL_CONTENT_STORE, else <instance dir>/content."""
    store = os.environ.get("LTI_TOOL_CONTENT_STORE")
    if store:
        return Path(store)
    return Path(os.environ.get("LTI_TOOL_INSTANCE_DIR") or PROJECT_ROOT / "instance") / "content"


def shipped_module_dirs(modules_dir: Path = SHIPPED_MODULES) -> list[Path]:
    """Every folder under ``modules_dir`` that is meant to be a module (sorted)."""
    if not modules_dir.is_dir():
        return []
    return sorted(p for p in modules_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


class Library:
    """Shipped modules plus the store ``<store>/<id>/<version>/``; ``get`` serves any version."""

    def __init__(self, store: Path | None = None, *, modules_dir: Path = SHIPPED_MODULES,
                 frameworks_dir: Path = SHIPPED_FRAMEWORKS, strict: bool = True) -> None:
        self.store = Path(store) if store is not None else None
        self.modules_dir = Path(modules_dir)
        self.problems: list[Problem] = []
        self.frameworks: dict[str, Framework] = load_frameworks(Path(frameworks_dir), self.problems)
        self._shipped: dict[str, Module] = {}
        self._stored: dict[tuple[str, str], Module | None] = {}
        self._snapshotted: set[tuple[str, str]] = set()
        for folder in shipped_module_dirs(self.modules_dir):
            result = load_module(folder, self.frameworks, strict=strict)
            self.problems.extend(result.problems)
            if result.module is not None:
                self._shipped[result.module.id] = result.module

    @classmethod
    def from_packages(cls, packages_root: Path, store: Path | None = None, *, strict: bool = True) -> Library:
        """A library over ``<packages_root>/modules`` and ``<packages_root>/frameworks``."""
        root = Path(packages_root)
        return cls(store, modules_dir=root / "modules", frameworks_dir=root / "frameworks", strict=strict)

    def _store_versions(self, module_id: str) -> list[str]:
        if self.store is None or not MODULE_ID_RE.match(module_id):
            return []
        folder = self.store / module_id
        if not folder.is_dir():
            return []
        return [p.name for p in folder.iterdir() if p.is_dir() and SEMVER_RE.match(p.name)
                and (p / MODULE_FILE).is_file()]

    def ids(self) -> list[str]:
        """Every module id, shipped or stored."""
        ids = set(self._shipped)
        if self.store is not None and self.store.is_dir():
            ids |= {p.name for p in self.store.iterdir() if p.is_dir() and MODULE_ID_RE.match(p.name)}
        return sorted(ids)

    def versions(self, module_id: str) -> list[str]:
        """Known versions of a module, oldest first."""
        found = set(self._store_versions(module_id))
        if module_id in self._shipped:
            found.add(self._shipped[module_id].version)
        return sorted(found, key=semver_key)

    def modules(self) -> list[Module]:
        """The latest loadable version of every module, by id (what the picker shows; writes nothing)."""
        out = []
        for mid in self.ids():
            try:
                out.append(self._find(mid, None))
            except ModuleNotFound:
                continue
        return out

    def get(self, module_id: str, version: str | None = None) -> Module:
        """The module to serve at ``version`` (default: the latest by semver); raises ModuleNotFound.

        Serving a shipped module copies it into the store first, so that version stays available.
        """
        module = self._find(module_id, version)
        if self._shipped.get(module_id) is module:
            self._snapshot(module)
        return module

    def _find(self, module_id: str, version: str | None) -> Module:
        candidates = [version] if version is not None else list(reversed(self.versions(module_id)))
        for v in candidates:
            module = self._load(module_id, v)
            if module is not None:
                return module
        what = f"{module_id} {version}" if version else module_id
        raise ModuleNotFound(f"module {what} is not in the library")

    def _load(self, module_id: str, version: str) -> Module | None:
        shipped = self._shipped.get(module_id)
        if shipped is not None and shipped.version == version:
            return shipped
        key = (module_id, version)
        if key not in self._stored:
            if self.store is None or version not in self._store_versions(module_id):
                return None
            # Stored versions were fully checked when they arrived; load them with the basic
            # rules so a later tightening of the shipped-set rules cannot strand old attempts.
            result = load_module(self.store / module_id / version, self.frameworks, strict=False,
                                 expected_id=module_id, expected_version=version,
                                 measures=False)
            self.problems.extend(result.problems)
            self._stored[key] = result.module  # None too: report a broken copy once, not per request
        return self._stored[key]

    def _snapshot(self, module: Module) -> None:
        """Keep a copy of a shipped module in the store so this version stays servable forever."""
        if self.store is None or module.key in self._snapshotted:
            return
        self._snapshotted.add(module.key)  # hash the stored copy once per process, not per request
        dest = self.store / module.id / module.version
        if dest.is_dir():
            if package_digest(dest) != module.digest:
                msg = (f"shipped module {module.id} {module.version} differs from the copy already served "
                       f"from {dest}; bump its version so earlier attempts keep their content")
                self.problems.append(Problem(module.root / MODULE_FILE, None, msg, "warning"))
                log.warning(msg)
            return
        try:
            _install(module.root, self.store, module.id, module.version)
        except OSError:
            self._snapshotted.discard(module.key)  # try again next time; serving without a copy is unsafe
            raise


def _install(src: Path, store: Path, module_id: str, version: str) -> Path:
    """Copy a package to ``<store>/<id>/<version>`` atomically (temp folder, then rename)."""
    dest = store / module_id / version
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=store))
    try:
        copy_package(src, tmp / "pkg")
        try:
            os.rename(tmp / "pkg", dest)
        except OSError:
            if not dest.is_dir():  # a concurrent writer wins the race; anything else is real
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


@dataclass
class ImportResult:
    """Outcome of ``import_package``: the stored module or the problems that stopped it."""

    module: Module | None
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None
    created: bool = False  # False when the identical version was already stored

    @property
    def ok(self) -> bool:
        """True when the package is in the store."""
        return self.module is not None


def validate_package(source: Path, frameworks: dict[str, Framework], *, strict: bool = True) -> LoadResult:
    """Load and check a package folder or zip exactly as ``import_package`` would."""
    with open_package(source) as opened:
        if opened.folder is None:
            return LoadResult(None, opened.problems)
        result = load_module(opened.folder, frameworks, strict=strict, expected_id=opened.expected_id)
        temporary = opened.folder != opened.display  # an unpacked zip vanishes when we return
        return LoadResult(None if temporary else result.module, opened.shown(result.problems))


def import_package(source: Path, store: Path, *, frameworks: dict[str, Framework] | None = None,
                   strict: bool = True, modules_dir: Path = SHIPPED_MODULES) -> ImportResult:
    """Validate a package (folder or zip) completely, then add it to ``store`` atomically.

    Nothing is written unless the package is valid. Re-importing an identical id+version is a
    no-op; the same id+version with different content is refused (bump the version).
    """
    store = Path(store)
    if frameworks is None:
        fw_problems: list[Problem] = []
        frameworks = load_frameworks(SHIPPED_FRAMEWORKS, fw_problems)
    with open_package(source) as opened:
        if opened.folder is None:
            return ImportResult(None, opened.problems)
        result = load_module(opened.folder, frameworks, strict=strict, expected_id=opened.expected_id)
        problems = opened.shown(result.problems)
        module = result.module
        if module is None:
            return ImportResult(None, problems)
        where = Problem(opened.display / MODULE_FILE, _version_line(opened.folder / MODULE_FILE), "")
        dest = store / module.id / module.version
        shipped = Path(modules_dir) / module.id / MODULE_FILE
        if dest.is_dir():
            if package_digest(dest) == module.digest:
                return ImportResult(_reload(dest, frameworks), problems, dest, created=False)
            return ImportResult(None, problems + [_conflict(where, module)])
        if shipped.is_file() and _same_version(shipped, module.version) and \
                package_digest(shipped.parent) != module.digest:
            return ImportResult(None, problems + [_conflict(where, module)])
        store.mkdir(parents=True, exist_ok=True)
        _install(opened.folder, store, module.id, module.version)
        if package_digest(dest) != module.digest:  # lost a race to a different upload
            return ImportResult(None, problems + [_conflict(where, module)])
    return ImportResult(_reload(dest, frameworks), problems, dest, created=True)


def _reload(dest: Path, frameworks: dict[str, Framework]) -> Module | None:
    return load_module(dest, frameworks, strict=False, measures=False, expected_id=dest.parent.name,
                       expected_version=dest.name).module


def _conflict(where: Problem, module: Module) -> Problem:
    return Problem(where.path, where.line, f"module {module.id} version {module.version} is already in the "
                                           "library with different content; bump the version (for example "
                                           f"to {_next_patch(module.version)}) and import again")


def _next_patch(version: str) -> str:
    m = SEMVER_RE.match(version)
    return f"{m[1]}.{m[2]}.{int(m[3]) + 1}" if m else version


def _version_line(path: Path) -> int | None:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(r"^version\s*:", line):
            return n
    return None


def _same_version(module_yaml: Path, version: str) -> bool:
    return any(re.match(rf"^version\s*:\s*['\"]?{re.escape(version)}['\"]?\s*(#.*)?$", line)
               for line in module_yaml.read_text(encoding="utf-8").splitlines())
