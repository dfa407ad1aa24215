"""Fixtures for university sign-in: a provider on loopback, and the tool pointed at it."""

from __future__ import annotations

import pytest

from .helpers import sso_app
from .provider import OidcProvider


@pytest.fixture
def provider():
    """The university's provider, serving for one test."""
    idp = OidcProvider()
    yield idp
    idp.close()


@pytest.fixture
def app(database_url, tmp_path, provider):
    """The tool, with university sign-in through `provider`."""
    app = sso_app(database_url, tmp_path, provider.issuer)
    yield app
    app.extensions["lti_tool.engine"].dispose()
