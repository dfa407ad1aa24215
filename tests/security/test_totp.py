"""Two-factor sign-in (TOTP) for console accounts: enrolment and sign-in (issue 13, item 7)."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from lti_tool.admin import accounts
from lti_tool.models import AdminUser

from ..admin.helpers import EMAIL, PASSWORD
from ..forms import forms


@pytest.fixture
def admin_user(db):
    user = accounts.create_admin(db, EMAIL, PASSWORD)
    db.commit()
    return user


def sign_in(client, code: str | None = None, password: str = PASSWORD):
    html = client.get("/admin/login").get_data(as_text=True)
    (form,) = [f for f in forms(html) if f["action"] == "/admin/login"]
    data = {**form["fields"], "email": EMAIL, "password": password}
    if code is not None:
        data["code"] = code
    return client.post("/admin/login", data=data)


def test_enrolment_then_sign_in_needs_the_code(app, client, admin_user, db, runner,
                                               monkeypatch):
    from lti_tool.admin import totp

    chosen = pyotp.random_base32()
    monkeypatch.setattr(totp, "new_secret", lambda: chosen)
    app_code = pyotp.TOTP(chosen)
    # A wrong code changes nothing.
    wrong = runner.invoke(["admin", "two-factor", EMAIL], input="000000\n")
    assert wrong.exit_code == 1 and "does not match" in wrong.output
    db.expire_all()
    assert db.scalar(select(AdminUser.totp_secret)) is None
    # The right one turns it on; the address an app reads is printed.
    result = runner.invoke(["admin", "two-factor", EMAIL], input=app_code.now() + "\n")
    assert result.exit_code == 0, result.output
    assert f"secret={chosen}" in result.output and "otpauth://totp/" in result.output
    assert "two-factor" in runner.invoke(["admin", "list"]).output

    # The password alone is no longer enough, nor a wrong code...
    assert sign_in(client).status_code == 400
    refused = sign_in(client, code="123456")
    assert refused.status_code == 400
    assert "code from your authenticator app is not right" in refused.get_data(as_text=True)
    # ...the next step's code is (the enrolment used this step's).
    next_code = app_code.at(time.time() + 30)
    assert sign_in(client, code=next_code).status_code == 303
    assert client.get("/admin/").status_code == 200
    # The same code cannot be used twice.
    other = app.test_client()
    assert sign_in(other, code=next_code).status_code == 400


def test_two_factor_off_for_a_lost_phone(client, admin_user, db, runner, monkeypatch):
    from lti_tool.admin import totp

    chosen = pyotp.random_base32()
    monkeypatch.setattr(totp, "new_secret", lambda: chosen)
    assert runner.invoke(["admin", "two-factor", EMAIL],
                         input=pyotp.TOTP(chosen).now() + "\n").exit_code == 0
    assert sign_in(client).status_code == 400
    result = runner.invoke(["admin", "two-factor-off", EMAIL])
    assert result.exit_code == 0 and "off" in result.output
    assert sign_in(client).status_code == 303


def test_wrong_codes_count_towards_throttling(client, admin_user, runner, monkeypatch):
    from lti_tool.admin import totp

    chosen = pyotp.random_base32()
    monkeypatch.setattr(totp, "new_secret", lambda: chosen)
    assert runner.invoke(["admin", "two-factor", EMAIL],
                         input=pyotp.TOTP(chosen).now() + "\n").exit_code == 0
    statuses = [sign_in(client, code=f"{n:06d}").status_code for n in range(7)]
    assert statuses[:5] == [400] * 5 and statuses[5:] == [429, 429]


def test_one_code_used_by_two_racing_sign_ins_lets_in_only_one(app, admin_user, runner,
                                                               monkeypatch):
    from lti_tool.admin import totp

    from ..concurrency import together

    chosen = pyotp.random_base32()
    monkeypatch.setattr(totp, "new_secret", lambda: chosen)
    assert runner.invoke(["admin", "two-factor", EMAIL],
                         input=pyotp.TOTP(chosen).now() + "\n").exit_code == 0
    code = pyotp.TOTP(chosen).at(time.time() + 30)
    prepared = []
    for n in range(2):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n + 1}"
        html = client.get("/admin/login").get_data(as_text=True)
        (form,) = [f for f in forms(html) if f["action"] == "/admin/login"]
        prepared.append((client, {**form["fields"], "email": EMAIL, "password": PASSWORD,
                                  "code": code}))
    responses = together(*[lambda c=c, d=d: c.post("/admin/login", data=d)
                           for c, d in prepared])
    assert sorted(r.status_code for r in responses) == [303, 400]
