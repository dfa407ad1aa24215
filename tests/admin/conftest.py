"""Fixtures for the admin console: an administrator and a browser signed in as them."""

from __future__ import annotations

import pytest

from lti_tool.admin import accounts

from .helpers import EMAIL, PASSWORD, sign_in


@pytest.fixture
def admin_user(db):
    """An active administrator account."""
    user = accounts.create_admin(db, EMAIL, PASSWORD)
    db.commit()
    return user


@pytest.fixture
def admin_client(app, admin_user):
    """A browser signed in to the console."""
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client
