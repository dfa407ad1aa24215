"""Fixtures for the class view: a VLE with a class list over HTTP, and the modules taken."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from lti_tool.content import Library
from lti_tool.keys import Keyring
from lti_tool.models import Context, LtiUser, ResourceLink

from .vle import ClassVle, launch, make_platform


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


# The class view's figures are worked by hand on these: r4 and p1 as they were at 1.0.0, under
# ids of their own, so rewriting the shipped modules never changes them.
FROZEN = {"r4-online-safeguarding": "r4-frozen", "p1-professional-standards": "p1-frozen"}


def _frozen_store(store: Path) -> Path:
    from ..content.helpers import install_frozen

    for module_id, as_id in FROZEN.items():
        install_frozen(store, module_id, as_id)
    return store


@pytest.fixture(scope="session")
def library():
    """The modules the class takes, for their activities and best answers."""
    return Library(store=_frozen_store(Path(tempfile.mkdtemp())))


@pytest.fixture(autouse=True)
def frozen_modules(app):
    """The same frozen modules in the tool's own content store."""
    _frozen_store(app.config["CONTENT_STORE"])
    app.extensions.pop("lti_tool.library", None)


@pytest.fixture
def scored_course(app, vle, vle_server, db):
    """A course with the r4 and p1 links (a lecturer launched from both), the lecturer, and a
    library over the tool's own content store (which the test may add versions to)."""
    lecturer = app.test_client()
    for link in ("r4", "p1"):
        launch(lecturer, vle, vle_server, sub="3", link=link, role="Instructor")
    context = db.scalar(select(Context))
    links = {link.custom["module"]: link for link in db.scalars(select(ResourceLink))}
    marker = db.scalar(select(LtiUser).where(LtiUser.sub == "3"))
    return context, links, marker, Library(store=app.config["CONTENT_STORE"])
