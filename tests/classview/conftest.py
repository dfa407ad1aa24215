"""Fixtures for the class view: a VLE with a class list over HTTP, and the modules taken."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from lti_tool.content import Library
from lti_tool.keys import Keyring

from .vle import ClassVle, make_platform


@pytest.fixture
def vle_server(app):
    """The platform's token and membership endpoints on loopback."""
    server = ClassVle(lambda: Keyring(app.config["KEYS_DIR"]).public_jwks())
    yield server
    server.close()


@pytest.fixture
def vle(vle_server, db):
    """The platform registered with the tool (deployment "1")."""
    return make_platform(vle_server, db)


@pytest.fixture(scope="session")
def library():
    """The shipped modules, for their activities and best answers."""
    return Library(store=Path(tempfile.mkdtemp()))
