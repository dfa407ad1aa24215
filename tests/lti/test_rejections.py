"""Every refused launch: a 4xx page in plain words, a log line with the reason, a record."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import func, select

from lti_tool.models import Launch, LaunchFailure

from ..lti_platform import rsa_key


def refused(response, db, code: str, status: int, words: str, log_records=None):
    """Assert a refusal as a person and an administrator would see it."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert words in html
    assert "Traceback" not in html
    failure = db.scalar(select(LaunchFailure).order_by(LaunchFailure.id.desc()))
    assert failure is not None and failure.code == code, failure and failure.reason
    assert db.scalar(select(func.count()).select_from(Launch)) == 0
    if log_records is not None:
        assert any(f"code={code}" in r.getMessage() for r in log_records.records)
    return failure


def test_bad_signature(client, moodle, db, log_records):
    # Signed by another key but claiming the platform's kid.
    response, _, _ = moodle.launch(client, token=lambda c: moodle.sign(c, key=rsa_key(5)))
    refused(response, db, "bad_signature", 400, "signature is not valid", log_records)


def test_unknown_kid(client, moodle, db, log_records):
    response, _, _ = moodle.launch(client, token=lambda c: moodle.sign(c, kid="no-such-key"))
    failure = refused(response, db, "unknown_kid", 400, "key the tool cannot find", log_records)
    assert "no-such-key" in failure.reason


def test_expired_token(client, moodle, db, log_records):
    def expired(claims):
        claims["iat"], claims["exp"] = int(time.time()) - 600, int(time.time()) - 300
    response, _, _ = moodle.launch(client, mutate=expired)
    refused(response, db, "expired", 400, "The launch has expired", log_records)


def test_small_clock_skew_is_tolerated(client, moodle):
    def skewed(claims):
        # Platform clock 30 s ahead: iat in our future, within the 60 s leeway.
        claims["iat"], claims["exp"] = int(time.time()) + 30, int(time.time()) + 90
    response, _, _ = moodle.launch(client, mutate=skewed)
    assert response.status_code == 303


def test_token_issued_too_far_in_the_future(client, moodle, db):
    def future(claims):
        claims["iat"], claims["exp"] = int(time.time()) + 600, int(time.time()) + 660
    response, _, _ = moodle.launch(client, mutate=future)
    refused(response, db, "expired", 400, "not yet valid")


def test_ancient_token_with_far_expiry(client, moodle, db):
    def ancient(claims):
        claims["iat"], claims["exp"] = int(time.time()) - 7200, int(time.time()) + 7200
    response, _, _ = moodle.launch(client, mutate=ancient)
    refused(response, db, "expired", 400, "too old")


def test_wrong_audience(client, moodle, db, log_records):
    response, _, _ = moodle.launch(client, mutate=lambda c: {**c, "aud": "someone-else"})
    refused(response, db, "wrong_audience", 400, "meant for a different tool", log_records)


def test_audience_list_without_azp(client, moodle, db):
    response, _, _ = moodle.launch(
        client, mutate=lambda c: {**c, "aud": [moodle.client_id, "another-client"]})
    failure = refused(response, db, "wrong_audience", 400, "meant for a different tool")
    assert "azp" in failure.reason


def test_audience_list_with_azp_of_another_client(client, moodle, db):
    response, _, _ = moodle.launch(client, mutate=lambda c: {
        **c, "aud": [moodle.client_id, "another"], "azp": "another"})
    refused(response, db, "wrong_audience", 400, "meant for a different tool")


def test_audience_list_with_our_azp_is_accepted(client, moodle):
    response, _, _ = moodle.launch(client, mutate=lambda c: {
        **c, "aud": ["another", moodle.client_id], "azp": moodle.client_id})
    assert response.status_code == 303


def test_wrong_issuer(client, moodle, db, log_records):
    response, _, _ = moodle.launch(client, mutate=lambda c: {**c, "iss": "https://evil.test"})
    refused(response, db, "wrong_issuer", 400, "unexpected site", log_records)


def test_replayed_id_token(client, moodle, db, log_records):
    response, id_token, auth = moodle.launch(client)
    assert response.status_code == 303
    again = client.post("/lti/launch", data={"id_token": id_token, "state": auth["state"]})
    assert again.status_code == 400
    assert "This launch has already been used" in again.get_data(as_text=True)
    assert db.scalar(select(LaunchFailure)).code == "replayed"
    assert db.scalar(select(func.count()).select_from(Launch)) == 1


def test_replay_with_a_fresh_login_fails_on_the_nonce(client, moodle, db):
    response, id_token, _ = moodle.launch(client)
    assert response.status_code == 303
    fresh = moodle.auth_request(moodle.login(client))
    again = client.post("/lti/launch", data={"id_token": id_token, "state": fresh["state"]})
    assert again.status_code == 400
    assert db.scalar(select(LaunchFailure)).code == "bad_nonce"


def test_missing_state_cookie_offers_new_window(client, moodle, db, log_records):
    auth = moodle.auth_request(moodle.login(client))
    client.delete_cookie(f"lti1p3-{auth['state']}")
    token = moodle.sign(moodle.claims(__import__("tests.lti_platform", fromlist=["x"])
                                      .moodle_claims("student_launch"), auth))
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    refused(response, db, "missing_state", 400, "did not keep the sign-in cookie", log_records)
    assert "open the activity in a new window" in response.get_data(as_text=True)


