"""Purging removes exactly what is past its period: rows made "in the past" on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lti_tool.governance.retention import purge
from lti_tool.governance.settings import RetentionPolicy, SettingError
from lti_tool.models import (
    Attempt,
    AuditEvent,
    Context,
    DeliveryStatus,
    Deployment,
    GradeDelivery,
    Launch,
    LaunchFailure,
    LtiUser,
    Registration,
    ResourceLink,
    RosterMember,
    SandboxLineItem,
    SandboxScore,
)
from lti_tool.models.base import utcnow

POLICY = RetentionPolicy(launches=90, failures=30, attempts=365, roster=10, sandbox=7,
                         deliveries=100, audit=1000)
NOW = utcnow()


def _ago(days: float):
    """A time that many days before NOW."""
    return NOW - timedelta(days=days)


def _world(db):
    """A registration, course, link and learner to hang rows on."""
    reg = Registration(name="VLE", issuer="https://vle.example", client_id="c",
                       auth_login_url="https://vle.example/a", auth_token_url="https://vle.example/t",
                       key_set_url="https://vle.example/k")
    dep = Deployment(registration=reg, deployment_id="1")
    db.add_all([reg, dep])
    db.flush()
    context = Context(deployment_id=dep.id, context_id="course")
    user = LtiUser(registration_id=reg.id, sub="learner-1", name="Lee Learner")
    db.add_all([context, user])
    db.flush()
    link = ResourceLink(context_id=context.id, resource_link_id="l1")
    db.add(link)
    db.flush()
    return dep, context, user, link


def _fill(db):
    """For each kind, one row just past its period and one just inside it (and the exceptions)."""
    dep, context, user, link = _world(db)
    for n, days in enumerate((91, 89)):
        db.add(Launch(id=f"launch-{n}", deployment_id=dep.id, user_id=user.id,
                      message_type="LtiResourceLinkRequest", created_at=_ago(days)))
    for days in (31, 29):
        db.add(LaunchFailure(code="x", reason="r", created_at=_ago(days)))
    attempts = []
    for number, days in enumerate((366, 364, 400), start=1):
        attempt = Attempt(user_id=user.id, resource_link_id=link.id, number=number,
                          module_id="m", module_version="1.0.0", updated_at=_ago(days))
        db.add(attempt)
        attempts.append(attempt)
    db.flush()
    common = {"user_id": user.id, "resource_link_id": link.id, "score_maximum": 10,
              "activity_progress": "Completed", "grading_progress": "FullyGraded",
              "score_timestamp": _ago(500)}
    # The 400-day-old attempt's grade still waits for the VLE: that attempt is kept.
    db.add(GradeDelivery(**common, attempt_id=attempts[2].id, status=DeliveryStatus.PENDING,
                         updated_at=_ago(500)))
    db.add(GradeDelivery(**common, status=DeliveryStatus.DELIVERED, updated_at=_ago(101)))
    db.add(GradeDelivery(**common, status=DeliveryStatus.SUPERSEDED, updated_at=_ago(99)))
    for n, days in enumerate((11, 9)):
        db.add(RosterMember(context_id=context.id, user_sub=f"s{n}", fetched_at=_ago(days)))
    for n, days in enumerate((8, 6)):
        item = SandboxLineItem(id=f"item-{n}", label="L", score_maximum=1, created_at=_ago(days))
        db.add(item)
        db.add(SandboxScore(line_item=item, user_id="u", activity_progress="Completed",
                            grading_progress="FullyGraded", timestamp=_ago(days),
                            received_at=_ago(days)))
    for days in (1001, 999):
        db.add(AuditEvent(actor="cli:x", action="keys.rotate", at=_ago(days)))
    db.commit()


EXPECTED = {"launches": 1, "failures": 1, "attempts": 1, "deliveries": 1, "roster": 1,
            "sandbox_scores": 1, "sandbox_line_items": 1, "sandbox_links": 0, "audit": 1,
            "raw_claims": 0}


def _counts(db) -> dict:
    """Rows per table now."""
    return {model.__tablename__: db.scalar(select(func.count()).select_from(model))
            for model in (Launch, LaunchFailure, Attempt, GradeDelivery, RosterMember,
                          SandboxLineItem, SandboxScore, AuditEvent)}


def test_a_dry_run_counts_exactly_what_is_past_its_period_and_removes_nothing(db):
    _fill(db)
    before = _counts(db)
    report = purge(db, POLICY, now=NOW)
    db.rollback()
    assert report.counts == EXPECTED and not report.applied
    assert _counts(db) == before


def test_apply_removes_exactly_those_rows_and_a_second_run_finds_nothing(db):
    _fill(db)
    before = _counts(db)
    report = purge(db, POLICY, apply=True, now=NOW)
    db.commit()
    assert report.counts == EXPECTED
    after = _counts(db)
    # The line item's score goes with it (cascade) as well as the old score itself.
    assert {k: before[k] - after[k] for k in before} == {
        "launch": 1, "launch_failure": 1, "attempt": 1, "grade_delivery": 1,
        "roster_member": 1, "sandbox_line_item": 1, "sandbox_score": 1, "audit_event": 1}
    kept = db.scalars(select(Attempt.number).order_by(Attempt.number)).all()
    assert kept == [2, 3]  # 364 days old, and the one whose grade waits
    assert db.scalar(select(GradeDelivery).where(
        GradeDelivery.status == DeliveryStatus.PENDING)) is not None
    assert sum(purge(db, POLICY, apply=True, now=NOW).counts.values()) == 0


def test_zero_days_keeps_a_kind(db):
    _fill(db)
    report = purge(db, RetentionPolicy(launches=0, failures=0, attempts=0, roster=0,
                                       sandbox=0, deliveries=0, audit=0), now=NOW)
    assert report.counts == {"raw_claims": 0}


def test_the_cli_dry_run_then_apply_reads_the_environment(db, runner, monkeypatch):
    _fill(db)
    for kind, days in POLICY.items():
        monkeypatch.setenv(f"LTI_TOOL_RETENTION_{kind.upper()}_DAYS", str(days))
    # The rows were made relative to NOW; the command runs a moment later, which moves
    # nothing across a boundary a day wide.
    dry = runner.invoke(["data", "purge"])
    assert dry.exit_code == 0, dry.output
    assert "Would remove (dry run; --apply to delete)" in dry.output
    assert "launches             1" in dry.output and "attempts             1" in dry.output
    assert _counts(db)["launch"] == 2
    done = runner.invoke(["data", "purge", "--apply"])
    assert done.exit_code == 0, done.output
    assert "Removed:" in done.output
    db.expire_all()
    assert _counts(db)["launch"] == 1
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "data.purge"))
    assert event.details["counts"]["launches"] == 1 and event.actor.startswith("cli:")


def test_a_bad_setting_is_named(runner, monkeypatch):
    monkeypatch.setenv("LTI_TOOL_RETENTION_ROSTER_DAYS", "a month")
    result = runner.invoke(["data", "purge"])
    assert result.exit_code == 1
    assert "LTI_TOOL_RETENTION_ROSTER_DAYS must be a whole number" in result.output
    with pytest.raises(SettingError):
        RetentionPolicy.from_env({"LTI_TOOL_RETENTION_AUDIT_DAYS": "-1"})


def test_a_schedule_needs_apply(runner):
    result = runner.invoke(["data", "purge", "--every", "24"])
    assert result.exit_code == 2 and "only together with --apply" in result.output
