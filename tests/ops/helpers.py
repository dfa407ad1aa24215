"""Run the tool's real commands (lti-tool, gunicorn) in processes of their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def clean_env(**settings: str) -> dict[str, str]:
    """The environment without any LTI_TOOL_* of the caller's, plus `settings`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LTI_TOOL_") and k not in ("PROMETHEUS_MULTIPROC_DIR", "BIND")}
    env.update(settings)
    return env


def lti_tool(*args: str, env: dict[str, str], timeout: float = 120,
             **kwargs) -> subprocess.CompletedProcess:
    """Run `lti-tool ARGS` and return what it printed."""
    return subprocess.run([str(BIN / "lti-tool"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=kwargs.pop("cwd", ROOT), **kwargs)


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30, proc: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers at all."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")
