"""Service access tokens (lti_tool.lti.tokens) and NRPS Link headers, against a loopback VLE."""

from __future__ import annotations

import time
from types import SimpleNamespace

import jwt
import pytest
import requests

from lti_tool.classview.roster import _next_link
from lti_tool.keys import Keyring
from lti_tool.lti.tokens import (TokenCache, TokenError, access_token, client_assertion,
                                 request_token)

from .vle import NRPS_SCOPE


@pytest.fixture
def keyring(app):
    """The tool's keys."""
    return Keyring(app.config["KEYS_DIR"])


def registration(server, audience=None):
    """What the token service needs of a registration."""
    return SimpleNamespace(client_id="class-client", auth_token_url=server.token_url,
                           auth_audience=audience)


def test_assertion_is_signed_by_the_tool_for_the_token_endpoint_or_its_audience(keyring,
                                                                                 vle_server):
    public = jwt.PyJWKSet.from_dict(keyring.public_jwks()).keys[0].key
    plain = jwt.decode(client_assertion(registration(vle_server), keyring), public,
                       algorithms=["RS256"], audience=vle_server.token_url)
    assert plain["iss"] == plain["sub"] == "class-client"
    assert plain["exp"] - plain["iat"] == 300 and len(plain["jti"]) == 32
    # Brightspace names an audience of its own for token requests.
    aud = jwt.decode(client_assertion(registration(vle_server, "https://auth.brightspace.com/"),
                                      keyring), public, algorithms=["RS256"],
                     audience="https://auth.brightspace.com/")
    assert aud["aud"] == "https://auth.brightspace.com/"


def test_one_token_request_per_lifetime_with_json_labelled_html(keyring, vle_server):
    cache = TokenCache()
    reg = registration(vle_server)
    first = access_token(reg, {NRPS_SCOPE}, keyring, cache)
    assert all(access_token(reg, {NRPS_SCOPE}, keyring, cache) == first for _ in range(5))
    assert len(vle_server.token_requests) == 1  # Moodle-style text/html JSON was read
    # Near its expiry (inside the margin) the token is renewed, once.
    key = cache.key(reg, frozenset({NRPS_SCOPE}))
    old = cache.get(key)
    cache.put(key, type(old)(old.value, time.time() + 30, old.scopes))
    second = access_token(reg, {NRPS_SCOPE}, keyring, cache)
    assert second != first and len(vle_server.token_requests) == 2


def test_refusal_and_outage_are_told_apart(keyring, vle_server):
    vle_server.token_status, vle_server.token_error = 400, "invalid_scope"
    with pytest.raises(TokenError) as refused:
        request_token(registration(vle_server), frozenset({NRPS_SCOPE}), keyring)
    assert refused.value.refused and refused.value.error == "invalid_scope"
    vle_server.token_status = 503
    with pytest.raises(TokenError) as busy:
        request_token(registration(vle_server), frozenset({NRPS_SCOPE}), keyring)
    assert not busy.value.refused and busy.value.status == 503
    gone = SimpleNamespace(client_id="c", auth_audience=None,
                           auth_token_url="http://127.0.0.1:9/token")
    with pytest.raises(TokenError) as down:
        request_token(gone, frozenset({NRPS_SCOPE}), keyring, timeout=2)
    assert not down.value.refused


@pytest.mark.parametrize("header, expected", [
    ('<https://vle.test/m?page=2>; rel="next"', "https://vle.test/m?page=2"),
    ("<https://vle.test/m?page=2>; rel=next", "https://vle.test/m?page=2"),
    ('<https://vle.test/m?p=1>; rel="first", </m?page=3>; rel="next last"',
     "https://vle.test/m?page=3"),
    ('<https://vle.test/m?p=1>; rel="differences"', None),
    ("", None),
])
def test_next_link_is_found_in_link_headers(header, expected):
    response = requests.Response()
    if header:
        response.headers["Link"] = header
    assert _next_link(response, "https://vle.test/m?page=1") == expected
