"""Fixtures the operations tests share."""

from __future__ import annotations

import subprocess

import pytest

from .pgserver import Server


@pytest.fixture
def server():
    """A migrated PostgreSQL server of the test's own, which it may stop and start."""
    try:
        pg = Server()
    except (RuntimeError, KeyError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no PostgreSQL server of our own: {exc}")
    from lti_tool import migrate

    migrate.upgrade(pg.url)
    yield pg
    pg.destroy()
