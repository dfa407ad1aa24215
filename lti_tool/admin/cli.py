"""Commands for what the console does: admin accounts, registration changes, failures, values."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from .. import registrations as regs
from ..db import get_session
from ..invites import invite_state, list_invites
from ..lti.dynreg import ToolDescription
from ..lti.toolconfig import canvas_configuration, paste_values
from ..models import AdminUser
from ..models.base import utcnow
from . import accounts, operations, throttle, totp


def _read_password(email: str, from_stdin: bool) -> str:
    """A password from stdin (one line, for scripts) or typed twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {email}", hide_input=True,
                                confirmation_prompt="Repeat the password")
    try:
        return accounts.check_password(password, email)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error


# -- administrator accounts ----------------------------------------------------------------
@click.group("admin")
def admin() -> None:
    """The tool's administrators (who sign in to /admin)."""


@admin.command("create-user")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@with_appcontext
def admin_create_user(email: str, password_stdin: bool) -> None:
    """Create an administrator account for EMAIL."""
    try:
        value = accounts.normalise_email(email)
    except accounts.AccountError as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from error
    db = get_session()
    if accounts.find_admin(db, value) is not None:
        raise click.ClickException(f"there is already an administrator {value!r}; "
                                   "`lti-tool admin set-password` changes a password")
    password = _read_password(value, password_stdin)
    try:
        user = accounts.create_admin(db, value, password)
    except accounts.AccountError as error:
        db.rollback()
        raise click.ClickException(str(error)) from error
    db.commit()
    click.echo(f"Created administrator {user.email}. Sign in at "
               f"{current_app.config['BASE_URL']}/admin/login")