def test_unknown_state(client, moodle, db):
    response = client.post("/lti/launch", data={"id_token": "a.b.c", "state": "state-made-up"})
    refused(response, db, "expired_state", 400, "The sign-in took too long")


def test_launch_without_parameters(client, db):
    response = client.post("/lti/launch", data={})
    refused(response, db, "missing_params", 400, "did not send everything needed")


def test_unknown_registration_at_login(client, db, log_records):
    response = client.post("/lti/login", data={
        "iss": "https://unknown.example", "login_hint": "1", "client_id": "x",
        "target_link_uri": "http://localhost/lti/launch"})
    refused(response, db, "unknown_platform", 400, "not registered", log_records)


def test_login_for_a_target_on_another_site(client, moodle, db):
    response = moodle.login(client, target_link_uri="https://evil.test/lti/launch")
    refused(response, db, "bad_target", 400, "pointed somewhere unexpected")


def test_target_link_uri_changed_between_login_and_launch(client, moodle, db):
    from ..lti_platform import TARGET

    response, _, _ = moodle.launch(client, mutate=lambda c: {
        **c, TARGET: "http://localhost/lti/launch?module=other"})
    failure = refused(response, db, "bad_target", 400, "pointed somewhere unexpected")
    assert "module=other" in failure.reason


def test_wrong_message_type(client, moodle, db):
    from lti_tool.lti.constants import Claim

    response, _, _ = moodle.launch(client, mutate=lambda c: {
        **c, Claim.MESSAGE_TYPE.value: "LtiStartProctoring"})  # submission review is taken
    refused(response, db, "wrong_message", 400, "not supported")


def test_wrong_version(client, moodle, db):
    from lti_tool.lti.constants import Claim

    response, _, _ = moodle.launch(client, mutate=lambda c: {**c, Claim.VERSION.value: "1.1"})
    refused(response, db, "wrong_message", 400, "not supported")


def test_missing_resource_link(client, moodle, db):
    from lti_tool.lti.constants import Claim

    def no_link(claims):
        claims.pop(Claim.RESOURCE_LINK.value)
    response, _, _ = moodle.launch(client, mutate=no_link)
    refused(response, db, "invalid_claims", 400, "missing required information")


def test_missing_sub(client, moodle, db):
    def no_sub(claims):
        claims.pop("sub")
    response, _, _ = moodle.launch(client, mutate=no_sub)
    refused(response, db, "invalid_claims", 400, "missing required information")


def test_a_deployment_id_with_a_nul_is_refused_not_an_error(client, moodle, db):
    """PostgreSQL refuses NUL in text: signed or not, such an id gets a 400, never a 500."""
    from lti_tool.lti.constants import Claim

    nul = {Claim.DEPLOYMENT_ID.value: "1\x00"}
    response, _, _ = moodle.launch(client, mutate=lambda c: {**c, **nul})
    refused(response, db, "bad_claim", 400, "in the wrong form")
    response, _, _ = moodle.launch(client, token=lambda c: jwt.encode(
        {**c, **nul}, "secret-of-32-bytes-or-more-for-hs256", algorithm="HS256",
        headers={"kid": moodle.kid}))
    refused(response, db, "bad_signature", 400, "could not be verified")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_malformed_token(client, moodle, db, token):
    response, _, _ = moodle.launch(client, token=lambda c: token)
    refused(response, db, "malformed_token", 400, "could not be read")


def test_unsigned_or_hmac_tokens_are_refused(client, moodle, db):
    response, _, _ = moodle.launch(
        client, token=lambda c: jwt.encode(c, "secret", algorithm="HS256",
                                           headers={"kid": moodle.kid}))
    refused(response, db, "bad_signature", 400, "signature is not valid")


def test_nonce_not_from_our_login(client, moodle, db):
    response, _, _ = moodle.launch(client, mutate=lambda c: {**c, "nonce": "guessed"})
    refused(response, db, "bad_nonce", 400, "could not be matched")


def test_platform_keyset_unreachable(client, moodle, db):
    moodle.jwks_status = 503
    response, _, _ = moodle.launch(client)
    refused(response, db, "keyset_unavailable", 502, "could not be fetched")


def test_disabled_deployment(client, moodle, db, runner):
    from lti_tool.models import Registration

    reg = db.scalar(select(Registration))
    assert runner.invoke(["deployment", "disable", str(reg.id), "1"]).exit_code == 0
    response, _, _ = moodle.launch(client)
    refused(response, db, "deployment_disabled", 403, "switched off")


def test_expired_login_state(client, moodle, db, app):
    from lti_tool.models import LoginState
    from lti_tool.models.base import utcnow
    import datetime as dt

    auth = moodle.auth_request(moodle.login(client))
    state = db.get(LoginState, auth["state"])
    state.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    from ..lti_platform import moodle_claims
    token = moodle.sign(moodle.claims(moodle_claims("student_launch"), auth))
    response = client.post("/lti/launch", data={"id_token": token, "state": auth["state"]})
    refused(response, db, "expired_state", 400, "took too long")


def test_errors_answer_json_to_api_clients(client, db):
    response = client.post("/lti/launch", data={}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json["who_can_fix"] == "You can fix this yourself."
