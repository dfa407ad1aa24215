"""Paths and small helpers shared by the content engine tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "content_fixtures"
GOOD = FIXTURES / "good" / "fx-online-safety"
BROKEN = FIXTURES / "broken"
FROZEN = FIXTURES / "frozen"
REPO = Path(__file__).resolve().parents[2]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to prove nothing changed)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of text in a file (fails loudly if absent)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def install_frozen(store: Path, module_id: str, as_id: str | None = None) -> Path:
    """Copy a frozen 1.0.0 module into a content store, under another id if asked."""
    import shutil

    dest = store / (as_id or module_id) / "1.0.0"
    shutil.copytree(FROZEN / module_id / "1.0.0", dest, dirs_exist_ok=True)
    if as_id:
        yaml = dest / "module.yaml"
        yaml.write_text(yaml.read_text().replace(f"id: {module_id}\n", f"id: {as_id}\n", 1))
    return dest
