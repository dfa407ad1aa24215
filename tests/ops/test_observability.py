"""Probes, metrics, request ids and log lines an operator relies on."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from lti_tool import migrate
from lti_tool.keys import Keyring
from lti_tool.logs import JsonFormatter, redact_query, redact_url

from .helpers import ROOT, clean_env, free_port, wait_for


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "keys": "ok", "content": "ok"}


def test_readyz_fails_without_keys(app, client):
    shutil.rmtree(app.config["KEYS_DIR"])
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "lti-tool keys generate" in ready.get_json()["checks"]["keys"]


def test_request_id_is_kept_or_made_and_returned(client):
    given = client.get("/", headers={"X-Request-ID": "req-12345678"})
    assert given.headers["X-Request-ID"] == "req-12345678"
    made = client.get("/", headers={"X-Request-ID": "bad id <script>"})
    assert len(made.headers["X-Request-ID"]) == 32


def test_metrics_count_requests_launches_and_the_grade_backlog(client):
    client.get("/")
    client.post("/lti/launch", data={})  # a launch without an id_token: refused
    body = client.get("/metrics").get_data(as_text=True)
    assert 'lti_tool_http_requests_total{endpoint="main.index",method="GET",status="200"}' in body
    assert 'lti_tool_launches_total{outcome="missing_params",step="launch"}' in body
    assert "lti_tool_grade_backlog 0.0" in body
    assert "lti_tool_grade_oldest_undelivered_age_seconds 0.0" in body
    assert "lti_tool_database_up 1.0" in body


def test_metrics_token(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200


def test_tokens_and_hints_are_redacted_from_urls():
    url = ("/lti/register?openid_configuration=https%3A%2F%2Fm.example%2Fconf"
           "&registration_token=eyJhbGciOi.secret.sig")
    assert "eyJhbGciOi" not in redact_url(url)
    assert "registration_token=REDACTED" in redact_url(url)
    assert "openid_configuration=https://m.example/conf" in redact_url(url)
    assert redact_query("invite=abc&x=1") == "invite=REDACTED&x=1"
    assert redact_url("/lti/launch") == "/lti/launch"


def test_json_log_line_carries_the_request_id(app):
    record = logging.LogRecord("lti_tool.x", logging.WARNING, __file__, 1, "saw %s", ("it",), None)
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "abc123"
        line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "saw it" and line["request_id"] == "abc123"
    assert line["level"] == "warning" and line["logger"] == "lti_tool.x"


# -- the image's command, as uid 10001, keys read-only, on PostgreSQL ------------------------
@pytest.fixture
def readonly_keys():
    """Keys laid out as a Secret mounted with fsGroup 10001, mode 0440, folder read-only."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run gunicorn as uid 10001")
    base = Path(tempfile.mkdtemp(prefix="lti-e2e-"))
    os.chmod(base, 0o755)
    keys = base / "keys"
    Keyring(keys).generate()
    for path in keys.iterdir():
        os.chown(path, 0, 10001)
        os.chmod(path, 0o440)
    os.chmod(keys, 0o555)
    yield base, keys
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.postgres
def test_gunicorn_as_uid_10001_with_read_only_keys(pg_cluster, readonly_keys):
    cluster, reason = pg_cluster
    if cluster is None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    base, keys = readonly_keys
    url = cluster.create_database()
    migrate.upgrade(url)
    port = free_port()
    site = next(p for p in os.sys.path if p.endswith("site-packages") and ".venv" in p)
    home = base / "home"  # read-only, as in the image under readOnlyRootFilesystem
    home.mkdir(mode=0o555)
    env = clean_env(PYTHONPATH=f"{ROOT}:{site}", HOME=str(home), LTI_TOOL_DATABASE_URL=url,
                    LTI_TOOL_KEYS_DIR=str(keys), LTI_TOOL_SECRET_KEY="k" * 64,
                    LTI_TOOL_INSTANCE_DIR=str(base / "instance"),
                    LTI_TOOL_BASE_URL="https://tool.example.ac.uk",
                    BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
                    PROMETHEUS_MULTIPROC_DIR=str(base / "metrics"), TMPDIR=str(base))
    os.chmod(base, 0o777)
    out_file, err_file = open(base / "out.log", "w+"), open(base / "err.log", "w+")
    proc = subprocess.Popen(["/usr/bin/python3", "deploy/gunicorn.conf.py"],
                            user=10001, group=10001, extra_groups=[], env=env, cwd=ROOT,
                            stdout=out_file, stderr=err_file)
    root = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{root}/healthz", 60, proc)
        assert requests.get(f"{root}/readyz", timeout=10).status_code == 200
        jwks = requests.get(f"{root}/.well-known/jwks.json", timeout=10)
        assert jwks.status_code == 200 and len(jwks.json()["keys"]) == 1
        refused = requests.get(f"{root}/lti/register", timeout=10, params={
            "openid_configuration": "https://m.example.ac.uk/conf",
            "registration_token": "TOPSECRETTOKEN", "invite": "INVITESECRET"})
        assert refused.status_code < 500
        rid = refused.headers["X-Request-ID"]
        for _ in range(4):  # both worker processes answer some of these
            requests.get(f"{root}/", timeout=10)
        metrics = requests.get(f"{root}/metrics", timeout=10).text
        assert 'endpoint="main.index",method="GET",status="200"} 4.0' in metrics
        assert "lti_tool_grade_backlog 0.0" in metrics
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        out, err = (base / "out.log").read_text(), (base / "err.log").read_text()
        out_file.close()
        err_file.close()
        cluster.drop_database(url)
    assert "TOPSECRETTOKEN" not in out + err and "INVITESECRET" not in out + err
    access = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    register = [e for e in access if e["path"] == "/lti/register"]
    assert register and "registration_token=REDACTED" in register[0]["query"]
    assert register[0]["request_id"] == rid
    assert "Traceback" not in err
    assert all(json.loads(line)["level"] for line in err.splitlines() if line.startswith("{"))
    assert "control socket" not in err.lower() and "control server" not in err.lower()
