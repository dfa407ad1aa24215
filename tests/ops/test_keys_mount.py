"""Keys from a read-only mount (a Kubernetes Secret), read by a non-root user; corrupt keys."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lti_tool.keys import Keyring, KeyringError

from .helpers import ROOT, clean_env

UID = 10001
_CHECK = """
import json, sys
from lti_tool.keys import Keyring, KeyringError
ring = Keyring(sys.argv[1])
out = {}
try:
    out["jwks"] = [k["kid"] for k in ring.public_jwks()["keys"]]
    out["signed"] = bool(ring.sign({"sub": "x"}))
except KeyringError as error:
    out["error"] = str(error)
try:
    ring.rotate()
    out["rotated"] = True
except KeyringError as error:
    out["rotate_error"] = str(error)
print(json.dumps(out))
"""


def _python_for(uid: int) -> tuple[list[str], dict[str, str]]:
    """A Python the user can run, with the project's packages importable."""
    site = next(p for p in sys.path if p.endswith("site-packages") and ".venv" in p)
    env = clean_env(PYTHONPATH=f"{ROOT}:{site}", HOME="/tmp")
    return ["/usr/bin/python3"], env


def _run_as(uid: int, keys_dir: Path) -> dict:
    """Use the keyring in a process of `uid` (no root privileges to bypass file modes)."""
    python, env = _python_for(uid)
    result = subprocess.run([*python, "-c", _CHECK, str(keys_dir)], user=uid, group=uid,
                            extra_groups=[], env=env, capture_output=True, text=True, timeout=60,
                            cwd="/")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def secret_mount():
    """A keys folder laid out like a Secret volume: root-owned, read-only, files via ..data."""
    if os.geteuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root to make files owned by another user")
    base = Path(tempfile.mkdtemp(prefix="lti-keys-"))
    os.chmod(base, 0o755)
    source = base / "source"
    ring = Keyring(source)
    ring.generate()
    ring.rotate()
    mount = base / "mount"
    data = mount / "..2026_12_01_00_00_00.000000001"
    data.mkdir(parents=True)
    for path in source.iterdir():
        shutil.copyfile(path, data / path.name)
    (mount / "..data").symlink_to(data.name)
    for path in data.iterdir():
        (mount / path.name).symlink_to(Path("..data") / path.name)
    yield mount, data, ring
    shutil.rmtree(base, ignore_errors=True)


def _set_modes(data: Path, mount: Path, group: int, mode: int) -> None:
    """Ownership and modes as the kubelet sets them."""
    for path in [*data.iterdir()]:
        os.chown(path, 0, group)
        os.chmod(path, mode)
    for folder in (data, mount):
        os.chown(folder, 0, group)
        os.chmod(folder, 0o555)


def test_root_owned_0400_is_refused_with_the_fix_named(secret_mount):
    mount, data, _ = secret_mount
    _set_modes(data, mount, 0, 0o400)
    out = _run_as(UID, mount)
    assert "permission denied for uid 10001" in out["error"]
    assert "fsGroup 10001" in out["error"]


def test_fsgroup_0440_mount_serves_and_signs_but_is_never_written(secret_mount):
    mount, data, ring = secret_mount
    _set_modes(data, mount, UID, 0o440)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    out = _run_as(UID, mount)
    assert out["jwks"] == [k.kid for k in ring.keys() if k.status in ("current", "previous")]
    assert out["signed"] is True
    assert "is read-only" in out["rotate_error"] and "docs/operations.md" in out["rotate_error"]
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before
    assert all(p.stat().st_mode & 0o777 == 0o440 for p in data.iterdir())  # no chmod


def test_a_secret_update_is_picked_up_without_a_restart(tmp_path):
    ring = Keyring(tmp_path)
    first = ring.generate()
    assert ring.current().kid == first.kid
    second = Keyring(tmp_path).rotate()  # another process (or the kubelet) changed the files
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == [first.kid, second.kid]
    assert ring.current().kid == second.kid


def test_corrupt_previous_key_is_reported_and_left_out_of_jwks(tmp_path):
    ring = Keyring(tmp_path)
    old = ring.generate()
    new = ring.rotate()
    (tmp_path / f"{old.kid}.pem").write_text("-----BEGIN " + "PRIVATE KEY-----\ngarbage\n")
    listed = {k.kid: k for k in ring.keys()}
    assert "not a usable PEM private key" in listed[old.kid].problem
    assert listed[new.kid].problem is None
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == [new.kid]
    assert ring.sign({"sub": "x"})


def test_corrupt_signing_key_is_refused_clearly(tmp_path):
    ring = Keyring(tmp_path)
    old = ring.generate()
    new = ring.rotate()
    (tmp_path / f"{new.kid}.pem").write_bytes(b"\x00" * 100)
    with pytest.raises(KeyringError, match=f"the signing key {new.kid} cannot be used"):
        ring.sign({"sub": "x"})
    assert [k["kid"] for k in ring.public_jwks()["keys"]] == [old.kid]


def test_keys_list_shows_broken_and_jwks_keeps_serving(app, client, runner):
    ring = Keyring(app.config["KEYS_DIR"])
    good = ring.current()
    broken = ring.rotate()
    (Path(app.config["KEYS_DIR"]) / f"{broken.kid}.pem").write_text("not a key")
    result = runner.invoke(["keys", "list"])
    assert result.exit_code == 1
    assert f"{broken.kid}  BROKEN" in result.output and "cannot be used" in result.output
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert [k["kid"] for k in response.get_json()["keys"]] == [good.kid]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "cannot be used" in ready.get_json()["checks"]["keys"]
