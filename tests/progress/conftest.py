"""Fixtures for the progress service tests: the shipped frameworks and a teaching-module map."""

from __future__ import annotations

import pytest

from lti_tool.content import Library
from lti_tool.progress import TeachingModule

from .helpers import DCS_ELEMENTS


@pytest.fixture(scope="session")
def teaching():
    """A small modules_by_element map: one focused module per element, then an overview."""
    return {e: [TeachingModule(f"{e.lower()}-module", f"Module for {e}"), TeachingModule("intro", "Introduction")]
            for e in DCS_ELEMENTS}


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Library:
    """The shipped modules, with a private store holding the frozen r4 1.0.0 it is worked on."""
    from ..content.helpers import install_frozen

    store = tmp_path_factory.mktemp("content-store")
    install_frozen(store, "r4-online-safeguarding")
    return Library(store=store)
