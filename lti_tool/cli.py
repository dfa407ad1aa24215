"""The `lti-tool` command: run the app, migrate, manage keys, platforms, deployments, content."""

from __future__ import annotations

import secrets
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import OperationalError

from . import create_app, migrate
from .config import Config, ConfigError
from .content.cli import content as content_cli
from .db import get_session
from .governance.cli import data as data_cli
from .grades.cli import grades as grades_cli
from .invites import create_invite, register_url
from .keys import Keyring, KeyringError
from .models import DeploymentStatus
from .registrations import (
    RegistrationError,
    add_deployment,
    add_platform,
    get_platform,
    list_deployments,
    list_platforms,
    remove_platform,
    set_deployment_status,
)


def _cli_app() -> Flask:
    """The app for a command; a bad setting is one line naming the variable, not a traceback."""
    context = click.get_current_context(silent=True)
    serving = context is not None and context.info_name == "run"
    try:
        config = Config()
        if serving:
            config.require_stable_secret()
        elif not config.SECRET_KEY and not config.SANDBOX_ENABLED:
            # Commands sign no browser sessions: a throwaway secret, and nothing written.
            config.SECRET_KEY = secrets.token_hex(32)
        return create_app(config)
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None


class ToolGroup(FlaskGroup):
    """Flask's group without its app-loading command lookup (the app adds no commands)."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Our own and Flask's built-in commands only."""
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Listing commands never needs the app (so --help works with a bad setting).

        Flask's `routes` and `shell` still work but are left out: they are not the tool's.
        """
        return sorted(set(click.Group.list_commands(self, ctx)) - {"routes", "shell"})

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        """Flask's --app, --env-file and --debug stay usable but out of --help."""
        params = super().get_params(ctx)
        for param in params:
            if isinstance(param, click.Option) and param.name in ("app", "env_file", "debug"):
                param.hidden = True
        return params


@click.group(cls=ToolGroup, create_app=_cli_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """Digital capability modules for social work, served over LTI 1.3."""


# -- database ------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest). Safe to run from several pods."""
    url = current_app.config["SQLALCHEMY_DATABASE_URL"]
    try:
        migrate.upgrade(url, revision)
    except OperationalError as error:
        raise click.ClickException(_unreachable(url, error)) from None
    click.echo(f"Database is at {revision}.")


def _unreachable(url: str, error: OperationalError) -> str:
    """One line for a database that did not answer: where, and the driver's first line."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return f"cannot reach the database at {migrate.safe_url(url)}: {reason}"


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Go ahead although tables or columns will be dropped.")
@with_appcontext
def db_downgrade(revision: str, yes: bool) -> None:
    """Revert migrations down to REVISION ("base" for none); asks for --yes before data goes."""
    url = current_app.config["SQLALCHEMY_DATABASE_URL"]
    try:
        reverted, losses = migrate.downgrade_losses(url, revision)
        if losses and not yes:
            lines = "\n".join(f"  - {loss}" for loss in losses)
            raise click.ClickException(
                f"downgrading to {revision} reverts {', '.join(reverted)} and drops:\n{lines}\n"
                "Back the database up first (docs/operations.md), then run again with --yes.")
        migrate.downgrade(url, revision)
    except OperationalError as error:
        raise click.ClickException(_unreachable(url, error)) from None
    for loss in losses:
        click.echo(f"Dropped {loss}.")
    click.echo(f"Database is at {revision}.")


@db.command("revision")
@click.option("-m", "--message", required=True)
@with_appcontext
def db_revision(message: str) -> None:
    """Write a migration from the difference between the models and the database."""
    migrate.revision(current_app.config["SQLALCHEMY_DATABASE_URL"], message)


@db.command("backfill-scores")
@with_appcontext
def db_backfill_scores() -> None:
    """Store the class view's figures of submitted attempts that have none (those submitted on
    an older release during a rolling upgrade). Safe to repeat and to run beside live traffic."""
    from .attempts.evidence import backfill
    from .library import get_library

    with current_app.extensions["lti_tool.engine"].begin() as connection:
        done, missing = backfill(connection, get_library())
    click.echo(f"Stored the figures of {done} attempt(s); {missing} on module versions no "
               "longer installed were left without.")


@db.command("refresh-totals")
@with_appcontext
def db_refresh_totals() -> None:
    """Recompute every student's stored course totals from their attempts (after a rolling
    upgrade from a release without them). Safe to repeat and to run beside live traffic."""
    from .attempts.totals import refresh_everyone
    from .db import get_session

    done = refresh_everyone(get_session())
    click.echo(f"Recomputed the course totals of {done} student(s).")


# -- tool keys -----------------------------------------------------------------------------
def _keyring() -> Keyring:
    """The tool's keyring from configuration."""
    return Keyring(current_app.config["KEYS_DIR"])


