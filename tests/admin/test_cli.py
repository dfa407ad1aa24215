"""Everything the console does is also a command: accounts, registration switches, failures."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from lti_tool.invites import create_invite
from lti_tool.models import AdminSession, AdminUser, LaunchFailure, Registration
from lti_tool.models.base import utcnow

from .helpers import EMAIL, PASSWORD, sign_in


def test_create_user_asks_for_the_password_twice(runner, db, client):
    result = runner.invoke(["admin", "create-user", "Ada.Admin@uni.example.ac.uk"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Repeat the password" in result.output
    assert PASSWORD not in result.output  # typed without echo
    assert f"Created administrator {EMAIL}" in result.output
    row = db.scalar(select(AdminUser))
    assert row.email == EMAIL and row.active
    assert sign_in(client).status_code == 303


def test_create_user_with_mismatched_or_weak_passwords(runner, db):
    mismatch = runner.invoke(["admin", "create-user", EMAIL],
                             input=f"{PASSWORD}\nsomething else entirely\n"
                                   f"{PASSWORD}\n{PASSWORD}\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()
    weak = runner.invoke(["admin", "create-user", "bo@uni.example.ac.uk", "--password-stdin"],
                         input="short\n")
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    assert db.scalar(select(func.count()).select_from(AdminUser)) == 1


def test_create_user_for_scripts_and_refusals(runner, db):
    ok = runner.invoke(["admin", "create-user", EMAIL, "--password-stdin"],
                       input=f"{PASSWORD}\n")
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(["admin", "create-user", EMAIL.upper(), "--password-stdin"],
                          input=f"{PASSWORD}\n")
    assert again.exit_code == 1 and "already an administrator" in again.output
    bad = runner.invoke(["admin", "create-user", "not-an-email", "--password-stdin"],
                        input=f"{PASSWORD}\n")
    assert bad.exit_code == 2 and "not an email address" in bad.output
    same = runner.invoke(["admin", "create-user", "long.address@uni.example.ac.uk",
                          "--password-stdin"], input="long.address@uni.example.ac.uk\n")
    assert same.exit_code == 1 and "must not be the email address" in same.output


def test_list_unlock_and_unknown_accounts(runner, admin_user, db):
    listed = runner.invoke(["admin", "list"])
    assert f"{EMAIL}  active  last sign-in never" in listed.output
    row = db.scalar(select(AdminUser))
    row.locked_until = utcnow() + timedelta(minutes=10)
    row.failed_attempts = 3
    db.commit()
    assert "locked until" in runner.invoke(["admin", "list"]).output
    assert runner.invoke(["admin", "unlock", EMAIL]).exit_code == 0
    db.expire_all()
    row = db.scalar(select(AdminUser))
    assert row.locked_until is None and row.failed_attempts == 0
    unknown = runner.invoke(["admin", "unlock", "who@uni.example.ac.uk"])
    assert unknown.exit_code == 1 and "no administrator" in unknown.output


def test_set_password_and_deactivate_end_sessions(runner, admin_client, db, client):
    assert db.scalar(select(func.count()).select_from(AdminSession)) == 1
    result = runner.invoke(["admin", "set-password", EMAIL, "--password-stdin"],
                           input="a brand new long passphrase\n")
    assert result.exit_code == 0, result.output
    assert admin_client.get("/admin/").status_code == 303  # signed out everywhere
    assert sign_in(client).status_code == 400
    assert sign_in(client, password="a brand new long passphrase").status_code == 303
    assert runner.invoke(["admin", "deactivate", EMAIL]).exit_code == 0
    assert client.get("/admin/").status_code == 303
    assert runner.invoke(["admin", "activate", EMAIL]).exit_code == 0
    assert sign_in(client, password="a brand new long passphrase").status_code == 303


def test_platform_set_changes_switches_and_details(runner, db, moodle):
    row = db.scalar(select(Registration))
    ref = str(row.id)
    result = runner.invoke(["platform", "set", ref, "--name", "Moodle at Uni A",
                            "--auto-approve-deployments", "--disable",
                            "--auth-audience", "https://aud.example/token"])
    assert result.exit_code == 0, result.output
    assert "disabled" in result.output and "let in" in result.output
    db.expire_all()
    row = db.get(Registration, row.id)
    assert (row.name, row.enabled, row.auto_approve_deployments, row.auth_audience) == (
        "Moodle at Uni A", False, True, "https://aud.example/token")
    result = runner.invoke(["platform", "set", ref, "--enable",
                            "--no-auto-approve-deployments", "--auth-audience", ""])
    assert result.exit_code == 0, result.output
    db.expire_all()
    row = db.get(Registration, row.id)
    assert row.enabled and not row.auto_approve_deployments and row.auth_audience is None
    assert row.issuer == moodle.issuer  # untouched


def test_platform_set_refusals(runner, db, moodle):
    row = db.scalar(select(Registration))
    bad = runner.invoke(["platform", "set", str(row.id), "--key-set-url", "ftp://x"])
    assert bad.exit_code == 1 and "key set URL must be an absolute http(s) URL" in bad.output
    missing = runner.invoke(["platform", "set", "99", "--enable"])
    assert missing.exit_code == 1 and "no registration '99'" in missing.output
    db.expire_all()
    assert db.get(Registration, row.id).key_set_url == moodle.key_set_url


def test_failures_list(runner, db):
    assert "No launch has been refused" in runner.invoke(["failures", "list"]).output
    db.add(LaunchFailure(code="bad_signature", reason="Signature verification failed",
                         issuer="https://moodle.example.ac.uk", client_id="abc",
                         deployment_id="1", created_at=utcnow() - timedelta(minutes=5)))
    db.add(LaunchFailure(code="deployment_pending", reason="deployment '7' awaits approval"))
    db.commit()
    result = runner.invoke(["failures", "list"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert "deployment_pending" in lines[0]  # newest first
    assert "bad_signature  Signature verification failed  issuer=https://moodle.example" \
        in lines[1] and "deployment=1" in lines[1]
    assert "Page 1 of 1 (2 in all)" in result.stderr


def test_tool_config_and_register_links(runner, db):
    values = runner.invoke(["tool-config"]).output
    assert "Initiate login URL (OpenID Connect login): http://localhost/lti/login" in values
    assert "Public keyset URL (JWKS): http://localhost/.well-known/jwks.json" in values
    document = json.loads(runner.invoke(["tool-config", "--canvas-json"]).output)
    assert document["target_link_uri"] == "http://localhost/lti/launch"

    assert "No registration links yet" in runner.invoke(["platform", "register-links"]).output
    create_invite(db, note="for Uni B")
    create_invite(db, lifetime=timedelta(seconds=-5), note="too late")
    db.commit()
    listed = runner.invoke(["platform", "register-links"]).output
    assert "open until" in listed and "for Uni B" in listed
    assert "expired" in listed and "too late" in listed
