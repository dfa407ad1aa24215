"""Strangers cannot grow the database without bound: refused launches and unknown deployments
are capped (issue 13, item 8)."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_tool.lti.floods import FAILURES_IN_ALL, FAILURES_PER_SOURCE, PENDING_PER_REGISTRATION
from lti_tool.models import Deployment, DeploymentStatus, LaunchFailure

from ..concurrency import together
from ..lti_platform import moodle_claims


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def bad_login(client, issuer: str):
    return client.post("/lti/login", data={"iss": issuer, "login_hint": "1",
                                           "target_link_uri": "http://localhost/lti/launch",
                                           "client_id": "nobody"})


def test_a_flood_of_bad_logins_stores_a_capped_number_of_rows(client, db, log_records):
    for _ in range(FAILURES_PER_SOURCE + 30):
        assert bad_login(client, "https://attacker.example").status_code == 400
    assert count(db, LaunchFailure) == FAILURES_PER_SOURCE
    assert "logged, not stored" in log_records.text
    # Every refusal is still in the log, with its reason.
    refused = [r for r in log_records.records if "LTI launch refused" in r.getMessage()]
    assert len(refused) == FAILURES_PER_SOURCE + 30
    # Varying the issuer does not get round the overall cap.
    for n in range(FAILURES_IN_ALL + 20):
        assert bad_login(client, f"https://attacker-{n}.example").status_code == 400
    assert count(db, LaunchFailure) == FAILURES_IN_ALL


def test_unknown_deployments_stop_being_recorded_past_the_cap(client, moodle, db):
    for n in range(PENDING_PER_REGISTRATION + 5):
        response, _, _ = moodle.launch(client, deployment_id=f"made-up-{n}")
        assert response.status_code in (400, 403), response.status_code
    pending = count(db, Deployment, Deployment.status == DeploymentStatus.PENDING)
    assert pending == PENDING_PER_REGISTRATION
    # Past the cap the page says the deployment is unknown; nothing more waits for approval.
    response, _, _ = moodle.launch(client, deployment_id="one-more")
    assert response.status_code == 400
    assert "deployment is not known" in response.get_data(as_text=True)
    # The registered deployment still works.
    response, _, _ = moodle.launch(client)
    assert response.status_code == 303


def test_racing_unknown_deployments_at_the_cap_overshoot_by_at_most_the_race(app, moodle, db):
    registration_id = db.scalar(select(Deployment.registration_id))
    for n in range(PENDING_PER_REGISTRATION - 1):
        db.add(Deployment(registration_id=registration_id, deployment_id=f"seed-{n}",
                          status=DeploymentStatus.PENDING))
    db.commit()
    clients = [app.test_client() for _ in range(3)]
    prepared = []
    for n, client in enumerate(clients):
        auth = moodle.auth_request(moodle.login(client, deployment_id=f"race-{n}"))
        claims = moodle.claims(moodle_claims("student_launch"), auth, f"race-{n}")
        prepared.append((client, {"id_token": moodle.sign(claims), "state": auth["state"]}))
    responses = together(*[lambda c=c, d=d: c.post("/lti/launch", data=d)
                           for c, d in prepared])
    assert all(r.status_code in (400, 403) for r in responses), [r.status_code for r in
                                                                 responses]
    pending = count(db, Deployment, Deployment.status == DeploymentStatus.PENDING)
    assert PENDING_PER_REGISTRATION <= pending <= PENDING_PER_REGISTRATION + 2
