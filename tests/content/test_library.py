"""The library and store: versions kept forever, imports validated first and written atomically."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from lti_tool.content import Library, ModuleNotFound, import_package, validate_package
from lti_tool.content import packages

from .helpers import BROKEN, GOOD, edit, tree


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    """A zip holding exactly ``files`` (names used as given, even hostile ones)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def zip_folder(folder: Path, path: Path, prefix: str | None = None) -> Path:
    """Zip a package folder, under ``prefix/`` (default: its own name) or at the root when ''."""
    prefix = folder.name if prefix is None else prefix
    files = {"/".join(x for x in (prefix, p.relative_to(folder).as_posix()) if x): p.read_bytes()
             for p in sorted(folder.rglob("*")) if p.is_file()}
    return make_zip(path, files)


def test_import_good_package(tmp_path, frameworks):
    store = tmp_path / "store"
    result = import_package(GOOD, store, frameworks=frameworks)
    assert result.ok and result.created and result.problems == []
    assert result.path == store / "fx-online-safety" / "1.0.0"
    assert tree(result.path) == tree(GOOD)
    assert result.module.root == result.path
    assert [p.name for p in store.iterdir()] == ["fx-online-safety"]  # no temp folders left behind
    again = import_package(GOOD, store, frameworks=frameworks)
    assert again.ok and not again.created


def test_bad_package_changes_nothing_and_matches_validate(tmp_path, frameworks):
    store = tmp_path / "store"
    import_package(GOOD, store, frameworks=frameworks)
    before = tree(store)
    bad = BROKEN / "two-correct"
    result = import_package(bad, store, frameworks=frameworks)
    assert not result.ok and result.path is None
    assert tree(store) == before
    assert [p.format() for p in result.problems] == [
        p.format() for p in validate_package(bad, frameworks).problems]
    assert any(p.line == 22 and "exactly one option" in p.message for p in result.problems)


def test_bad_package_into_empty_store_creates_nothing(tmp_path, frameworks):
    store = tmp_path / "store"
    assert not import_package(BROKEN / "cycle", store, frameworks=frameworks).ok
    assert not store.exists()


def test_same_version_different_content_is_refused(tmp_path, frameworks, good_copy):
    store = tmp_path / "store"
    import_package(GOOD, store, frameworks=frameworks)
    before = tree(store)
    edit(good_copy / "pages" / "01-why.md", "Most of that time", "Almost all of that time")
    result = import_package(good_copy, store, frameworks=frameworks)
    assert not result.ok
    assert [(p.path, p.line) for p in result.problems] == [(good_copy / "module.yaml", 4)]
    assert ("module fx-online-safety version 1.0.0 is already in the library with different content; "
            "bump the version (for example to 1.0.1)") in result.problems[0].message
    assert tree(store) == before


def test_new_version_keeps_the_old_one(tmp_path, frameworks, good_copy):
    store = tmp_path / "store"
    import_package(GOOD, store, frameworks=frameworks)
    edit(good_copy / "module.yaml", "version: 1.0.0", "version: 1.1.0")
    edit(good_copy / "module.yaml", "      weight: 4\n      title: Sam's", "      weight: 8\n      title: Sam's")
    assert import_package(good_copy, store, frameworks=frameworks).created
    library = Library(store, modules_dir=tmp_path / "no-shipped")
    assert library.versions("fx-online-safety") == ["1.0.0", "1.1.0"]
    assert library.get("fx-online-safety").version == "1.1.0"
    old = library.get("fx-online-safety", "1.0.0")
    # an attempt taken on 1.0.0 is re-scored against 1.0.0: the scenario still weighs 4 there
    assert old.activity("s1").score(["a", "a", "a"]).points == 4.0
    assert library.get("fx-online-safety").activity("s1").score(["a", "a", "a"]).points == 8.0
    with pytest.raises(ModuleNotFound):
        library.get("fx-online-safety", "2.0.0")
    with pytest.raises(ModuleNotFound):
        library.get("no-such-module")


def test_shipped_versions_are_snapshotted_when_served(tmp_path, frameworks):
    shipped, store = tmp_path / "modules", tmp_path / "store"
    shutil.copytree(GOOD, shipped / GOOD.name)
    Library(store, modules_dir=shipped).get("fx-online-safety")
    assert tree(store / "fx-online-safety" / "1.0.0") == tree(GOOD)
    # the repository moves on to 1.1.0; 1.0.0 must still be servable from the store
    edit(shipped / GOOD.name / "module.yaml", "version: 1.0.0", "version: 1.1.0")
    edit(shipped / GOOD.name / "module.yaml", "pass_mark: 60", "pass_mark: 70")
    library = Library(store, modules_dir=shipped)
    assert [m.version for m in library.modules()] == ["1.1.0"]
    assert library.get("fx-online-safety", "1.0.0").pass_mark == 60
    assert library.get("fx-online-safety").pass_mark == 70