@admin.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@with_appcontext
def admin_set_password(email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password (signs the account out everywhere)."""
    db = get_session()
    user = _admin(db, email)
    accounts.set_password(db, user, _read_password(user.email, password_stdin))
    db.commit()
    click.echo(f"New password set for {user.email}; its sessions have ended.")


@admin.command("list")
@with_appcontext
def admin_list() -> None:
    """List administrators with their state."""
    rows = accounts.list_admins(get_session())
    if not rows:
        click.echo("No administrators yet; run `lti-tool admin create-user EMAIL`.")
    now = utcnow()
    for user in rows:
        state = "active" if user.active else "deactivated"
        if user.totp_secret:
            state += ", two-factor"
        if accounts.is_locked(user, now):
            state += f", locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
        failures = throttle.recent_failures(get_session(), user.email, now)
        if failures:
            state += f", {failures} failed sign-in(s) in the last 15 minutes"
        last = f"{user.last_login_at:%Y-%m-%d %H:%M} UTC" if user.last_login_at else "never"
        click.echo(f"{user.email}  {state}  last sign-in {last}")


@admin.command("unlock")
@click.argument("email")
@with_appcontext
def admin_unlock(email: str) -> None:
    """Let every address try EMAIL again at once after repeated failed sign-ins."""
    db = get_session()
    user = _admin(db, email)
    accounts.unlock(db, user)
    db.commit()
    click.echo(f"Unlocked {user.email}.")


@admin.command("two-factor")
@click.argument("email")
@with_appcontext
def admin_two_factor(email: str) -> None:
    """Turn on two-factor sign-in for EMAIL: scan the address into an authenticator app."""
    db = get_session()
    user = _admin(db, email)
    secret = totp.new_secret()
    click.echo("Add this account to an authenticator app (most read the address as a QR "
               "code; or type the secret):")
    click.echo(f"  {totp.provisioning_uri(secret, user.email)}")
    click.echo(f"  secret: {secret}")
    code = click.prompt("Code the app shows now", type=str)
    try:
        totp.enrol(db, user, secret, code, utcnow())
    except totp.CodeRefused as error:
        raise click.ClickException(f"{error}; nothing was changed") from error
    db.commit()
    click.echo(f"Two-factor sign-in is on for {user.email}.")


@admin.command("two-factor-off")
@click.argument("email")
@with_appcontext
def admin_two_factor_off(email: str) -> None:
    """Turn off two-factor sign-in for EMAIL (a lost phone): the password alone works again."""
    db = get_session()
    user = _admin(db, email)
    totp.remove(db, user)
    db.commit()
    click.echo(f"Two-factor sign-in is off for {user.email}.")


@admin.command("deactivate")
@click.argument("email")
@with_appcontext
def admin_deactivate(email: str) -> None:
    """Stop EMAIL from signing in, and end its sessions."""
    db = get_session()
    user = _admin(db, email)
    accounts.set_active(db, user, False)
    db.commit()
    click.echo(f"Deactivated {user.email}.")


@admin.command("activate")
@click.argument("email")
@with_appcontext
def admin_activate(email: str) -> None:
    """Let a deactivated EMAIL sign in again."""
    db = get_session()
    user = _admin(db, email)
    accounts.set_active(db, user, True)
    db.commit()
    click.echo(f"Activated {user.email}.")


def _admin(db: Session, email: str) -> AdminUser:
    """The account, or a ClickException naming what exists."""
    try:
        return accounts.get_admin(db, email)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error


# -- registration changes and links (added to the `platform` group) ------------------------
@click.command("set")
@click.argument("registration")
@click.option("--name", default=None)
@click.option("--issuer", default=None)
@click.option("--client-id", default=None)
@click.option("--auth-login-url", default=None, help="Platform OIDC authorization endpoint.")
@click.option("--auth-token-url", default=None, help="Platform OAuth2 token endpoint.")
@click.option("--key-set-url", default=None, help="Platform public keyset (JWKS) URL.")
@click.option("--auth-audience", default=None, help='Token audience; "" removes it.')
@click.option("--auto-approve-deployments/--no-auto-approve-deployments", default=None,
              help="Whether new deployment ids are let in without approval.")
@click.option("--enable/--disable", "enabled", default=None,
              help="Let the registration's launches in, or refuse them all.")
@click.option("--lti1p1-key", default=None,
              help='The LTI 1.1 consumer key this platform used for the tool; "" removes it.')
@click.option("--lti1p1-secret", default=None,
              help='The LTI 1.1 shared secret, to verify the lti1p1 migration claim; "" '
                   "removes it.")
@with_appcontext
def platform_set(registration: str, name: str | None, issuer: str | None,
                 client_id: str | None, auth_login_url: str | None,
                 auth_token_url: str | None, key_set_url: str | None,
                 auth_audience: str | None, auto_approve_deployments: bool | None,
                 enabled: bool | None, lti1p1_key: str | None,
                 lti1p1_secret: str | None) -> None:
    """Change a registration's details or switches (only the options given)."""
    db = get_session()
    try:
        row = regs.get_platform(db, registration)
        regs.update_platform(db, row, name=name, issuer=issuer, client_id=client_id,
                             auth_login_url=auth_login_url, auth_token_url=auth_token_url,
                             key_set_url=key_set_url, auth_audience=auth_audience,
                             lti1p1_key=lti1p1_key, lti1p1_secret=lti1p1_secret)
        if auto_approve_deployments is not None:
            regs.set_auto_approve(db, row, auto_approve_deployments)
        if enabled is not None:
            regs.set_platform_enabled(db, row, enabled)
    except regs.RegistrationError as error:
        db.rollback()
        raise click.ClickException(str(error)) from error
    db.commit()
    click.echo(f"Registration {row.id}: {row.name} ({row.issuer}, client {row.client_id}); "
               f"{'enabled' if row.enabled else 'disabled'}; new deployments "
               f"{'let in' if row.auto_approve_deployments else 'wait for approval'}"
               + (f"; LTI 1.1 key {row.lti1p1_key}, secret "
                  f"{'set' if row.lti1p1_secret else 'not set'}" if row.lti1p1_key else "")
               + ".")


@click.command("register-links")
@with_appcontext
def platform_register_links() -> None:
    """List one-time registration links: open, used or expired."""
    rows = list_invites(get_session())
    if not rows:
        click.echo("No registration links yet; `lti-tool platform register-link` makes one.")
    now = utcnow()
    for invite in rows:
        state = invite_state(invite, now)
        when = {"used": invite.used_at, "expired": invite.expires_at,
                "open": invite.expires_at}[state]
        label = {"used": "used", "expired": "expired", "open": "open until"}[state]
        made = f"registration {invite.registration_id}" if invite.registration_id else ""
        click.echo(f"{invite.id:>4}  {label} {when:%Y-%m-%d %H:%M} UTC  {made}  "
                   f"{invite.note or ''}".rstrip())


# -- launch failures -----------------------------------------------------------------------
@click.group("failures")
def failures() -> None:
    """Refused logins and launches, with their reasons."""


@failures.command("list")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, 1000), default=50, show_default=True)
@with_appcontext
def failures_list(page: int, per_page: int) -> None:
    """List launch failures, newest first."""
    result = operations.launch_failures(get_session(), page, per_page)
    if not result.items:
        click.echo("No launch has been refused.")
        return
    for row in result.items:
        where = "  ".join(f"{k}={v}" for k, v in (("issuer", row.issuer),
                                                   ("client", row.client_id),
                                                   ("deployment", row.deployment_id)) if v)
        click.echo(f"{row.created_at:%Y-%m-%d %H:%M:%S}  {row.code}  {row.reason}  {where}"
                   .rstrip())
    click.echo(f"Page {result.number} of {result.pages} ({result.total} in all).", err=True)


# -- what to paste into a VLE --------------------------------------------------------------
@click.command("tool-config")
@click.option("--canvas-json", is_flag=True, help="Print the Canvas JSON configuration.")
@with_appcontext
def tool_config(canvas_json: bool) -> None:
    """Print the values a VLE's manual registration form asks for."""
    base = current_app.config["BASE_URL"]
    if canvas_json:
        click.echo(json.dumps(canvas_configuration(ToolDescription(base)), indent=2))
        return
    for label, value in paste_values(base):
        click.echo(f"{label}: {value}")


def install(main: click.Group, platform: click.Group) -> None:
    """Add these commands to `lti-tool` and its `platform` group."""
    main.add_command(admin)
    main.add_command(failures)
    main.add_command(tool_config)
    platform.add_command(platform_set)
    platform.add_command(platform_register_links)
