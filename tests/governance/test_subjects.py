"""Export holds exactly one learner's data from every table; erase leaves no trace of them."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter

import pytest
from sqlalchemy import select

from lti_tool.governance import inventory
from lti_tool.governance.subjects import ERASED_TEXT
from lti_tool.models import Attempt, Base, DeliveryStatus, GradeDelivery, LtiUser

from ..classview.test_classview import WRONG
from ..classview.vle import csrf, launch, take_module

SALLY = {"sub": "5", "name": "Sally Scholar", "email": "student2@example.com"}
SALLY_TEXT = "Sally-reflects-on-a-placement"
COMMENT = "Sally: name the law next time."


@pytest.fixture
def course(app, vle, vle_server, library, db):
    """Sam and Sally take r4; the lecturer views the class (its list is cached) and marks Sally."""
    r4 = library.get("r4-frozen")
    sam = app.test_client()
    take_module(sam, launch(sam, vle, vle_server, sub="4", link="r4"), r4, {"q1": WRONG},
                reflection="Sam-reflects")
    sally = app.test_client()
    take_module(sally, launch(sally, vle, vle_server, sub="5", link="r4"), r4, {"q1": WRONG},
                reflection=SALLY_TEXT)
    lecturer = app.test_client()
    lecturer_launch = launch(lecturer, vle, vle_server, sub="3", link="r4", role="Instructor")
    assert lecturer.get(f"/c/{lecturer_launch}/link").status_code == 200  # caches the list
    attempt = db.scalar(select(Attempt).join(LtiUser).where(LtiUser.sub == "5"))
    url = f"/c/{lecturer_launch}/marking/{attempt.id}"
    page = lecturer.get(url).get_data(as_text=True)
    saved = lecturer.post(url, data={"csrf_token": csrf(page), "mark-r1-recognise": "1",
                                     "mark-r1-respond": "1", "mark-r1-law": "0",
                                     "mark-r1-balance": "1", "comment-r1": COMMENT})
    assert saved.status_code in (302, 303), saved.get_data(as_text=True)
    return lecturer, lecturer_launch, vle.registration_id if hasattr(vle, "registration_id") \
        else db.scalar(select(LtiUser.registration_id).where(LtiUser.sub == "5"))


def _export(runner, registration_id, sub) -> dict:
    """`lti-tool data export` as parsed JSON."""
    result = runner.invoke(["data", "export", "--platform", str(registration_id), "--user", sub])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_export_holds_exactly_one_learners_data_from_every_table(course, runner, db):
    _, _, registration_id = course
    document = _export(runner, registration_id, "5")
    tables = document["tables"]
    # Every table that can hold a person's data is in the export, with every personal column.
    personal = inventory.personal_columns()
    assert set(tables) == set(personal) | {"audit_event"}
    for table, rows in tables.items():
        for row in rows:
            assert personal.get(table, set()) <= set(row), table
    (user,) = tables["lti_user"]
    assert (user["sub"], user["name"], user["email"]) == ("5", SALLY["name"], SALLY["email"])
    assert [r["user_sub"] for r in tables["roster_member"]] == ["5"]
    assert tables["launch"] and all(r["user_id"] == user["id"] for r in tables["launch"])
    (attempt,) = tables["attempt"]
    assert SALLY_TEXT in attempt["answers"]["r1"] and attempt["user_id"] == user["id"]
    assert [m["comment"] for m in tables["reflection_mark"]] == [COMMENT]
    assert [m["user_id"] for m in tables["membership"]] == [user["id"]]
    assert tables["audit_event"] == []  # she did nothing audited; the lecturer's marking is his
    # The lecturer's own export holds what he did, and the comment he wrote.
    lecturer = _export(runner, registration_id, "3")["tables"]
    assert [e["action"] for e in lecturer["audit_event"]] == ["marks.save"]
    assert [m["comment"] for m in lecturer["reflection_mark"]] == [COMMENT]
    # The same data as a readable record.
    record = runner.invoke(["data", "export", "--platform", str(registration_id), "--user",
                            "5", "--format", "text"])
    assert record.exit_code == 0, record.output
    assert "Who they are to the tool [lti_user]: 1" in record.stdout
    assert f"email: {SALLY['email']}" in record.stdout and COMMENT in record.stdout
    # Nobody else's data: not Sam's, not the lecturer's.
    text = json.dumps(document)
    for other in ("Sam Student", "student1@example.com", "Sam-reflects", "Tina Teacher",
                  "teacher1@example.com"):
        assert other not in text


def _delivered(db) -> None:
    """Mark every waiting grade as received by the VLE, as the delivery worker would."""
    for row in db.scalars(select(GradeDelivery).where(
            GradeDelivery.status == DeliveryStatus.PENDING)):
        row.status, row.delivered_at = DeliveryStatus.DELIVERED, row.updated_at
        row.last_error_body = '{"error": "user 5 unknown"}'  # a VLE echoing her id once
    db.commit()


def _traces(db, needles: dict) -> list[str]:
    """`table.column` of every value anywhere that is the sub or contains the name or email."""
    found = []

    def hit(value) -> bool:
        if isinstance(value, str):
            return value == needles["sub"] or any(n in value for n in needles["text"])
        if isinstance(value, dict):
            return any(hit(k) or hit(v) for k, v in value.items())
        if isinstance(value, list):
            return any(hit(v) for v in value)
        return False

    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)).mappings():
            found += [f"{table.name}.{c}" for c, v in row.items() if hit(v)]
    return found


def _class_csv(client, launch_id) -> list[dict]:
    """The class view's CSV rows."""
    response = client.get(f"/c/{launch_id}/link/export.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _figures(rows: list[dict]) -> Counter:
    """Every row's figures, without who it is (what must add up the same after an erasure)."""
    who = {"Name", "Email", "User ID", "Status", "Launched", "Last activity"}
    return Counter(tuple(sorted((k, v) for k, v in row.items() if k not in who)) for row in rows)


def test_erase_leaves_no_trace_and_the_class_view_still_adds_up(course, runner, db,
                                                               vle_server):
    lecturer, lecturer_launch, registration_id = course
    needles = {"sub": SALLY["sub"], "text": [SALLY["name"], SALLY["email"], SALLY_TEXT,
                                              COMMENT]}
    assert _traces(db, needles)  # the scan finds her before
    _delivered(db)  # the worker sent her marked grade to the VLE
    before = _class_csv(lecturer, lecturer_launch)
    page_before = lecturer.get(f"/c/{lecturer_launch}/link").get_data(as_text=True)

    result = runner.invoke(["data", "erase", "--platform", str(registration_id), "--user",
                            "5", "--yes"])
    assert result.exit_code == 0, result.output
    assert "roster_member deleted: 1" in result.output
    assert "lti_user pseudonymised: 1" in result.output
    assert "erase them there too" in result.output
    db.expire_all()
    assert _traces(db, needles) == []
    erased = db.scalar(select(Attempt).join(LtiUser).where(LtiUser.sub.like("erased-%")))
    assert erased.answers["r1"] == ERASED_TEXT and erased.points is not None

    # The university erases her in the VLE too; the class's figures are the same as before.
    vle_server.members[:] = [m for m in vle_server.members if m["user_id"] != "5"]
    after = _class_csv(lecturer, lecturer_launch)
    assert len(after) == len(before)
    assert _figures(after) == _figures(before)
    assert not any(SALLY["name"] in v or SALLY["email"] in v for r in after for v in r.values())
    page_after = lecturer.get(f"/c/{lecturer_launch}/link").get_data(as_text=True)
    assert page_after.count("<tr>") == page_before.count("<tr>")
    assert SALLY["name"] not in page_after

    # Exporting her again finds nothing; the audit log names her by tool id only.
    gone = runner.invoke(["data", "export", "--platform", str(registration_id), "--user", "5"])
    assert gone.exit_code == 1 and "holds nothing about that user" in gone.output
    audit = runner.invoke(["data", "audit", "--action", "data.erase"])
    assert f"user#{erased.user_id}" in audit.output


def test_erase_is_refused_while_a_grade_waits_for_the_vle_unless_forced(course, runner, db):
    _, _, registration_id = course
    # Marking her reflection queued her new score; it has not reached the VLE yet.
    sally = db.scalar(select(LtiUser).where(LtiUser.sub == "5"))
    waiting = db.scalars(select(GradeDelivery).where(
        GradeDelivery.status == DeliveryStatus.PENDING, GradeDelivery.user_id == sally.id)).all()
    assert len(waiting) == 1
    args = ["data", "erase", "--platform", str(registration_id), "--user", "5", "--yes"]
    refused = runner.invoke(args)
    assert refused.exit_code == 1
    assert "1 grade(s) for this person still wait to be sent to the VLE" in refused.output
    db.expire_all()
    assert db.scalar(select(LtiUser).where(LtiUser.sub == "5")).name == SALLY["name"]

    forced = runner.invoke(args + ["--force"])
    assert forced.exit_code == 0, forced.output
    assert "grade_delivery waiting grade(s) dropped: 1" in forced.output
    assert "never reached the VLE" in forced.output
    db.expire_all()
    assert db.scalar(select(GradeDelivery).where(
        GradeDelivery.status == DeliveryStatus.PENDING, GradeDelivery.user_id == sally.id)) is None
    assert db.scalar(select(GradeDelivery).where(  # Sam's is untouched
        GradeDelivery.status == DeliveryStatus.PENDING)) is not None


def test_unknown_people_and_platforms_get_a_clear_answer(course, runner):
    _, _, registration_id = course
    nobody = runner.invoke(["data", "erase", "--platform", str(registration_id), "--user",
                            "nobody", "--yes"])
    assert nobody.exit_code == 1 and "holds nothing about that user" in nobody.output
    bad = runner.invoke(["data", "export", "--platform", "999", "--user", "5"])
    assert bad.exit_code == 2 and "no registration '999'" in bad.output


def test_research_export_has_stable_pseudonyms_and_no_names_or_text(course, runner, db,
                                                                   monkeypatch):
    _, _, registration_id = course
    monkeypatch.setenv("LTI_TOOL_RESEARCH_KEY", "research-key-for-tests")
    args = ["data", "research-export", "--platform", str(registration_id), "--course", "2"]
    first = runner.invoke(args)
    assert first.exit_code == 0, first.output
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert len(rows) == 2 and len({r["person"] for r in rows}) == 2
    assert all(re.fullmatch(r"p-[0-9a-f]{12}", r["person"]) for r in rows)
    assert {r["status"] for r in rows} == {"submitted"}
    assert all(r["percent"] and r["elements"] for r in rows)
    text = first.stdout
    for personal in ("Sally", "Sam", "@example.com", SALLY_TEXT, "Sam-reflects", COMMENT):
        assert personal not in text
    again = runner.invoke(args)
    assert again.stdout == first.stdout  # the same pseudonyms every time
    monkeypatch.setenv("LTI_TOOL_RESEARCH_KEY", "another-key")
    assert runner.invoke(args).stdout != first.stdout
    missing = runner.invoke(["data", "research-export", "--platform", str(registration_id),
                             "--course", "nope"])
    assert missing.exit_code == 1 and "has no course 'nope'" in missing.output
