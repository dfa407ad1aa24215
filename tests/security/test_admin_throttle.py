"""Console sign-in throttling: guessers are held off, a real admin is never locked out by a
stranger (issue 13, item 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_tool.admin import accounts, throttle
from lti_tool.models import AdminSignIn

from ..admin.helpers import EMAIL, PASSWORD, sign_in
from ..concurrency import together
from ..forms import forms


@pytest.fixture
def admin_user(db):
    user = accounts.create_admin(db, EMAIL, PASSWORD)
    db.commit()
    return user


def browser(app, address: str):
    """A browser at its own network address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_stranger_cannot_lock_the_admin_out(app, admin_user, db):
    admin = browser(app, "192.0.2.10")
    assert sign_in(admin).status_code == 303  # the admin's usual place
    stranger = browser(app, "203.0.113.66")
    statuses = [sign_in(stranger, password=f"guess {n}").status_code for n in range(30)]
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}
    # The stranger is held off; the admin signs in as usual, from their own address.
    assert sign_in(stranger).status_code == 429
    assert sign_in(browser(app, "192.0.2.10")).status_code == 303


def test_one_address_trying_many_emails_is_slowed(app, admin_user):
    sprayer = browser(app, "203.0.113.7")
    statuses = [sign_in(sprayer, email=f"user{n}@uni.example.ac.uk",
                        password="Winter2026!Winter").status_code for n in range(30)]
    assert statuses[:throttle.ADDRESS_LIMIT] == [400] * throttle.ADDRESS_LIMIT
    assert set(statuses[throttle.ADDRESS_LIMIT:]) == {429}
    page = sign_in(sprayer)
    assert page.status_code == 429
    assert "Too many failed sign-ins have come from your network" in page.get_data(
        as_text=True)
    # Others, and the admin, are not affected.
    assert sign_in(browser(app, "192.0.2.44")).status_code == 303


def test_a_spread_out_attack_lets_only_known_addresses_in(app, admin_user, db, monkeypatch):
    assert sign_in(browser(app, "192.0.2.10")).status_code == 303
    for n in range(throttle.ACCOUNT_LIMIT):
        assert sign_in(browser(app, f"198.51.100.{n}"), password="guess").status_code == 400
    hashed = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash",
                        lambda h, p: hashed.append(h) or real(h, p))
    # A new address is held off, without the cost of a password hash...
    fresh = sign_in(browser(app, "198.51.100.200"))
    assert fresh.status_code == 429
    assert "accepts them only from places it was used before" in fresh.get_data(as_text=True)
    assert hashed == []
    # ...the admin's usual address is not.
    assert sign_in(browser(app, "192.0.2.10")).status_code == 303


def test_racing_wrong_passwords_are_each_counted(app, admin_user, db):
    clients = [browser(app, "203.0.113.90") for _ in range(2)]
    prepared = []
    for client in clients:
        html = client.get("/admin/login").get_data(as_text=True)
        (form,) = [f for f in forms(html) if f["action"] == "/admin/login"]
        prepared.append((client, {**form["fields"], "email": EMAIL, "password": "wrong!"}))
    responses = together(*[lambda c=c, d=d: c.post("/admin/login", data=d)
                           for c, d in prepared])
    assert [r.status_code for r in responses] == [400, 400]
    assert db.scalar(select(func.count()).select_from(AdminSignIn).where(
        AdminSignIn.ok.is_(False))) == 2
