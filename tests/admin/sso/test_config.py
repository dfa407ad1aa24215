"""The OIDC_* settings are checked at start-up like every other setting (issue 13, item 7)."""

from __future__ import annotations

import os

import pytest

from lti_tool.config import Config, ConfigError, OidcSettings

SECRET = "s3cret-value-never-printed"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No OIDC_* settings from the environment running the tests."""
    for name in list(os.environ):
        if name.startswith("LTI_TOOL_OIDC_"):
            monkeypatch.delenv(name)
    return monkeypatch


def settings(env, **values) -> OidcSettings | None:
    for name, value in values.items():
        env.setenv(f"LTI_TOOL_OIDC_{name}", value)
    return Config().OIDC


def refused(env, **values) -> str:
    with pytest.raises(ConfigError) as error:
        settings(env, **values)
    assert SECRET not in str(error.value)
    return str(error.value)


def test_off_unless_an_issuer_is_set(clean_env):
    assert settings(clean_env) is None


def test_every_setting_read(clean_env, tmp_path):
    secret_file = tmp_path / "client_secret"
    secret_file.write_text(SECRET + "\n")
    oidc = settings(clean_env, ISSUER="https://login.uni.example.ac.uk/", CLIENT_ID="tool",
                    CLIENT_SECRET_FILE=str(secret_file), NAME="UniLogin",
                    EMAIL_DOMAINS="uni.example.ac.uk, @Staff.Uni.example.ac.uk",
                    REQUIRED_CLAIM="groups = lti-tool-admins", ONLY="yes", SKIP_TOTP="1")
    assert oidc == OidcSettings(
        issuer="https://login.uni.example.ac.uk/",  # kept exactly: it must equal `iss`
        client_id="tool", client_secret=SECRET, name="UniLogin",
        email_domains=("staff.uni.example.ac.uk", "uni.example.ac.uk"),
        required_claim=("groups", "lti-tool-admins"), only=True, skip_totp=True)
    assert SECRET not in repr(oidc)


def test_secret_from_the_environment_and_http_to_loopback(clean_env):
    oidc = settings(clean_env, ISSUER="http://127.0.0.1:9000", CLIENT_ID="tool",
                    CLIENT_SECRET=SECRET)
    assert oidc is not None and oidc.client_secret == SECRET and not oidc.only


def test_an_issuer_needs_its_client_id_and_secret(clean_env):
    message = refused(clean_env, ISSUER="https://login.uni.example.ac.uk")
    assert "LTI_TOOL_OIDC_CLIENT_ID is not set" in message
    assert "LTI_TOOL_OIDC_CLIENT_SECRET (or LTI_TOOL_OIDC_CLIENT_SECRET_FILE) is not set" \
        in message


def test_other_settings_without_an_issuer(clean_env):
    assert "LTI_TOOL_OIDC_ISSUER is not set" in refused(clean_env, CLIENT_ID="tool",
                                                        CLIENT_SECRET=SECRET)
    assert "LTI_TOOL_OIDC_ISSUER is not set" in refused(clean_env, ONLY="1")


@pytest.mark.parametrize("values,words", [
    ({"ISSUER": "http://login.uni.example.ac.uk"}, "expected an https:// address"),
    ({"ISSUER": "login.uni.example.ac.uk"}, "expected an https:// address"),
    ({"ISSUER": "https://login.uni.example.ac.uk?x=1"}, "without ?query"),
    ({"EMAIL_DOMAINS": "uni"}, "'uni' is not a domain"),
    ({"REQUIRED_CLAIM": "groups"}, "expected CLAIM=VALUE"),
    ({"ONLY": "maybe"}, "LTI_TOOL_OIDC_ONLY='maybe'"),
])
def test_malformed_values_are_named(clean_env, values, words):
    base = {"ISSUER": "https://login.uni.example.ac.uk", "CLIENT_ID": "tool",
            "CLIENT_SECRET": SECRET}
    assert words in refused(clean_env, **{**base, **values})


def test_secret_file_problems(clean_env, tmp_path):
    base = {"ISSUER": "https://login.uni.example.ac.uk", "CLIENT_ID": "tool"}
    assert "cannot be read (No such file or directory)" in refused(
        clean_env, **base, CLIENT_SECRET_FILE=str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "the file is empty" in refused(clean_env, **base, CLIENT_SECRET_FILE=str(empty))
    clean_env.setenv("LTI_TOOL_OIDC_CLIENT_SECRET", SECRET)
    assert "are both set" in refused(clean_env, **base, CLIENT_SECRET_FILE=str(empty))


def test_the_app_starts_without_reaching_the_provider(clean_env, tmp_path):
    from lti_tool import create_app
    from lti_tool.config import TestConfig

    config = TestConfig(INSTANCE_DIR=tmp_path, SQLALCHEMY_DATABASE_URL="sqlite://",
                        OIDC=OidcSettings("https://idp.invalid", "tool", SECRET))
    app = create_app(config)  # https://idp.invalid would fail if anything fetched it
    assert "lti_tool.oidc" in app.extensions
