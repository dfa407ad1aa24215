"""The `lti-tool` commands an administrator types, and the messages they get back."""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.models import Deployment, Registration

BLACKBOARD = ["platform", "add", "--issuer", "https://blackboard.com",
              "--client-id", "bb-global-client",
              "--auth-login-url", "https://developer.blackboard.com/api/v1/gateway/oidcauth",
              "--auth-token-url", "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken",
              "--key-set-url",
              "https://developer.blackboard.com/api/v1/management/applications/x/jwks.json",
              "--name", "Blackboard Learn", "--deployment-id", "uni-a"]


def test_platform_add_list_show_remove(runner, db):
    result = runner.invoke(BLACKBOARD)
    assert result.exit_code == 0, result.output
    assert "Registered platform" in result.output and "1 deployment(s)" in result.output
    reg = db.scalar(select(Registration))
    assert (reg.issuer, reg.client_id, reg.name) == ("https://blackboard.com",
                                                    "bb-global-client", "Blackboard Learn")

    assert runner.invoke(["deployment", "add", str(reg.id), "uni-b"]).exit_code == 0
    listed = runner.invoke(["platform", "list"]).output
    assert "https://blackboard.com" in listed and "deployments=2" in listed
    shown = runner.invoke(["platform", "show", str(reg.id)]).output
    assert "uni-a  approved" in shown and "uni-b  approved" in shown

    removed = runner.invoke(["platform", "remove", str(reg.id), "--yes"])
    assert removed.exit_code == 0, removed.output
    db.expire_all()
    assert db.scalar(select(Registration)) is None
    assert db.scalar(select(Deployment)) is None


def test_second_client_id_under_one_issuer_is_allowed_but_duplicates_are_not(runner):
    assert runner.invoke(BLACKBOARD).exit_code == 0
    duplicate = runner.invoke(BLACKBOARD)
    assert duplicate.exit_code == 1
    assert "already registered" in duplicate.output
    other = [*BLACKBOARD]
    other[other.index("bb-global-client")] = "bb-second-client"
    assert runner.invoke(other).exit_code == 0


def test_bad_url_is_named(runner, db):
    args = [*BLACKBOARD]
    args[args.index("--key-set-url") + 1] = "not-a-url"
    result = runner.invoke(args)
    assert result.exit_code == 1
    assert "key set URL must be an absolute http(s) URL" in result.output
    assert db.scalar(select(Registration)) is None


def test_unknown_registration_is_a_clear_error(runner):
    result = runner.invoke(["platform", "show", "99"])
    assert result.exit_code == 1 and "no registration '99'" in result.output
    result = runner.invoke(["deployment", "approve", "99", "x"])
    assert result.exit_code == 1 and "no registration" in result.output


def test_pending_deployment_added_by_hand_then_approved(runner, db):
    runner.invoke(BLACKBOARD)
    reg = db.scalar(select(Registration))
    assert runner.invoke(["deployment", "add", str(reg.id), "uni-c", "--pending"]).exit_code == 0
    assert "uni-c" in runner.invoke(["deployment", "list", "--pending"]).output
    assert runner.invoke(["deployment", "approve", str(reg.id), "uni-c"]).exit_code == 0
    assert "No deployments wait" in runner.invoke(["deployment", "list", "--pending"]).output


def test_keys_generate_refuses_to_overwrite(runner):
    result = runner.invoke(["keys", "generate"])
    assert result.exit_code == 1 and "keys rotate" in result.output
    assert runner.invoke(["keys", "generate", "--if-missing"]).exit_code == 0
