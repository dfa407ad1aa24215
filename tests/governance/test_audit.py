"""Every audited action writes exactly one audit row; the app offers no way to change one."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from lti_tool.governance import audit
from lti_tool.models import (
    AuditEvent,
    DeliveryStatus,
    Deployment,
    GradeDelivery,
    LtiUser,
    Registration,
    ResourceLink,
)
from lti_tool.models.base import utcnow

from ..admin.helpers import EMAIL, find_form, submit
from ..admin.test_console import BLACKBOARD
from ..instructor.test_deep_linking import R4, choose

ADMIN = f"admin:{EMAIL}"


class Log:
    """The audit rows written since the last look."""

    def __init__(self, db) -> None:
        self.db = db
        self.seen = self._max()

    def _max(self) -> int:
        return self.db.scalar(select(func.max(AuditEvent.id))) or 0

    def new(self) -> list[AuditEvent]:
        """Rows added since the previous call."""
        self.db.expire_all()
        rows = list(self.db.scalars(select(AuditEvent).where(AuditEvent.id > self.seen)
                                    .order_by(AuditEvent.id)))
        self.seen = self._max()
        return rows

    def one(self, action: str, actor: str = ADMIN) -> AuditEvent:
        """The single row the last action wrote, checked."""
        rows = self.new()
        assert [(r.action, r.actor) for r in rows] == [(action, actor)]
        return rows[0]


def test_every_console_action_writes_one_row(admin_client, app, db, moodle):
    log = Log(db)
    assert submit(admin_client, "/admin/registrations/new", "", BLACKBOARD).status_code == 303
    row = log.one("registration.add")
    reg = db.scalar(select(Registration).where(Registration.client_id == "bb-global-client"))
    assert row.target == f"registration {reg.id}" and "bb-global-client" in row.summary
    page = f"/admin/registrations/{reg.id}"

    form = find_form(admin_client.get(f"{page}/edit").get_data(as_text=True), "")
    assert admin_client.post(f"{page}/edit", data={**form["fields"], "name": "BB"}) \
        .status_code == 303
    log.one("registration.edit")
    assert submit(admin_client, page, f"{page}/enabled", value="off").status_code == 303
    assert log.one("registration.enabled").summary == f"disabled registration {reg.id}"
    assert submit(admin_client, page, f"{page}/auto-approve", value="on").status_code == 303
    log.one("registration.auto_approve")
    assert submit(admin_client, page, f"{page}/deployments",
                  {"deployment_id": "uni-c"}).status_code == 303
    log.one("deployment.add")
    assert submit(admin_client, page, f"{page}/deployments/status", deployment_id="uni-c",
                  status="disabled").status_code == 303
    assert log.one("deployment.status").target == f"registration {reg.id}"
    assert submit(admin_client, "/admin/registration-links", "", {"hours": "24"}) \
        .status_code == 200
    log.one("invite.create")

    assert submit(admin_client, "/admin/keys", "/admin/keys/rotate").status_code == 303
    rotated = log.one("keys.rotate")
    old = next(k for k in re.findall(r'name="kid" value="([^"]+)"',
                                     admin_client.get("/admin/keys").get_data(as_text=True)))
    assert submit(admin_client, "/admin/keys", "/admin/keys/retire", kid=old).status_code == 303
    assert log.one("keys.retire").target == f"key {old}" and rotated.target.startswith("key ")

    # A grade the VLE refused, queued again.
    moodle.launch(app.test_client(), "student_launch")
    user, link = db.scalar(select(LtiUser)), db.scalar(select(ResourceLink))
    failed = GradeDelivery(user_id=user.id, resource_link_id=link.id, score_maximum=1,
                           activity_progress="Completed", grading_progress="FullyGraded",
                           score_timestamp=utcnow(), status=DeliveryStatus.FAILED_PERMANENT)
    db.add(failed)
    db.commit()
    log.new()
    assert submit(admin_client, "/admin/grades", f"/admin/grades/{failed.id}/resend") \
        .status_code == 303
    assert log.one("grade.resend").target == f"delivery {failed.id}"

    # A refused change writes nothing.
    assert admin_client.post(f"{page}/enabled", data={"csrf_token": form["fields"]
                                                      ["csrf_token"]}).status_code == 400
    assert log.new() == []


def test_data_pages_write_one_row_each(admin_client, app, db, moodle):
    moodle.launch(app.test_client(), "student_launch")
    reg = db.scalar(select(Registration))
    log = Log(db)
    overview = admin_client.get("/admin/data/").get_data(as_text=True)
    assert "Retention" in overview and "Last purge:" in overview and "never." in overview
    assert log.new() == []  # looking writes nothing

    exported = submit(admin_client, "/admin/data/", "/admin/data/export",
                      {"platform": str(reg.id), "sub": "4"})
    assert exported.status_code == 200 and exported.json["tables"]["lti_user"][0]["sub"] == "4"
    user_id = exported.json["tables"]["lti_user"][0]["id"]
    assert log.one("data.export").target == f"registration {reg.id} user#{user_id}"

    unconfirmed = submit(admin_client, "/admin/data/", "/admin/data/erase",
                         {"platform": str(reg.id), "sub": "4"})
    assert unconfirmed.status_code == 303 and log.new() == []
    assert db.scalar(select(LtiUser)).sub == "4"
    erased = submit(admin_client, "/admin/data/", "/admin/data/erase",
                    {"platform": str(reg.id), "sub": "4", "confirm": "yes"})
    assert erased.status_code == 303
    assert log.one("data.erase").target == f"registration {reg.id} user#{user_id}"
    db.expire_all()
    assert db.scalar(select(LtiUser)).sub.startswith("erased-")

    purged = submit(admin_client, "/admin/data/", "/admin/data/purge")
    assert purged.status_code == 303
    assert "counts" in log.one("data.purge").details
    assert "Last purge:" in admin_client.get("/admin/data/").get_data(as_text=True)


def test_marking_and_choosing_a_module_write_one_row_each(app, db, moodle):
    log = Log(db)
    lecturer = app.test_client()
    response, _, _ = moodle.launch(lecturer, "teacher_launch", login_hint="3")
    launch_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    html = lecturer.get(response.headers["Location"], follow_redirects=True).get_data(
        as_text=True)
    saved = choose(lecturer, launch_id, html, {R4: {"max_points": "50", "pass_mark": "50",
                                                    "max_attempts": "2", "counting": "latest",
                                                    "reflection_marking": "manual"}})
    assert saved.status_code == 302
    teacher = db.scalar(select(LtiUser).where(LtiUser.sub == "3"))
    row = log.one("link.module", actor=f"lti:user#{teacher.id}")
    assert row.details["module_id"] == R4 and row.target.startswith("link#")
    assert "Tina" not in str(row.details) and "teacher1" not in row.actor


def test_marking_writes_one_row(app, vle, vle_server, library, db):
    from ..classview.vle import csrf, launch, take_module

    sally = app.test_client()
    take_module(sally, launch(sally, vle, vle_server, sub="5", link="r4"),
                library.get("r4-frozen"), {})
    lecturer = app.test_client()
    lecturer_launch = launch(lecturer, vle, vle_server, sub="3", link="r4", role="Instructor")
    from lti_tool.models import Attempt

    attempt = db.scalar(select(Attempt))
    log = Log(db)
    url = f"/c/{lecturer_launch}/marking/{attempt.id}"
    page = lecturer.get(url).get_data(as_text=True)
    saved = lecturer.post(url, data={"csrf_token": csrf(page), "mark-r1-recognise": "1",
                                     "mark-r1-respond": "1", "mark-r1-law": "0",
                                     "mark-r1-balance": "1", "comment-r1": "ok"})
    assert saved.status_code in (302, 303)
    marker = db.scalar(select(LtiUser).where(LtiUser.sub == "3"))
    row = log.one("marks.save", actor=f"lti:user#{marker.id}")
    assert row.target == f"attempt#{attempt.id}" and row.details["activities"] == ["r1"]


def test_audit_rows_cannot_be_changed_through_the_app(admin_client, app, db):
    db.add(AuditEvent(actor="cli:x", action="keys.rotate", target="key k1"))
    db.commit()
    # No route of the app writes to the audit log's pages; only GET reads them.
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    token = find_form(admin_client.get("/admin/data/").get_data(as_text=True),
                      "/admin/data/purge")["fields"]["csrf_token"]
    for method in ("post", "put", "patch", "delete"):
        response = getattr(admin_client, method)("/admin/data/audit",
                                                 data={"csrf_token": token, "actor": "x"})
        assert response.status_code == 405
    page = admin_client.get("/admin/data/audit?action=keys.rotate").get_data(as_text=True)
    assert "key k1" in page and "<form method=\"post\"" not in page.split("<h1>", 1)[1]
    csv_text = admin_client.get("/admin/data/audit.csv?action=keys.rotate").get_data(
        as_text=True)
    assert csv_text.splitlines()[0].startswith("id,time_utc,actor,action")
    assert "key k1" in csv_text and len(csv_text.splitlines()) == 2
    assert db.scalar(select(AuditEvent)).actor == "cli:x"


def test_unknown_actions_are_refused(db):
    with pytest.raises(ValueError):
        audit.record(db, "cli:x", "keys.delete")
    assert db.scalar(select(Deployment)) is None


def test_every_console_change_has_an_action():
    from pathlib import Path

    import lti_tool.admin.routes as routes

    templates = re.findall(r'_audit\(\s*"([^"]+)"', Path(routes.__file__).read_text())
    assert templates and set(templates) <= set(audit.CONSOLE_TEMPLATES)
    assert {a for a, _ in audit.CONSOLE_TEMPLATES.values()} <= set(audit.ACTIONS)


def test_the_date_filter_reads_days_as_the_page_shows_them(admin_client, db):
    """Times show in the tool's zone, so 'from 1 July to 1 July' takes 00:30 BST on 1 July
    (23:30 UTC on 30 June) and not 00:30 BST on 2 July."""
    db.add(AuditEvent(actor="cli:x", action="keys.rotate", target="key early",
                      at=datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)))
    db.add(AuditEvent(actor="cli:x", action="keys.rotate", target="key late",
                      at=datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)))
    db.commit()
    page = admin_client.get("/admin/data/audit?from=2026-07-01&to=2026-07-01").get_data(
        as_text=True)
    assert "key early" in page and "1 Jul 2026, 00:30 BST" in page
    assert "key late" not in page
