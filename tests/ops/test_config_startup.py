"""Start-up refuses bad settings with the variable's name and value, and no traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from lti_tool.config import Config, ConfigError, TestConfig

from .helpers import BIN, ROOT, clean_env, free_port, lti_tool

SECRET = "a" * 64


def test_bad_number_names_the_variable_and_value(monkeypatch):
    monkeypatch.setenv("LTI_TOOL_JWT_LEEWAY", "abc")
    monkeypatch.setenv("LTI_TOOL_SANDBOX", "maybe")
    with pytest.raises(ConfigError) as error:
        Config()
    message = str(error.value)
    assert "LTI_TOOL_JWT_LEEWAY='abc': expected a whole number" in message
    assert "LTI_TOOL_SANDBOX='maybe'" in message  # every problem at once, not the first only


@pytest.mark.parametrize("name, value", [("BASE_URL", "tool.example.ac.uk"),
                                         ("DATABASE_URL", "mysql://u@h/db"),
                                         ("HTTP_TIMEOUT", "-1"), ("LOG_FORMAT", "xml")])
def test_malformed_values_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(f"LTI_TOOL_{name}", value)
    with pytest.raises(ConfigError, match=f"LTI_TOOL_{name}="):
        Config()


@pytest.mark.parametrize("name", ["Europe/Dublin!", "Europe", "Mars/Olympus_Mons"])
def test_a_zone_name_that_is_not_one_stops_start_up_in_one_line(monkeypatch, name):
    """A typo, a folder of the zone database or an unknown zone: the setting is named."""
    monkeypatch.setenv("LTI_TOOL_TIME_ZONE", name)
    with pytest.raises(ConfigError, match=re.escape(f"LTI_TOOL_TIME_ZONE='{name}': expected "
                                                    "a time zone name")):
        Config()


def test_typed_values(monkeypatch):
    monkeypatch.setenv("LTI_TOOL_JWT_LEEWAY", " 30 ")
    monkeypatch.setenv("LTI_TOOL_HTTP_TIMEOUT", "2.5")
    monkeypatch.setenv("LTI_TOOL_GRADES_DELIVER_INLINE", "off")
    config = Config()
    assert (config.JWT_LEEWAY, config.HTTP_TIMEOUT, config.GRADES_DELIVER_INLINE) == \
        (30, 2.5, False)


def test_a_stable_secret_is_required_outside_the_sandbox(monkeypatch):
    monkeypatch.delenv("LTI_TOOL_SECRET_KEY", raising=False)
    monkeypatch.delenv("LTI_TOOL_SANDBOX", raising=False)
    with pytest.raises(ConfigError, match="LTI_TOOL_SECRET_KEY is not set"):
        Config().require_stable_secret()
    monkeypatch.setenv("LTI_TOOL_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        Config().require_stable_secret()
    monkeypatch.setenv("LTI_TOOL_SECRET_KEY", SECRET)
    Config().require_stable_secret()
    monkeypatch.delenv("LTI_TOOL_SECRET_KEY")
    monkeypatch.setenv("LTI_TOOL_SANDBOX", "1")
    Config().require_stable_secret()  # the demo generates one into instance/
    TestConfig(SANDBOX_ENABLED=False).require_stable_secret()


def test_cli_prints_one_line_for_a_bad_value(tmp_path):
    env = clean_env(LTI_TOOL_JWT_LEEWAY="abc", LTI_TOOL_INSTANCE_DIR=str(tmp_path))
    result = lti_tool("db", "upgrade", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "LTI_TOOL_JWT_LEEWAY='abc': expected a whole number" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Usage" in lti_tool("--help", env=env).stdout  # help still works


def test_commands_other_than_serving_need_no_secret(tmp_path):
    env = clean_env(LTI_TOOL_INSTANCE_DIR=str(tmp_path / "instance"),
                    LTI_TOOL_KEYS_DIR=str(tmp_path / "keys"))
    result = lti_tool("keys", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()  # nothing written


def test_run_refuses_without_a_secret(tmp_path):
    env = clean_env(LTI_TOOL_INSTANCE_DIR=str(tmp_path))
    result = lti_tool("run", "--port", str(free_port()), env=env, timeout=30)
    assert result.returncode == 1
    assert "LTI_TOOL_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_gunicorn_refuses_without_a_secret_before_any_worker(tmp_path):
    env = clean_env(LTI_TOOL_INSTANCE_DIR=str(tmp_path), BIND=f"127.0.0.1:{free_port()}",
                    PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    result = subprocess.run([str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "LTI_TOOL_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr and "Booting worker" not in result.stderr


def _image_command() -> list[str]:
    """The Dockerfile's CMD, run with this interpreter."""
    line = next(row for row in (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
                if row.startswith("CMD "))
    command = json.loads(line.removeprefix("CMD "))
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


@pytest.mark.parametrize("name, value", [("WEB_CONCURRENCY", "abc"), ("WEB_CONCURRENCY", "0"),
                                         ("WEB_CONCURRENCY", "-3"),
                                         ("GUNICORN_THREADS", "many")])
def test_image_command_names_a_bad_process_count(tmp_path, name, value):
    env = clean_env(LTI_TOOL_INSTANCE_DIR=str(tmp_path), LTI_TOOL_SECRET_KEY=SECRET,
                    PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"), **{name: value})
    result = subprocess.run([*_image_command(), "--check-config"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"lti-tool: configuration: {name}={value!r}: expected a whole number, "
        f"1 to {16 if name == 'WEB_CONCURRENCY' else 32}"]


def test_image_command_accepts_good_process_counts(tmp_path):
    (tmp_path / "metrics").mkdir()  # made by on_starting, which --check-config never reaches
    env = clean_env(LTI_TOOL_INSTANCE_DIR=str(tmp_path), LTI_TOOL_SECRET_KEY=SECRET,
                    LTI_TOOL_KEYS_DIR=str(tmp_path / "keys"), WEB_CONCURRENCY=" 3 ",
                    GUNICORN_THREADS="2", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    result = subprocess.run([*_image_command(), "--check-config"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
