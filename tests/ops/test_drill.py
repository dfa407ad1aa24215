"""The production drill: the image's commands as uid 10001, read-only keys, PostgreSQL restarted
mid-load, a key rotated through the Secret: no 500, no traceback, the worker alive, every
grade delivered."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from lti_tool.keys import Keyring

from ..conftest import make_app
from ..grades.conftest import make_course
from ..grades.platform import AgsPlatform
from .helpers import ROOT, clean_env, free_port, wait_for
from .test_outage import LOGIN

UID = 10001
CLI = "import sys; from lti_tool.cli import main; sys.argv[0] = 'lti-tool'; main()"


class SecretVolume:
    """A folder updated the way the kubelet updates a Secret volume: a new ..data, swapped."""

    def __init__(self, root: Path, source: Path) -> None:
        self.mount = root / "keys"
        self.mount.mkdir()
        self.source = source
        self.generation = 0
        self.publish()

    def publish(self) -> None:
        """Copy the source folder in as root-owned, group 10001, 0440 files."""
        self.generation += 1
        data = self.mount / f"..{self.generation}"
        os.chmod(self.mount, 0o755)
        data.mkdir()
        for path in self.source.iterdir():
            shutil.copyfile(path, data / path.name)
            os.chown(data / path.name, 0, UID)
            os.chmod(data / path.name, 0o440)
            link = self.mount / path.name
            if not link.is_symlink():
                link.symlink_to(Path("..data") / path.name)
        os.chmod(data, 0o555)
        tmp = self.mount / "..data_tmp"
        tmp.symlink_to(data.name)
        os.replace(tmp, self.mount / "..data")
        os.chmod(self.mount, 0o555)


@pytest.fixture
def drill_root():
    if os.geteuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root to run the tool as uid 10001")
    root = Path(tempfile.mkdtemp(prefix="lti-drill-"))
    os.chmod(root, 0o777)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _load(root_url: str, stop: threading.Event, seen: Counter, bodies: list[str],
          slowest: list[float]) -> None:
    """A user's browser and a platform's key fetches, over and over."""
    with requests.Session() as http:
        while not stop.is_set():
            for path in (LOGIN, "/.well-known/jwks.json", "/", "/readyz"):
                started = time.monotonic()
                try:
                    response = http.get(root_url + path, timeout=30, allow_redirects=False)
                    slowest.append(time.monotonic() - started)
                except requests.RequestException as exc:
                    seen[f"error {type(exc).__name__} {path.split('?')[0]}"] += 1
                    continue
                seen[(path.split("?")[0], response.status_code)] += 1
                if response.status_code >= 500 and response.status_code != 503:
                    bodies.append(response.text)


@pytest.mark.postgres
def test_drill(server, drill_root, tmp_path):
    source = drill_root / "keys-source"
    first = Keyring(source).generate()
    volume = SecretVolume(drill_root, source)
    app = make_app(server.url, tmp_path, KEYS_DIR=volume.mount)
    db = app.extensions["lti_tool.sessionmaker"]()
    ags = AgsPlatform("oVYI0OJl3BFrijK", lambda: Keyring(volume.mount).public_jwks())
    course = make_course(app, db, ags)
    for n in range(10):
        course.queue(course.attempt(course.student(f"before-{n}"), 50 + n))

    site = next(p for p in sys.path if p.endswith("site-packages") and ".venv" in p)
    port = free_port()
    env = clean_env(PYTHONPATH=f"{ROOT}:{site}", HOME="/tmp", TMPDIR=str(drill_root),
                    LTI_TOOL_DATABASE_URL=server.url + "?connect_timeout=2",
                    LTI_TOOL_KEYS_DIR=str(volume.mount), LTI_TOOL_SECRET_KEY="s" * 64,
                    LTI_TOOL_INSTANCE_DIR=str(drill_root / "instance"),
                    LTI_TOOL_BASE_URL="https://tool.example.ac.uk", BIND=f"127.0.0.1:{port}",
                    WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(drill_root / "metrics"))
    # Files, not pipes: a full pipe nobody reads would stall the processes' logging.
    logs = {name: open(tmp_path / f"{name}.log", "w+") for name in
            ("web-out", "web-err", "worker-out", "worker-err")}
    as_uid = {"user": UID, "group": UID, "extra_groups": [], "env": env, "cwd": ROOT}
    web = subprocess.Popen(["/usr/bin/python3", "deploy/gunicorn.conf.py"],
                           stdout=logs["web-out"], stderr=logs["web-err"], **as_uid)
    worker = subprocess.Popen(["/usr/bin/python3", "-c", CLI, "grades", "work",
                               "--interval", "0.3"], stdout=logs["worker-out"],
                              stderr=logs["worker-err"], **as_uid)
    root_url = f"http://127.0.0.1:{port}"
    stop, seen, bodies, latencies = threading.Event(), Counter(), [], []
    loaders = [threading.Thread(target=_load, args=(root_url, stop, seen, bodies, latencies))
               for _ in range(3)]
    try:
        wait_for(f"{root_url}/healthz", 60, web)
        for _ in range(4):  # as the readiness probe does: both processes load the content
            requests.get(f"{root_url}/readyz", timeout=60)
        for thread in loaders:
            thread.start()
        deadline = time.monotonic() + 60
        while len(ags.accepted_scores()) < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(ags.accepted_scores()) == 10

        db.close()
        outage_started = time.monotonic()
        server.stop()
        time.sleep(6)
        server.start()
        outage = time.monotonic() - outage_started
        for n in range(10):
            course.queue(course.attempt(course.student(f"after-{n}"), 70 + n))

        Keyring(source).rotate()  # rotation: a new key in the Secret, no restart
        volume.publish()
        second = Keyring(volume.mount).current()
        assert second.kid != first.kid
        deadline = time.monotonic() + 90
        while len(ags.accepted_scores()) < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        delivered_after = time.monotonic() - outage_started - outage
        jwks = requests.get(f"{root_url}/.well-known/jwks.json", timeout=10).json()
        assert worker.poll() is None and web.poll() is None
    finally:
        stop.set()
        for thread in loaders:
            thread.join(30)
        for proc in (worker, web):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        web.wait(timeout=60)
        worker_out, worker_err, web_err = (
            (tmp_path / f"{name}.log").read_text()
            for name in ("worker-out", "worker-err", "web-err"))
        for handle in logs.values():
            handle.close()
        db.close()
        ags.close()
        app.extensions["lti_tool.engine"].dispose()

    latencies.sort()
    print(f"\noutage {outage:.1f}s; responses {dict(seen)}; "
          f"latency median {latencies[len(latencies) // 2]:.3f}s, max {latencies[-1]:.2f}s; "
          f"20 grades delivered {delivered_after:.1f}s after the restart")
    assert len(ags.accepted_scores()) == 20
    assert sorted(k["kid"] for k in jwks["keys"]) == sorted([first.kid, second.kid])
    assert not bodies, bodies[:1]
    assert not [key for key in seen if isinstance(key, tuple) and key[1] >= 500
                and key[0] != "/readyz" and key[1] != 503]
    assert seen[("/lti/login", 503)] > 0  # the outage was seen by users, as a 503
    assert seen[("/.well-known/jwks.json", 200)] > 0
    assert worker.returncode == 0 and "grades: stopped" in worker_out
    for err in (worker_err, web_err):
        assert "Traceback" not in err, err[-3000:]
    worker_lines = [json.loads(line)["message"] for line in worker_err.splitlines()
                    if line.startswith("{")]
    assert sum("database unreachable" in m for m in worker_lines) == 1
