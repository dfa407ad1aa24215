"""Route table of the data protection pages; the work is in the governance services."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from sqlalchemy import select

from ...db import get_session
from ...library import get_library
from ...models import Registration
from ...numbers import zone
from .. import audit
from ..requests import pending_requests
from ..retention import purge
from ..settings import RetentionPolicy, SettingError
from ..subjects import ErasureRefused, PersonNotFound, erase_person, export_person
from . import bp

log = logging.getLogger(__name__)


def _policy() -> RetentionPolicy:
    """The policy in force, or a 503 page naming the bad setting."""
    try:
        return RetentionPolicy.from_env()
    except SettingError as error:
        log.error("retention settings: %s", error)
        abort(503, f"The retention settings cannot be read: {error}. Fix it in the server's "
                   "environment and restart the tool.")


def _person_form() -> tuple[Registration, str]:
    """The registration and sub from an export or erase form, or a 400 page."""
    ref, sub = request.form.get("platform", "").strip(), request.form.get("sub", "").strip()
    row = get_session().get(Registration, int(ref)) if ref.isdigit() else None
    if row is None or not sub or len(sub) > 255:
        abort(400, "Choose a platform and give the person's user id (their `sub`) on it; "
                   "the platform's list is on this page.")
    return row, sub


@bp.get("/")
def overview() -> ResponseReturnValue:
    """The retention policy, what a purge would remove now, the last purge, export and erase."""
    db = get_session()
    policy = _policy()
    preview = purge(db, policy, apply=False)
    db.rollback()
    platforms = list(db.scalars(select(Registration).order_by(Registration.id)))
    return render_template("governance/overview.html", policy=policy, preview=preview,
                           last=audit.last_event(db, "data.purge"), platforms=platforms,
                           requests=pending_requests(db))


@bp.post("/purge")
def purge_now() -> ResponseReturnValue:
    """Remove what is past its period now."""
    db = get_session()
    policy = _policy()
    report = purge(db, policy, apply=True)
    audit.record(db, audit.admin_actor(g.admin.email), "data.purge", "retention",
                 {"counts": report.counts, "policy": dict(policy.items())})
    db.commit()
    log.info("admin %s purged %s row(s): %s", g.admin.email, report.total, report.counts)
    flash(f"Purged {report.total} row(s) past their retention period.", "ok")
    return redirect(url_for("governance.overview"), code=303)


@bp.post("/export")
def export() -> ResponseReturnValue:
    """One person's data as a JSON download."""
    db = get_session()
    registration, sub = _person_form()
    try:
        document = export_person(db, registration, sub)
    except PersonNotFound as error:
        flash(f"Nothing to export: {error}. Check the user id.", "error")
        return redirect(url_for("governance.overview"), code=303)
    users = document["tables"]["lti_user"]
    audit.record(db, audit.admin_actor(g.admin.email), "data.export",
                 f"registration {registration.id} user#{users[0]['id']}" if users
                 else f"registration {registration.id} (class list only)",
                 {"rows": {k: len(v) for k, v in document["tables"].items()}})
    db.commit()
    body = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=person-{registration.id}.json"})


@bp.post("/erase")
def erase() -> ResponseReturnValue:
    """Erase or pseudonymise one person, after the administrator confirmed it."""
    db = get_session()
    registration, sub = _person_form()
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm the erasure; nothing was changed.", "error")
        return redirect(url_for("governance.overview"), code=303)
    force = request.form.get("force") == "yes"
    try:
        report = erase_person(db, registration, sub, library=get_library(), force=force)
    except (PersonNotFound, ErasureRefused) as error:
        db.rollback()
        flash(f"Not erased: {error}", "error")
        return redirect(url_for("governance.overview"), code=303)
    audit.record(db, audit.admin_actor(g.admin.email), "data.erase",
                 f"registration {registration.id} user#{report.user_id}" if report.user_id
                 else f"registration {registration.id} (class list only)",
                 {"counts": report.counts, "forced": force})
    db.commit()
    log.info("admin %s erased a person of registration %s: %s", g.admin.email,
             registration.id, report.counts)
    flash("Erased. " + " · ".join(report.lines()), "ok")
    return redirect(url_for("governance.overview"), code=303)


def _day(name: str, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD filter as that local day's start (the next day's for an end), else None.

    Local: the page shows its times in the tool's time zone, so its days are that zone's too.
    """
    value = request.args.get(name, "")
    try:
        day = datetime.strptime(value, "%Y-%m-%d") + timedelta(days=1 if end else 0)
    except ValueError:
        return None
    return day.replace(tzinfo=zone()).astimezone(timezone.utc)


def _filters() -> audit.Filters:
    """The audit page's filters from the query string (unknown actions ignored)."""
    action = request.args.get("action", "")
    return audit.Filters(actor=request.args.get("actor", "")[:200],
                         action=action if action in audit.ACTIONS else "",
                         target=request.args.get("target", "")[:200],
                         since=_day("from"), until=_day("to", end=True))


@bp.get("/audit")
def audit_log() -> ResponseReturnValue:
    """The audit log with filters, newest first, a page at a time."""
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and int(page) > 0 else 1
    filters = _filters()
    rows, total = audit.events(get_session(), filters, number)
    pages = max(1, -(-total // audit.PER_PAGE))
    return render_template("governance/audit.html", rows=rows, total=total, page=number,
                           pages=pages, filters=filters, actions=audit.ACTIONS,
                           args={k: v for k, v in request.args.items() if k != "page"})


@bp.get("/audit.csv")
def audit_csv() -> ResponseReturnValue:
    """The filtered audit log as CSV."""
    body = audit.events_csv(get_session(), _filters())
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=audit-log.csv"})
