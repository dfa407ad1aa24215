"""A PostgreSQL server of a test's own, which the test may stop and start (an outage)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..pg import _free_port, _pg_bin


class Server:
    """initdb + pg_ctl in a temporary folder; stop() and start() keep the data and port."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise RuntimeError("PostgreSQL server programs (initdb, pg_ctl) not found")
        self.prefix: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="lti-tool-outage-"))
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self.port = _free_port()
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")
        self.start()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(self.prefix + list(args), check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        """Start (or restart after stop) on the same port."""
        self._run(self.pg_ctl, "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o",
                  f"-F -p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        """Stop at once, dropping every connection (as a crash or failover would)."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        """Stop and delete everything."""
        subprocess.run(self.prefix + [self.pg_ctl, "-D", str(self.data), "-m", "immediate",
                                      "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
