"""A throwaway PostgreSQL cluster for the test run, or the server named in the environment."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_URL = "LTI_TOOL_TEST_POSTGRES_URL"


def _pg_bin(name: str) -> str | None:
    """Path of a PostgreSQL server program, from PATH or Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A PostgreSQL server the tests may create databases on."""

    def __init__(self, admin_url: str, stop=None) -> None:
        self.admin_url = admin_url
        self._stop = stop

    def create_database(self, template: str | None = None) -> str:
        """A new database, empty or a copy of `template` (a URL from here); returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server if we started it."""
        if self._stop:
            self._stop()


@contextmanager
def postgres_cluster():
    """Yield a Cluster, or None with the reason PostgreSQL is unavailable."""
    if os.environ.get(ENV_URL):
        yield Cluster(os.environ[ENV_URL]), None
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        yield None, "PostgreSQL server programs (initdb, pg_ctl) not found"
        return
    # PostgreSQL refuses to run as root; run the throwaway cluster as the postgres user.
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            yield None, "running as root and no 'postgres' user to run a cluster as"
            return
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="lti-tool-pg-"))
    data = root / "data"
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    try:
        subprocess.run(prefix + [initdb, "-D", str(data), "-U", "postgres", "-A", "trust",
                                 "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True)
        subprocess.run(prefix + [pg_ctl, "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                                 f"-F -p {port} -k {root} -c listen_addresses=127.0.0.1",
                                 "start"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        yield None, f"could not start a throwaway PostgreSQL: {detail.decode()[-300:] or exc}"
        return

    def stop() -> None:
        subprocess.run(prefix + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        time.sleep(0.2)
        shutil.rmtree(root, ignore_errors=True)

    cluster = Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", stop)
    try:
        yield cluster, None
    finally:
        cluster.stop()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database on a throwaway cluster, for the benchmarks; exits with the reason
    when no PostgreSQL server programs are installed."""
    with postgres_cluster() as (cluster, reason):
        if cluster is None:
            sys.exit(f"no PostgreSQL: {reason}")
        url = cluster.create_database()
        try:
            yield url
        finally:
            cluster.drop_database(url)
