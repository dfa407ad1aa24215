"""A launch keeps only the claims the tool reads again; the full id_token only when asked for."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from lti_tool.governance import minimise
from lti_tool.governance.retention import purge
from lti_tool.governance.settings import RetentionPolicy
from lti_tool.models import Launch
from lti_tool.models.base import utcnow

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


def _with_module(claims):
    claims[CUSTOM] = {**claims[CUSTOM], "module": "r4-online-safeguarding"}


def test_a_launch_stores_no_name_email_or_username(client, moodle, db, monkeypatch):
    monkeypatch.delenv("LTI_TOOL_KEEP_RAW_CLAIMS_SECONDS", raising=False)
    response, _, _ = moodle.launch(client, "teacher_launch", login_hint="3",
                                   mutate=_with_module)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    # What the landing page reads from the stored claims still works.
    assert "Hello Tina Teacher, lecturer view" in html
    assert "Back to the course" in html and "mod/lti/return.php" in html
    stored = json.dumps(db.scalar(select(Launch)).claims)
    for personal in ("Tina", "Teacher", "teacher1", "@example.com", '"sub"', "lis",
                     "user_login", minimise.RAW_KEY):
        assert personal not in stored, personal


def test_deep_linking_settings_survive_minimising(client, moodle, db):
    response, _, _ = moodle.launch(client, "deeplink_request", login_hint="3")
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert "Add activities to your course" in page.get_data(as_text=True)
    assert "name" not in db.scalar(select(Launch)).claims


def test_the_raw_id_token_is_kept_for_the_window_then_purged(client, moodle, db, monkeypatch):
    monkeypatch.setenv("LTI_TOOL_KEEP_RAW_CLAIMS_SECONDS", "600")
    moodle.launch(client, "student_launch")
    launch = db.scalar(select(Launch))
    assert launch.claims[minimise.RAW_KEY]["email"] == "student1@example.com"
    policy = RetentionPolicy(launches=0, failures=0, attempts=0, roster=0, sandbox=0,
                             deliveries=0, audit=0)
    # Within the window nothing is dropped; after it, the full claims go, the launch stays.
    assert purge(db, policy, apply=True, now=utcnow() + timedelta(seconds=590)) \
        .counts["raw_claims"] == 0
    db.commit()
    report = purge(db, policy, apply=True, now=utcnow() + timedelta(seconds=610))
    db.commit()
    assert report.counts["raw_claims"] == 1
    db.expire_all()
    claims = db.scalar(select(Launch)).claims
    assert minimise.RAW_KEY not in claims and "student1" not in json.dumps(claims)
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == \
        "LtiResourceLinkRequest"