@main.group()
def keys() -> None:
    """The tool's signing keys (published at /.well-known/jwks.json)."""


@keys.command("generate")
@click.option("--if-missing", is_flag=True, help="Do nothing when a signing key exists.")
@with_appcontext
def keys_generate(if_missing: bool) -> None:
    """Create the first signing key in the keys folder."""
    ring = _keyring()
    try:
        if if_missing and any(k.status == "current" for k in ring.keys()):
            click.echo(f"Signing key {ring.current().kid} already exists.")
            return
        key = ring.generate()
    except KeyringError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Generated signing key {key.kid} in {ring.directory}.")


@keys.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Make a new signing key; the old one stays published until retired."""
    try:
        key = _keyring().rotate()
    except KeyringError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"New signing key {key.kid}. Retire the previous key with "
               f"`lti-tool keys retire KID` once platforms have refreshed their cache.")


@keys.command("retire")
@click.argument("kid")
@with_appcontext
def keys_retire(kid: str) -> None:
    """Stop publishing a previous key and delete its private file."""
    try:
        _keyring().retire(kid)
    except KeyringError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Retired {kid}.")


@keys.command("list")
@with_appcontext
def keys_list() -> None:
    """List keys with their status."""
    try:
        entries = _keyring().keys()
    except KeyringError as error:
        raise click.ClickException(str(error)) from error
    if not entries:
        click.echo("No keys yet; run `lti-tool keys generate`.")
    for key in entries:
        status = "BROKEN" if key.problem else key.status
        click.echo(f"{key.kid}  {status:<8}  created {key.created_at}"
                   + (f"  retired {key.retired_at}" if key.retired_at else "")
                   + (f"\n    {key.status} key cannot be used: {key.problem}"
                      if key.problem else ""))
    if any(k.problem for k in entries):
        raise click.ClickException("some published keys cannot be used (above)")


# -- platforms and deployments -------------------------------------------------------------
@main.group()
def platform() -> None:
    """Platform registrations (issuer + client id)."""


@platform.command("add")
@click.option("--issuer", required=True, help="The platform's issuer, e.g. https://moodle.example.ac.uk")
@click.option("--client-id", required=True)
@click.option("--auth-login-url", required=True, help="Platform OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="Platform OAuth2 token endpoint.")
@click.option("--key-set-url", required=True, help="Platform public keyset (JWKS) URL.")
@click.option("--auth-audience", default=None, help="Token audience, if the platform needs one.")
@click.option("--name", default=None)
@click.option("--deployment-id", "deployment_ids", multiple=True,
              help="Approved deployment id; repeat for several.")
@click.option("--auto-approve-deployments", is_flag=True,
              help="Let new deployment ids in without an admin's approval.")
@with_appcontext
def platform_add(issuer: str, client_id: str, auth_login_url: str, auth_token_url: str,
                 key_set_url: str, auth_audience: str | None, name: str | None,
                 deployment_ids: tuple[str, ...], auto_approve_deployments: bool) -> None:
    """Register a platform."""
    session = get_session()
    try:
        row = add_platform(session, issuer=issuer, client_id=client_id,
                           auth_login_url=auth_login_url, auth_token_url=auth_token_url,
                           key_set_url=key_set_url, auth_audience=auth_audience, name=name,
                           deployment_ids=deployment_ids, auto_approve=auto_approve_deployments)
    except RegistrationError as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    session.commit()
    click.echo(f"Registered platform {row.id}: {row.name} ({row.issuer}, client {row.client_id})"
               f" with {len(deployment_ids)} deployment(s).")


@platform.command("register-link")
@click.option("--expires-in", "hours", type=click.FloatRange(0, 24 * 30, min_open=True),
              default=24, show_default=True, help="Hours until the link stops working.")
@click.option("--note", default=None, help="What the link is for, e.g. the site it was sent to.")
@with_appcontext
def platform_register_link(hours: float, note: str | None) -> None:
    """Print a one-time Dynamic Registration URL for a platform's "Tool URL" field."""
    if note and len(note) > 500:
        raise click.BadParameter("at most 500 characters, please", param_hint="--note")
    session = get_session()
    invite, token = create_invite(session, lifetime=timedelta(hours=hours), note=note)
    session.commit()
    click.echo(register_url(current_app.config["BASE_URL"], token))
    click.echo(f"One-time link {invite.id}, valid until "
               f"{invite.expires_at:%Y-%m-%d %H:%M} UTC. In Moodle, paste it into Manage tools' "
               "Tool URL box and click Add LTI Advantage.", err=True)


@platform.command("list")
@with_appcontext
def platform_list() -> None:
    """List registrations."""
    rows = list_platforms(get_session())
    if not rows:
        click.echo("No platforms registered.")
    for row in rows:
        state = "" if row.enabled else "  (disabled)"
        click.echo(f"{row.id:>4}  {row.name}  {row.issuer}  client={row.client_id}  "
                   f"deployments={len(row.deployments)}{state}")


