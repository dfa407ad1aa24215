"""Console sign-in through the university's OpenID Connect provider (issue 13, item 7).

A real provider on loopback (provider.py); the tool fetches its discovery
document, token and keys over HTTP; the browser's redirects are followed by hand.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from lti_tool.models import AdminUser

from ...concurrency import same_browser, together
from ..helpers import EMAIL
from .helpers import NAME, audit, sessions, sso_app, sso_sign_in, start
from .provider import CLIENT_ID, closed_port_url


# -- signing in ----------------------------------------------------------------------------
def test_university_sign_in_opens_the_console(client, provider, admin_user, db, log_records):
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    response = start(client, next_url="/admin/keys")
    assert response.status_code == 302
    # Authorization code + PKCE (S256), with state and nonce.
    auth = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    assert auth["response_type"] == "code" and auth["code_challenge_method"] == "S256"
    assert auth["state"] and auth["nonce"] and auth["code_challenge"]
    assert auth["redirect_uri"] == "http://localhost/admin/login/sso/callback"
    assert set(auth["scope"].split()) >= {"openid", "email"}
    answer = client.get(provider.approve(response.headers["Location"]))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert answer.headers["Location"] == "/admin/keys"
    (token_request,) = provider.token_requests
    assert token_request["code_verifier"]  # the provider checked it against the challenge
    page = client.get("/admin/")
    assert page.status_code == 200 and f"Signed in as {EMAIL}" in page.get_data(as_text=True)
    # A session like the password form's: on the server, nothing planted carries over.
    assert sessions(db) == 1
    with client.session_transaction() as after:
        assert "planted" not in after and "admin_session" in after
    db.expire_all()
    assert db.get(AdminUser, admin_user.id).last_login_at is not None
    (row,) = audit(db, "admin.sso_sign_in")
    assert row.actor == f"admin:{EMAIL}" and row.details["sub"] == "staff-0001"
    assert row.details["issuer"] == provider.issuer
    assert any(f"admin {EMAIL} signed in through the university" in r.getMessage()
               for r in log_records.records)


def test_the_email_matches_in_any_case(client, provider, admin_user):
    provider.user["email"] = "Ada.Admin@UNI.example.ac.uk"
    assert sso_sign_in(client, provider).status_code == 303


def test_unknown_email_is_refused_by_name_and_nothing_is_created(client, provider, admin_user,
                                                                 db, log_records):
    provider.user["email"] = "bea.other@uni.example.ac.uk"
    response = sso_sign_in(client, provider)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "No console account for bea.other@uni.example.ac.uk" in html
    assert "lti-tool admin create-user bea.other@uni.example.ac.uk" in html
    assert client.get("/admin/").status_code == 303
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AdminUser)) == 1
    assert sessions(db) == 0
    (row,) = audit(db, "admin.sso_refused")
    assert row.actor == "sso:bea.other@uni.example.ac.uk" and row.details["reason"] == "unknown"
    assert any("university sign-in refused" in r.getMessage() and "bea.other" in r.getMessage()
               for r in log_records.records)


@pytest.mark.parametrize("verified", [False, None, "false"])
def test_an_unverified_email_is_refused(client, provider, admin_user, db, verified):
    if verified is None:
        del provider.user["email_verified"]
    else:
        provider.user["email_verified"] = verified
    response = sso_sign_in(client, provider)
    assert response.status_code == 403
    assert f"{EMAIL} is not a verified address" in response.get_data(as_text=True)
    assert sessions(db) == 0 and audit(db, "admin.sso_refused")[0].details["reason"] == \
        "unverified"


def test_no_email_claim_is_refused(client, provider, admin_user, db):
    del provider.user["email"]
    response = sso_sign_in(client, provider)
    assert response.status_code == 403
    assert "did not give your email address" in response.get_data(as_text=True)
    assert sessions(db) == 0


def test_a_deactivated_account_is_refused(client, provider, admin_user, runner, db):
    assert runner.invoke(["admin", "deactivate", EMAIL]).exit_code == 0
    response = sso_sign_in(client, provider)
    assert response.status_code == 403
    assert f"lti-tool admin activate {EMAIL}" in response.get_data(as_text=True)
    assert sessions(db) == 0


# -- id_tokens the tool must not trust -----------------------------------------------------
def _wrong_nonce(claims):
    claims["nonce"] = "another sign-in's nonce"


def _no_nonce(claims):
    del claims["nonce"]


def _wrong_aud(claims):
    claims["aud"] = "another-client"


def _wrong_aud_with_azp(claims):
    # Authlib alone lets this through (it checks aud only through azp); the tool does not.
    claims["aud"], claims["azp"] = "another-client", CLIENT_ID


def _wrong_iss(claims):
    claims["iss"] = "https://idp.elsewhere.example"


def _expired(claims):
    claims["iat"], claims["exp"] = int(time.time()) - 900, int(time.time()) - 600


@pytest.mark.parametrize("mutate,words", [
    (_wrong_nonce, "it belonged to another sign-in"),
    (_no_nonce, "it belonged to another sign-in"),
    (_wrong_aud, "it was meant for another service"),
    (_wrong_aud_with_azp, "it was meant for another service"),
    (_wrong_iss, "it came from another issuer"),
    (_expired, "it had expired"),
])
def test_an_id_token_failing_a_check_signs_nobody_in(client, provider, admin_user, db,
                                                     log_records, mutate, words):
    provider.mutate = mutate
    response = sso_sign_in(client, provider)
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert "could not be trusted" in html and words in html
    assert "Back to the sign-in page" in html
    assert client.get("/admin/").status_code == 303 and sessions(db) == 0
    assert any("university sign-in failed" in r.getMessage() and "(token)" in r.getMessage()
               for r in log_records.records)


def test_a_signature_by_another_key_signs_nobody_in(client, provider, admin_user, db):
    from ...lti_platform import rsa_key

    provider.sign_with = rsa_key(8)  # same kid, another key
    response = sso_sign_in(client, provider)
    assert response.status_code == 400
    assert "its signature did not verify" in response.get_data(as_text=True)
    assert sessions(db) == 0


@pytest.mark.parametrize("knob,value", [
    ("token_answer", {"access_token": "x", "token_type": "Bearer", "id_token": "not-a-jwt"}),
    ("token_answer", {"access_token": "x", "token_type": "Bearer"}),  # no id_token
    ("token_answer", {"error": "invalid_grant"}),
    ("jwks_answer", {"keys": "not a list"}),
    ("jwks_answer", ["not", "a", "key", "set"]),
])
def test_garbage_from_the_provider_is_a_page_not_a_500(client, provider, admin_user, db, knob,
                                                       value):
    setattr(provider, knob, value)
    response = sso_sign_in(client, provider)
    assert response.status_code in (400, 503), response.get_data(as_text=True)
    assert "Back to the sign-in page" in response.get_data(as_text=True)
    assert sessions(db) == 0


def test_restarting_keeps_one_sign_in_in_the_cookie(client, provider, admin_user):
    starts = [start(client) for _ in range(5)]
    with client.session_transaction() as saved:
        assert len([k for k in saved if k.startswith("_state_")]) == 1
    # The latest start is the one that completes; an earlier tab's answer is refused.
    assert client.get(provider.approve(starts[0].headers["Location"])).status_code == 400
    assert client.get(provider.approve(starts[-1].headers["Location"])).status_code == 303


# -- state ---------------------------------------------------------------------------------
def test_a_changed_state_is_refused(client, provider, admin_user, db):
    response = start(client)
    callback = provider.approve(response.headers["Location"])
    path, query = callback.split("?")
    args = {k: v[0] for k, v in parse_qs(query).items()}
    args["state"] = "forged-" + args["state"]
    answer = client.get(f"{path}?{urlencode(args)}")
    assert answer.status_code == 400
    assert "expired or was already used" in answer.get_data(as_text=True)
    assert sessions(db) == 0


def test_a_callback_in_another_browser_is_refused(app, client, provider, admin_user, db):
    response = start(client)
    callback = provider.approve(response.headers["Location"])
    stranger = app.test_client()  # e.g. a link sent to someone else: login CSRF
    assert stranger.get(callback).status_code == 400
    assert sessions(db) == 0


def test_a_callback_used_twice_signs_in_once(client, provider, admin_user, db):
    response = start(client)
    callback = provider.approve(response.headers["Location"])
    assert client.get(callback).status_code == 303
    assert client.get(callback).status_code == 400  # its state was used up
    assert sessions(db) == 1


def test_a_bare_callback_is_refused(client, admin_user):
    assert client.get("/admin/login/sso/callback").status_code == 400
    assert client.get("/admin/login/sso/callback?code=x").status_code == 400


def test_two_tabs_racing_with_one_code_sign_in_once(app, client, provider, admin_user, db):
    response = start(client)
    callback = provider.approve(response.headers["Location"])
    tab = same_browser(app, client)  # the same state in both cookies
    answers = together(lambda: client.get(callback), lambda: tab.get(callback))
    assert sorted(a.status_code for a in answers) == [303, 400]
    refused = next(a for a in answers if a.status_code == 400)
    assert "did not sign you in" in refused.get_data(as_text=True)
    assert sessions(db) == 1 and len(audit(db, "admin.sso_sign_in")) == 1


def test_two_browsers_signing_in_at_once_both_get_in(app, provider, admin_user, db):
    browsers = [app.test_client(), app.test_client()]
    callbacks = [provider.approve(start(b).headers["Location"]) for b in browsers]
    answers = together(*[lambda b=b, c=c: b.get(c)
                         for b, c in zip(browsers, callbacks, strict=True)])
    assert [a.status_code for a in answers] == [303, 303]
    assert all(b.get("/admin/").status_code == 200 for b in browsers)
    assert sessions(db) == 2 and len(audit(db, "admin.sso_sign_in")) == 2


# -- what the provider says ----------------------------------------------------------------
def test_the_provider_refusing_says_so(client, provider, admin_user, db):
    provider.authorize_error = ("access_denied", "The user cancelled")
    response = sso_sign_in(client, provider)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "access_denied" in html and "The user cancelled" in html
    provider.authorize_error = ("temporarily_unavailable", "")
    assert sso_sign_in(client, provider).status_code == 400
    assert sessions(db) == 0


def test_a_crafted_error_link_shows_no_words_of_its_own(client, provider, admin_user):
    start(client)  # even with a sign-in under way, the state must be its own
    for query in ("error=access_denied&error_description=Call+0800+000+000",
                  "error=access_denied&error_description=Call+0800+000+000&state=forged"):
        response = client.get(f"/admin/login/sso/callback?{query}")
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and "expired or was already used" in html
        assert "0800" not in html


def test_provider_unreachable_before_the_redirect(database_url, tmp_path, admin_user,
                                                  log_records):
    app = sso_app(database_url, tmp_path, closed_port_url())
    try:
        response = start(app.test_client())
        html = response.get_data(as_text=True)
        assert response.status_code == 503 and response.headers["Retry-After"] == "60"
        assert f"{NAME} cannot be reached just now" in html
        assert any("(unavailable)" in r.getMessage() for r in log_records.records)
    finally:
        app.extensions["lti_tool.engine"].dispose()


def test_provider_down_after_the_redirect(client, provider, admin_user, db):
    response = start(client)
    callback = provider.approve(response.headers["Location"])
    provider.close()  # gone before the tool exchanges the code
    answer = client.get(callback)
    assert answer.status_code == 503
    assert "cannot be reached" in answer.get_data(as_text=True)
    assert sessions(db) == 0


def test_discovery_failing_or_naming_another_issuer(client, provider, admin_user):
    provider.discovery_status = 502
    failed = start(client)
    assert failed.status_code == 503 and "cannot be reached" in failed.get_data(as_text=True)
    provider.discovery_status = 200
    provider.discovery = {"issuer": "https://someone.else.example",
                          "authorization_endpoint": f"{provider.issuer}/authorize"}
    wrong = start(client)
    assert wrong.status_code == 503 and "is not working" in wrong.get_data(as_text=True)
    provider.discovery = None  # fixed at the provider: the next sign-in works
    assert sso_sign_in(client, provider).status_code == 303
