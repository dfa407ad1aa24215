"""``grades`` command group: run the delivery worker, list deliveries, resend a refused one."""

from __future__ import annotations

import logging
import signal
import threading

import click
import requests
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_session
from ..keys import Keyring
from .delivery import deliver_pending
from .outbox import ResendRefused, list_deliveries, resend

log = logging.getLogger(__name__)


@click.group()
def grades() -> None:
    """Grade delivery to the VLEs' gradebooks (LTI Assignment and Grade Services)."""


@grades.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True,
              help="Seconds to wait when nothing is due.")
@click.option("--batch", type=click.IntRange(1, 10000), default=100, show_default=True,
              help="Scores to send before looking again.")
@with_appcontext
def grades_work(once: bool, interval: float, batch: int) -> None:
    """Deliver queued scores, retrying failures with backoff. Safe to run several at once."""
    factory = current_app.extensions["lti_tool.sessionmaker"]
    keyring = Keyring(current_app.config["KEYS_DIR"])
    timeout = (5, current_app.config.get("HTTP_TIMEOUT", 10) * 3)
    stopping = threading.Event()
    previous = None
    if not once and threading.current_thread() is threading.main_thread():
        # SIGTERM (a container stopping) ends the loop after the score in hand, not mid-way.
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    total = 0
    with requests.Session() as http:
        try:
            while not stopping.is_set():
                report = deliver_pending(factory, http, limit=batch, keyring=keyring,
                                         timeout=timeout, stop=stopping.is_set)
                total += report.handled
                if report.handled:
                    click.echo(f"grades: {report}")
                if report.handled < batch:
                    if once:
                        break
                    stopping.wait(interval)
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    if once:
        click.echo(f"grades: handled {total} score(s).")
    else:
        click.echo("grades: stopped; undelivered scores stay queued.")


@grades.command("list")
@click.option("--failed", is_flag=True, help="Only those the VLE refused for good.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@with_appcontext
def grades_list(failed: bool, limit: int) -> None:
    """List grade deliveries, newest first, with why any failed."""
    rows = list_deliveries(get_session(), failed_only=failed, limit=limit)
    if not rows:
        click.echo("No failed grade deliveries." if failed else "No grade deliveries yet.")
    for row in rows:
        score = "-" if row.score_given is None else f"{row.score_given:g}"
        who = row.user.name or row.user.sub
        link = row.resource_link.title or row.resource_link.resource_link_id
        click.echo(f"{row.id:>6}  {row.status.value:<16} {score}/{row.score_maximum:g}  "
                   f"{row.activity_progress}/{row.grading_progress}  {who}  {link}  "
                   f"tries={row.attempts}")
        if row.last_error_explanation:
            status = f"[{row.last_error_status}] " if row.last_error_status else ""
            click.echo(f"        {status}{row.last_error_explanation}")


@grades.command("resend")
@click.argument("delivery_id", type=int)
@with_appcontext
def grades_resend(delivery_id: int) -> None:
    """Queue a refused grade again (after fixing its cause); the worker sends it."""
    session = get_session()
    try:
        row = resend(session, delivery_id)
    except ResendRefused as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    session.commit()
    click.echo(f"Grade delivery {row.id} is queued again; `lti-tool grades work --once` "
               "sends it now.")
