"""``data`` command group: export, erase, purge, the retention policy and the audit log."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import TextIO

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from ..db import get_session
from ..models import Registration
from ..registrations import RegistrationError, get_platform
from . import audit
from .evidence import evidence_text
from .retention import purge
from .settings import RetentionPolicy, SettingError, research_key
from .subjects import ErasureRefused, PersonNotFound, erase_person, export_person


@click.group()
def data() -> None:
    """Personal data: subject access exports, erasure, retention purges, the audit log."""


def _registration(session: Session, ref: str) -> Registration:
    """The registration named by --platform, or a message saying how to find one."""
    try:
        return get_platform(session, ref)
    except RegistrationError as error:
        raise click.BadParameter(str(error), param_hint="--platform") from error


def _policy() -> RetentionPolicy:
    """The retention policy from the environment, or a clear error."""
    try:
        return RetentionPolicy.from_env()
    except SettingError as error:
        raise click.ClickException(str(error)) from error


@data.command("export")
@click.option("--platform", "platform_ref", required=True,
              help="Registration id (`lti-tool platform list`).")
@click.option("--user", "sub", required=True, help="The person's `sub` on that platform.")
@click.option("--output", type=click.File("w"), default="-", show_default=True,
              help="Where to write it.")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json",
              show_default=True, help="JSON (machine-readable) or a plain-text record.")
@with_appcontext
def data_export(platform_ref: str, sub: str, output: TextIO, fmt: str) -> None:
    """Everything the tool holds about one person, as JSON (a subject access request)."""
    session = get_session()
    registration = _registration(session, platform_ref)
    try:
        document = export_person(session, registration, sub)
    except PersonNotFound as error:
        raise click.ClickException(f"{error}. Check the sub (the VLE's user id).") from error
    user = document["tables"]["lti_user"]
    audit.record(session, audit.cli_actor(), "data.export",
                 f"registration {registration.id} user#{user[0]['id']}" if user
                 else f"registration {registration.id} (class list only)",
                 {"rows": {k: len(v) for k, v in document["tables"].items()}})
    session.commit()
    if fmt == "text":
        output.write(evidence_text(document) + "\n")
    else:
        json.dump(document, output, indent=2, sort_keys=True, ensure_ascii=False)
        output.write("\n")
    rows = sum(len(v) for v in document["tables"].values())
    click.echo(f"Exported {rows} row(s) from {sum(1 for v in document['tables'].values() if v)}"
               " table(s).", err=True)


@data.command("erase")
@click.option("--platform", "platform_ref", required=True,
              help="Registration id (`lti-tool platform list`).")
@click.option("--user", "sub", required=True, help="The person's `sub` on that platform.")
@click.option("--force", is_flag=True,
              help="Erase even though grades for them still wait for the VLE (they are dropped).")
@click.confirmation_option(prompt="Erase this person's data? It cannot be undone.")
@with_appcontext
def data_erase(platform_ref: str, sub: str, force: bool) -> None:
    """Erase or pseudonymise one person everywhere; class figures stay as they were."""
    from ..library import get_library

    session = get_session()
    registration = _registration(session, platform_ref)
    try:
        report = erase_person(session, registration, sub, library=get_library(), force=force)
    except (PersonNotFound, ErasureRefused) as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    audit.record(session, audit.cli_actor(), "data.erase",
                 f"registration {registration.id} user#{report.user_id}"
                 if report.user_id else f"registration {registration.id} (class list only)",
                 {"counts": report.counts, "forced": force})
    session.commit()
    click.echo("Erased. What was done:")
    for line in report.lines():
        click.echo(f"  {line}")


@data.command("purge")
@click.option("--apply", is_flag=True, help="Delete (without it, only count).")
@click.option("--every", "hours", type=click.FloatRange(0.01, 24 * 7), default=None,
              help="Keep running, purging every HOURS (with --apply), until stopped.")
@with_appcontext
def data_purge(apply: bool, hours: float | None) -> None:
    """Remove what is past its retention period (LTI_TOOL_RETENTION_*_DAYS); a dry run by default."""
    policy = _policy()
    if hours is not None and not apply:
        raise click.BadParameter("runs on a schedule only together with --apply",
                                 param_hint="--every")
    stopping = threading.Event()
    if hours is not None and threading.current_thread() is threading.main_thread():
        # SIGTERM (a container stopping) ends the loop between purges, never during one.
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while True:
        _purge_once(policy, apply)
        if hours is None or stopping.wait(hours * 3600):
            return


def _purge_once(policy: RetentionPolicy, apply: bool) -> None:
    """One purge (or dry run), committed and audited, with its counts printed."""
    session = get_session()
    report = purge(session, policy, apply=apply)
    if apply:
        audit.record(session, audit.cli_actor(), "data.purge", "retention",
                     {"counts": report.counts, "policy": dict(policy.items())})
        session.commit()
    else:
        session.rollback()
    click.echo(("Removed" if apply else "Would remove (dry run; --apply to delete)") + ":")
    for kind, count in report.counts.items():
        click.echo(f"  {kind:<20} {count}")


@data.command("research-export")
@click.option("--platform", "platform_ref", required=True,
              help="Registration id (`lti-tool platform list`).")
@click.option("--course", "context_id", required=True,
              help="The course's id on that platform (the LTI context id).")
@click.option("--output", type=click.File("w"), default="-", show_default=True)
@with_appcontext
def data_research_export(platform_ref: str, context_id: str, output: TextIO) -> None:
    """A course's attempts for research: stable pseudonyms, scores and ratings, no names or text."""
    from flask import current_app

    from .research import CourseNotFound, course_csv, course_rows, find_course

    session = get_session()
    registration = _registration(session, platform_ref)
    try:
        course = find_course(session, registration.id, context_id)
    except CourseNotFound as error:
        raise click.ClickException(str(error)) from error
    key = (research_key() or current_app.config["SECRET_KEY"]).encode()
    rows = course_rows(session, course, key)
    audit.record(session, audit.cli_actor(), "data.research_export",
                 f"registration {registration.id} course {course.id}", {"rows": len(rows)})
    session.commit()
    output.write(course_csv(rows))
    click.echo(f"Exported {len(rows)} attempt(s) of {len({r['person'] for r in rows})} "
               "person(s), pseudonymised.", err=True)


@data.command("policy")
def data_policy() -> None:
    """Show the retention periods in force."""
    for kind, days in _policy().items():
        click.echo(f"{kind:<12} {'kept until removed' if days == 0 else f'{days} days'}")


@data.command("audit")
@click.option("--action", default="", help="Only this action, e.g. data.erase.")
@click.option("--actor", default="", help="Only actors containing this text.")
@click.option("--csv", "as_csv", is_flag=True, help="Every matching row as CSV.")
@with_appcontext
def data_audit(action: str, actor: str, as_csv: bool) -> None:
    """The audit log, newest first."""
    if action and action not in audit.ACTIONS:
        raise click.BadParameter(f"one of {', '.join(sorted(audit.ACTIONS))}",
                                 param_hint="--action")
    filters = audit.Filters(actor=actor, action=action)
    session = get_session()
    if as_csv:
        sys.stdout.write(audit.events_csv(session, filters))
        return
    rows, total = audit.events(session, filters)
    for row in rows:
        click.echo(f"{row.at:%Y-%m-%d %H:%M:%S}  {row.actor}  {row.action}  {row.target}  "
                   f"{row.summary}")
    click.echo(f"{total} event(s).", err=True)
