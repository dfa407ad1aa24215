"""``grades`` command group: run the delivery worker, list deliveries, resend a refused one."""

from __future__ import annotations

import logging
import signal
import threading
import time

import click
import requests
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from .. import observability
from ..db import get_session
from ..errors import database_unavailable
from ..keys import Keyring
from .delivery import deliver_pending
from .outbox import ResendRefused, list_deliveries, resend
from .tokens import DatabaseTokenCache

log = logging.getLogger(__name__)
# Pauses after a failed pass grow from the first to the last, then stay there.
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0


class Outage:
    """Backoff and one log line per outage, not one per failed pass."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.pause = BACKOFF_FIRST

    def failed(self, error: Exception) -> float:
        """Note a failed pass; the seconds to wait before the next."""
        if self.since is None:
            self.since = time.monotonic()
            what = ("database unreachable" if database_unavailable(error)
                    else "delivery pass failed")
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()
            log.error("grades: %s (%s: %s); retrying with backoff up to %gs, scores stay "
                      "queued", what, type(error).__name__, reason[0] if reason else "",
                      BACKOFF_MAX, exc_info=not database_unavailable(error))
            self.pause = BACKOFF_FIRST
        else:
            self.pause = min(self.pause * 2, BACKOFF_MAX)
        return self.pause

    def passed(self) -> None:
        """Note a pass that worked; say when an outage ends."""
        if self.since is not None:
            log.warning("grades: working again after %.0fs", time.monotonic() - self.since)
            self.since = None


@click.group()
def grades() -> None:
    """Grade delivery to the VLEs' gradebooks (LTI Assignment and Grade Services)."""


@grades.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@click.option("--interval", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True,
              help="Seconds to wait when nothing is due.")
@click.option("--batch", type=click.IntRange(1, 10000), default=100, show_default=True,
              help="Scores to send before looking again.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=0,
              envvar="LTI_TOOL_WORKER_METRICS_PORT", show_default=True,
              help="Serve Prometheus metrics (heartbeat, deliveries) on this port; 0: off.")
@with_appcontext
def grades_work(once: bool, interval: float, batch: int, metrics_port: int) -> None:
    """Deliver queued scores, retrying failures with backoff. Safe to run several at once.

    A database outage pauses it (with growing pauses, one log line); only SIGTERM or Ctrl+C
    stops it.
    """
    factory = current_app.extensions["lti_tool.sessionmaker"]
    keyring = Keyring(current_app.config["KEYS_DIR"])
    timeout = (5, current_app.config.get("HTTP_TIMEOUT", 10) * 3)
    stopping = threading.Event()
    previous = None
    if not once and threading.current_thread() is threading.main_thread():
        # SIGTERM (a container stopping) ends the loop after the score in hand, not mid-way.
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    if metrics_port and not once:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    if not once:
        click.echo(f"grades: working, up to {batch} scores a pass; idle passes every "
                   f"{interval:g} s. SIGTERM or Ctrl+C stops.")
    total = 0
    outage = Outage()
    # One keep-alive HTTP session and one token cache for the worker's life: a token is read
    # (or fetched) once per platform per lifetime, not once per score or per pass.
    with requests.Session() as http:
        tokens = DatabaseTokenCache(factory, keyring, http, timeout=timeout)
        try:
            while not stopping.is_set():
                try:
                    report = deliver_pending(factory, http, limit=batch, keyring=keyring,
                                             tokens=tokens, timeout=timeout,
                                             stop=stopping.is_set)
                except (SQLAlchemyError, OSError) as error:
                    observability.worker_pass(None, database_up=not database_unavailable(error))
                    if once:
                        reason = str(getattr(error, "orig", None) or error).strip()
                        raise click.ClickException(f"grades: {type(error).__name__}: "
                                                   f"{reason.splitlines()[0] if reason else ''}"
                                                   ) from None
                    stopping.wait(outage.failed(error))
                    continue
                outage.passed()
                observability.worker_pass(report, database_up=True)
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
