"""Access tokens: one request per platform per lifetime, shared through the database."""

from __future__ import annotations

import threading
from datetime import timedelta

import jwt
import requests

from lti_tool.grades import DatabaseTokenCache, RegistrationInfo
from lti_tool.grades.ags import SCOPE_LINEITEM, SCOPE_SCORE
from lti_tool.keys import Keyring
from lti_tool.models import DeliveryStatus, Registration
from lti_tool.models.base import utcnow

from .conftest import CLIENT_ID


def test_one_token_request_for_many_scores(course, ags):
    for n in range(12):
        course.queue(course.attempt(course.student(f"u{n}"), 50.0))
    course.deliver()
    assert len(ags.accepted_scores()) == 12
    assert ags.count("token") == 1
    [token] = [r for r in ags.requests if r.kind == "token"]
    assert set(token.query) == set()  # form-encoded body, not a query
    assert "client_credentials" in token.body
    # Only what delivery needs, and only what the platform offered.
    assert set(token.form["scope"].split()) == {SCOPE_SCORE, SCOPE_LINEITEM}
    assert token.form["grant_type"] == "client_credentials"
    assert token.form["client_assertion_type"] == \
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_the_client_assertion_is_signed_by_the_tools_current_key(course, ags, app):
    course.queue(course.attempt(course.student("4"), 50.0))
    course.deliver()
    [token] = [r for r in ags.requests if r.kind == "token"]
    assertion = token.form["client_assertion"]
    ring = Keyring(app.config["KEYS_DIR"])
    assert jwt.get_unverified_header(assertion)["kid"] == ring.current().kid
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == ags.token_url
    assert claims["jti"] and claims["exp"] > claims["iat"]


def test_token_is_fetched_again_after_it_expires(course, ags):
    course.queue(course.attempt(course.student("4"), 50.0))
    course.deliver()
    course.queue(course.attempt(course.student("5"), 50.0))
    course.deliver(course.later(1800))  # half-way through the hour: cached
    assert ags.count("token") == 1
    course.queue(course.attempt(course.student("6"), 50.0))
    course.deliver(course.later(3600 - 30))  # inside the renewal margin: fetched again
    assert ags.count("token") == 2
    assert len(ags.accepted_scores()) == 3


def test_a_revoked_token_is_renewed_once_and_the_score_still_goes(course, ags):
    course.queue(course.attempt(course.student("4"), 50.0))
    course.deliver()
    ags.revoke_tokens()
    course.queue(course.attempt(course.student("5"), 50.0))
    report = course.deliver()
    assert report.delivered and not report.failed
    assert ags.count("token") == 2
    assert [r.status for r in ags.requests if r.kind == "score"] == [200, 401, 200]


def test_brightspace_auth_audience_is_the_assertion_audience(course, ags, db):
    ags.audience = "https://auth.brightspace.com/core/connect/token"
    registration = db.get(Registration, course.registration_id)
    registration.auth_audience = ags.audience
    db.commit()
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().delivered
    [token] = [r for r in ags.requests if r.kind == "token"]
    claims = jwt.decode(token.form["client_assertion"], options={"verify_signature": False})
    assert claims["aud"] == ags.audience


def test_invalid_scope_is_a_permanent_failure_with_moodle_advice(course, ags):
    # Moodle's answer when the tool's grade service settings do not allow the scopes.
    ags.fail("token", 400, body='{"error": "invalid_scope"}')
    course.queue(course.attempt(course.student("4"), 50.0))
    report = course.deliver()
    assert report.failed
    [row] = course.rows()
    assert row.status == DeliveryStatus.FAILED_PERMANENT and row.last_error_status == 400
    assert "invalid_scope" in row.last_error_explanation
    assert "Manage tools" in row.last_error_explanation
    assert ags.count("score") == 0


def test_token_endpoint_down_is_retried(course, ags):
    ags.fail("token", 502, times=1)
    course.queue(course.attempt(course.student("4"), 50.0))
    assert course.deliver().retrying
    assert course.deliver(course.later(7200)).delivered
    assert ags.count("token") == 2


def test_concurrent_callers_share_one_token_request(course, ags, app):
    """Several threads (stand-ins for processes: each has its own sessions) need a token."""
    factory = app.extensions["lti_tool.sessionmaker"]
    keyring = Keyring(app.config["KEYS_DIR"])
    registration = RegistrationInfo(id=course.registration_id, client_id=CLIENT_ID,
                                    auth_token_url=ags.token_url, auth_audience=None)
    scopes = frozenset({SCOPE_SCORE})
    now = utcnow()
    results, errors = [], []
    gate = threading.Barrier(4)

    def worker():
        with requests.Session() as http:
            cache = DatabaseTokenCache(factory, keyring, http)
            gate.wait()
            try:
                results.append(cache.get(registration, scopes, now))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(results) == 4 and len(set(results)) == 1
    assert ags.count("token") == 1
    # And an hour later, one more.
    with requests.Session() as http:
        DatabaseTokenCache(factory, keyring, http).get(registration, scopes,
                                                      now + timedelta(hours=1))
    assert ags.count("token") == 2
