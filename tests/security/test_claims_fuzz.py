"""Signed but malformed claims are a 400 naming the claim, never a 500 (issue 13, items 3, 4, 8).

The platform really signs each token (tests/lti_platform.py), so every check up to the
signature passes and only the claims' shapes are under test.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lti_tool.lti.claims import CLAIMS, MAX_TOKEN_BYTES
from lti_tool.models import Deployment, Launch, LaunchFailure

from ..lti_platform import moodle_claims

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLES = LTI + "roles"
LINK = LTI + "resource_link"
PRESENTATION = LTI + "launch_presentation"
DEPLOYMENT = LTI + "deployment_id"
# Claims the launch fills from the login; changing them is a different refusal, tested elsewhere.
FIXED = {"iss", "aud", "nonce", "iat", "exp", LTI + "target_link_uri"}
FUZZED = sorted(set(CLAIMS) - FIXED | {LTI + "ext", LTI + "lis", "unknown_claim"})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
    | st.sampled_from(["", "\x00", "x" * 3000, "1", "Learner", "Instructor"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["id", "title", "return_url", "lineitem", "scope", "type", "label",
                         "deep_link_return_url", "module", "x"]) | st.text(max_size=8),
        inner, max_size=5),
    max_leaves=25)


def signed_launch(client, moodle, mutate):
    """One real login and launch with mutated, genuinely signed claims."""
    response, _, _ = moodle.launch(client, moodle_claims("student_launch"), mutate=mutate)
    return response


def follow(client, response):
    """Every page the browser would go on to see after the launch."""
    while response.status_code in (302, 303):
        response = client.get(response.headers["Location"])
        assert response.status_code != 500, response.request.path
    return response


@pytest.mark.parametrize("name, value, claim", [
    (LINK, ["1"], "resource_link"),
    (LINK, {"id": ["1"]}, "resource_link"),
    (ROLES, 7, "roles"),
    (ROLES, [7], "roles"),
    (PRESENTATION, "window", "launch_presentation"),
    (PRESENTATION, {"return_url": {"x": 1}}, "launch_presentation"),
    (LTI + "context", {"id": 5}, "context"),
    (LTI + "custom", {"module": {"nested": [1]}}, "custom"),
    ("email", 5, "email"),
    ("name", {"first": "Sam"}, "name"),
    (DEPLOYMENT, ["1"], "deployment_id"),
    ("https://purl.imsglobal.org/spec/lti-ags/claim/endpoint", {"scope": "score"},
     "endpoint"),
    (LTI + "custom", {f"k{i}": "v" for i in range(300)}, "custom"),
    (LINK, {"id": "1", "title": "t" * 5000}, "resource_link"),
])
def test_a_malformed_claim_is_a_400_that_names_it(app, moodle, db, name, value, claim):
    client = app.test_client()

    def mutate(claims):
        claims[name] = value
    response = signed_launch(client, moodle, mutate)
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert "in the wrong form" in html and f"“{claim}”" in html
    assert db.scalar(select(func.count()).select_from(Launch)) == 0
    failure = db.scalar(select(LaunchFailure))
    assert failure.code == "bad_claim" and claim in failure.reason
    # A list-valued deployment id is refused, never stored as "['1']".
    assert db.scalar(select(func.count()).select_from(Deployment).where(
        Deployment.deployment_id.like("[%"))) == 0
    assert failure.deployment_id in (None, "1")


@settings(max_examples=int(os.environ.get("LTI_TOOL_FUZZ_EXAMPLES", "120")), deadline=None,
          derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(changes=st.dictionaries(st.sampled_from(FUZZED), json_values, min_size=1, max_size=4),
       drop=st.lists(st.sampled_from(FUZZED), max_size=2))
def test_fuzzed_signed_claims_never_give_a_server_error(app, moodle, changes, drop):
    client = app.test_client()

    def mutate(claims):
        for name in drop:
            claims.pop(name, None)
        claims.update(changes)
    response = signed_launch(client, moodle, mutate)
    assert response.status_code in (303, 400, 403, 413), response.status_code
    event(f"launch answered {response.status_code}")  # the mix: --hypothesis-show-statistics
    follow(client, response)


def test_an_oversized_id_token_is_refused_unread(app, moodle, db):
    client = app.test_client()

    def huge(claims):
        claims[LTI + "custom"] = {f"p{i}": "x" * 1000 for i in range(70)}
    response = signed_launch(client, moodle, huge)
    html = response.get_data(as_text=True)
    assert response.status_code == 413, html
    assert "too large" in html and "64 KiB" in html
    assert db.scalar(select(func.count()).select_from(Launch)) == 0
    assert db.scalar(select(LaunchFailure.code)) == "token_too_large"
    # A 1 MiB token never reaches the tool's code at all.
    auth = moodle.auth_request(moodle.login(client))
    response = client.post("/lti/launch", data={"id_token": "a" * (1024 * 1024),
                                                "state": auth["state"]})
    assert response.status_code == 413
    assert MAX_TOKEN_BYTES == 64 * 1024


def test_deeply_nested_claims_are_refused_not_crashed(app, moodle):
    client = app.test_client()
    nested: object = "x"
    for _ in range(400):
        nested = [nested]

    def deep(claims):
        claims[LTI + "custom"] = {"deep": nested}
        claims[LTI + "ext"] = nested
    response = signed_launch(client, moodle, deep)
    assert response.status_code == 400
    assert "“custom”" in response.get_data(as_text=True)