def test_shipped_change_without_version_bump_is_flagged(tmp_path):
    shipped, store = tmp_path / "modules", tmp_path / "store"
    shutil.copytree(GOOD, shipped / GOOD.name)
    Library(store, modules_dir=shipped).get("fx-online-safety")
    edit(shipped / GOOD.name / "module.yaml", "pass_mark: 60", "pass_mark: 70")
    library = Library(store, modules_dir=shipped)
    library.get("fx-online-safety")
    assert [p.severity for p in library.problems] == ["warning"]
    assert "bump its version" in library.problems[0].message


def test_import_zip_with_folder_and_at_root(tmp_path, frameworks):
    store = tmp_path / "store"
    result = import_package(zip_folder(GOOD, tmp_path / "pkg.zip"), store, frameworks=frameworks)
    assert result.ok and tree(result.path) == tree(GOOD)
    shutil.rmtree(store)
    result = import_package(zip_folder(GOOD, tmp_path / "root.zip", prefix=""), store, frameworks=frameworks)
    assert result.ok and result.module.id == "fx-online-safety"


def test_zip_problems_name_the_zip(tmp_path, frameworks):
    zipped = zip_folder(BROKEN / "two-correct", tmp_path / "upload.zip")
    result = import_package(zipped, tmp_path / "store", frameworks=frameworks)
    shown = [p.format(tmp_path) for p in result.problems]
    assert "upload.zip/two-correct/module.yaml:22: single_choice activity 'q1' must have exactly one option " \
           "with correct: true (found 'a', 'b'); mark one, or use type: multiple_response" in shown
    assert all(line.startswith("upload.zip/two-correct/") for line in shown)
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("evil", ["../evil.txt", "fx/../../evil.txt", "/tmp/evil.txt", "..\\evil.txt"])
def test_zip_path_traversal_is_refused(tmp_path, frameworks, evil):
    files = {f"fx-online-safety/{p.relative_to(GOOD).as_posix()}": p.read_bytes()
             for p in GOOD.rglob("*") if p.is_file()}
    zipped = make_zip(tmp_path / "evil.zip", {**files, evil: b"owned"})
    store = tmp_path / "store"
    result = import_package(zipped, store, frameworks=frameworks)
    assert not result.ok
    assert [p.message.split(";")[0] for p in result.problems] == [
        f"zip entry '{evil}' would be written outside the package"]
    assert result.problems[0].path == zipped and result.problems[0].line is None
    assert not store.exists() and not (tmp_path / "evil.txt").exists()


def test_zip_symlink_is_refused(tmp_path, frameworks):
    zipped = zip_folder(GOOD, tmp_path / "link.zip")
    with zipfile.ZipFile(zipped, "a") as zf:
        info = zipfile.ZipInfo("fx-online-safety/images/link.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    result = import_package(zipped, tmp_path / "store", frameworks=frameworks)
    assert not result.ok and "symbolic link" in result.problems[0].message


def test_zip_size_limit(tmp_path, frameworks, monkeypatch):
    monkeypatch.setattr(packages, "MAX_TOTAL_BYTES", 1000)
    result = import_package(zip_folder(GOOD, tmp_path / "big.zip"), tmp_path / "store", frameworks=frameworks)
    assert not result.ok and "the limit is 1000" in result.problems[0].message


def test_zip_layout_must_be_one_folder(tmp_path, frameworks):
    files = {f"{top}/{p.relative_to(GOOD).as_posix()}": p.read_bytes()
             for top in ("one", "two") for p in GOOD.rglob("*") if p.is_file()}
    result = import_package(make_zip(tmp_path / "two.zip", files), tmp_path / "store", frameworks=frameworks)
    assert not result.ok and "inside one single folder" in result.problems[0].message


def test_not_a_zip(tmp_path, frameworks):
    fake = tmp_path / "fake.zip"
    fake.write_text("hello")
    result = import_package(fake, tmp_path / "store", frameworks=frameworks)
    assert not result.ok and "not a readable zip file" in result.problems[0].message


def test_library_skips_broken_modules_and_keeps_their_problems(tmp_path):
    shipped = tmp_path / "modules"
    shutil.copytree(GOOD, shipped / GOOD.name)
    shutil.copytree(BROKEN / "cycle", shipped / "cycle")
    library = Library(None, modules_dir=shipped)
    assert [m.id for m in library.modules()] == ["fx-online-safety"]
    assert any(p.path.parent.name == "cycle" and p.is_error for p in library.problems)


def test_listing_writes_nothing(tmp_path):
    shipped, store = tmp_path / "modules", tmp_path / "store"
    shutil.copytree(GOOD, shipped / GOOD.name)
    library = Library(store, modules_dir=shipped)
    assert [m.id for m in library.modules()] == ["fx-online-safety"]
    assert not store.exists()
    library.get("fx-online-safety")
    assert (store / "fx-online-safety" / "1.0.0" / "module.yaml").is_file()