@platform.command("show")
@click.argument("registration")
@with_appcontext
def platform_show(registration: str) -> None:
    """Show one registration and its deployments."""
    try:
        row = get_platform(get_session(), registration)
    except RegistrationError as error:
        raise click.ClickException(str(error)) from error
    for label, value in (("id", row.id), ("name", row.name), ("issuer", row.issuer),
                         ("client id", row.client_id), ("auth login URL", row.auth_login_url),
                         ("auth token URL", row.auth_token_url),
                         ("key set URL", row.key_set_url),
                         ("auth audience", row.auth_audience or "-"),
                         ("LTI 1.1 key", row.lti1p1_key or "-"),
                         ("LTI 1.1 secret", "set" if row.lti1p1_secret else "-"),
                         ("auto-approve deployments", row.auto_approve_deployments),
                         ("enabled", row.enabled)):
        click.echo(f"{label:>25}: {value}")
    for dep in row.deployments:
        click.echo(f"{'deployment':>25}: {dep.deployment_id}  {dep.status.value}")


@platform.command("remove")
@click.argument("registration")
@click.confirmation_option(prompt="Remove this registration and everything launched through it?")
@with_appcontext
def platform_remove(registration: str) -> None:
    """Delete a registration with its deployments."""
    session = get_session()
    try:
        row = get_platform(session, registration)
    except RegistrationError as error:
        raise click.ClickException(str(error)) from error
    remove_platform(session, row)
    session.commit()
    click.echo(f"Removed registration {registration}.")


@main.group()
def deployment() -> None:
    """Deployments under a registration (Blackboard: one per institution)."""


@deployment.command("add")
@click.argument("registration")
@click.argument("deployment_id")
@click.option("--name", default=None)
@click.option("--pending", is_flag=True, help="Record it without approving it.")
@with_appcontext
def deployment_add(registration: str, deployment_id: str, name: str | None,
                   pending: bool) -> None:
    """Add DEPLOYMENT_ID under REGISTRATION (an id from `platform list`)."""
    session = get_session()
    try:
        row = add_deployment(session, get_platform(session, registration), deployment_id,
                             approved=not pending, name=name)
    except RegistrationError as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    session.commit()
    click.echo(f"Added deployment {row.deployment_id} ({row.status.value}).")


def _set_status(registration: str, deployment_id: str, status: DeploymentStatus) -> None:
    """Change a deployment's status from the command line."""
    session = get_session()
    try:
        row = set_deployment_status(session, get_platform(session, registration),
                                    deployment_id, status)
    except RegistrationError as error:
        raise click.ClickException(str(error)) from error
    session.commit()
    click.echo(f"Deployment {row.deployment_id} is now {row.status.value}.")


@deployment.command("approve")
@click.argument("registration")
@click.argument("deployment_id")
@with_appcontext
def deployment_approve(registration: str, deployment_id: str) -> None:
    """Approve a pending deployment so its launches are let in."""
    _set_status(registration, deployment_id, DeploymentStatus.APPROVED)


@deployment.command("disable")
@click.argument("registration")
@click.argument("deployment_id")
@with_appcontext
def deployment_disable(registration: str, deployment_id: str) -> None:
    """Refuse launches through a deployment."""
    _set_status(registration, deployment_id, DeploymentStatus.DISABLED)


@deployment.command("list")
@click.option("--pending", is_flag=True, help="Only those waiting for approval.")
@with_appcontext
def deployment_list(pending: bool) -> None:
    """List deployments."""
    rows = list_deployments(get_session(), DeploymentStatus.PENDING if pending else None)
    if not rows:
        click.echo("No deployments." if not pending else "No deployments wait for approval.")
    for row in rows:
        click.echo(f"registration {row.registration_id:>3}  {row.deployment_id}  "
                   f"{row.status.value}  {row.name or ''}".rstrip())


# -- sandbox -------------------------------------------------------------------------------
@main.group()
def sandbox() -> None:
    """The built-in development platform."""


@sandbox.command("setup")
@with_appcontext
def sandbox_setup() -> None:
    """Give the sandbox its own keys and register it as a platform (idempotent)."""
    from .sandbox import platform as sandbox_platform

    ring = sandbox_platform.keyring(current_app.config["KEYS_DIR"])
    if not any(k.status == "current" for k in ring.keys()):
        ring.generate()
    session = get_session()
    row = sandbox_platform.ensure_registration(session, current_app.config["BASE_URL"])
    session.commit()
    click.echo(f"Sandbox platform registered as {row.issuer} (client {row.client_id}).")


main.add_command(content_cli)
main.add_command(grades_cli)
main.add_command(data_cli)

from .admin.cli import install as install_admin_commands  # noqa: E402

install_admin_commands(main, platform)
