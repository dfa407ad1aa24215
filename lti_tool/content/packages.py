"""Opening a package from a folder or a zip file safely (no path traversal, bounded size)."""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .errors import Problem
from .module import MODULE_FILE

MAX_ENTRIES = 500
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 100 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass
class Opened:
    """A package ready to load: its folder, the name to show in messages, and zip problems."""

    folder: Path | None
    display: Path
    expected_id: str | None = None  # None: the folder name must equal the module id; "": no check
    problems: list[Problem] = field(default_factory=list)

    def shown(self, problems: list[Problem]) -> list[Problem]:
        """Problems with temporary paths replaced by the name the user gave."""
        if self.folder is None:
            return problems
        return [p.moved(self.folder, self.display) for p in problems]


@contextmanager
def open_package(source: Path) -> Iterator[Opened]:
    """Yield the package at ``source`` (folder, module.yaml or .zip); zips go to a temp folder."""
    source = Path(source)
    if source.is_file() and source.name == MODULE_FILE:
        source = source.parent
    if source.is_dir():
        yield Opened(source, source)
        return
    if not source.exists():
        yield Opened(None, source, problems=[Problem(source, None, "no such file or folder")])
        return
    if source.suffix.lower() != ".zip":
        yield Opened(None, source, problems=[Problem(source, None, "a package is a folder with module.yaml "
                                                                   "or a .zip of one")])
        return
    with tempfile.TemporaryDirectory(prefix="lti-content-") as tmp:
        problems: list[Problem] = []
        root = _extract(source, Path(tmp), problems)
        if root is None:
            yield Opened(None, source, problems=problems)
            return
        top = root.relative_to(tmp)
        # A single top-level folder must be named after the module; module.yaml at the zip root
        # has no folder name to check.
        yield Opened(root, source / top, expected_id=root.name if top.parts else "")


def _extract(zip_path: Path, dest: Path, problems: list[Problem]) -> Path | None:
    """Unpack ``zip_path`` into ``dest`` after checking every entry; return the package folder."""
    def fail(message: str) -> None:
        problems.append(Problem(zip_path, None, message))

    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        fail(f"not a readable zip file ({exc}); zip the package folder again")
        return None
    with zf:
        infos = [i for i in zf.infolist() if not _junk(i.filename)]
        if len(infos) > MAX_ENTRIES:
            fail(f"the zip has {len(infos)} entries; a package may have at most {MAX_ENTRIES}")
            return None
        total = 0
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name).parts
            if name.startswith(("/", "\\")) or "\\" in name or ".." in parts or (parts and ":" in parts[0]):
                fail(f"zip entry '{name}' would be written outside the package; rebuild the zip from "
                     "the package folder (no '../' or absolute paths)")
                return None
            if stat.S_ISLNK(info.external_attr >> 16):
                fail(f"zip entry '{name}' is a symbolic link; links are not allowed in a package")
                return None
            if info.flag_bits & 0x1:
                fail(f"zip entry '{name}' is encrypted; packages must not be password-protected")
                return None
            if info.file_size > MAX_FILE_BYTES:
                fail(f"zip entry '{name}' is {info.file_size} bytes; the limit is {MAX_FILE_BYTES}")
                return None
            total += info.file_size
        if total > MAX_TOTAL_BYTES:
            fail(f"the zip unpacks to {total} bytes; the limit is {MAX_TOTAL_BYTES}")
            return None
        written = 0
        for info in infos:
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Count real bytes: the sizes in a zip's headers can lie (zip bombs).
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > MAX_TOTAL_BYTES or out.tell() + len(chunk) > MAX_FILE_BYTES:
                            fail(f"zip entry '{info.filename}' unpacks beyond the size limit "
                                 "(its header understates its size); the zip is refused")
                            return None
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                fail(f"zip entry '{info.filename}' cannot be read ({exc})")
                return None
    if (dest / MODULE_FILE).is_file():
        return dest
    tops = [p for p in dest.iterdir()]
    if len(tops) == 1 and tops[0].is_dir() and (tops[0] / MODULE_FILE).is_file():
        return tops[0]
    fail(f"the zip must hold {MODULE_FILE} at its top level or inside one single folder; "
         "zip the module folder itself")
    return None


def _junk(name: str) -> bool:
    """Entries zip tools add that are not part of the package (macOS resource forks etc.)."""
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or parts[-1] in (".DS_Store", "Thumbs.db")


def copy_package(src: Path, dest: Path) -> None:
    """Copy a package tree, leaving out hidden files and folders."""
    shutil.copytree(src, dest, ignore=lambda _d, names: [n for n in names if n.startswith(".") or n == "__MACOSX"])
