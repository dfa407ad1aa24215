"""deploy/: Kubernetes manifests valid against the schema and the restricted profile; image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes still in wide use that we promise to run on


def _documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


DOCS = _documents()


def _pod_specs() -> list[tuple[str, dict]]:
    specs = []
    for name, doc in DOCS:
        if doc["kind"] in ("Deployment", "Job"):
            specs.append((f"{name}:{doc['metadata']['name']}", doc["spec"]["template"]["spec"]))
    return specs


@pytest.mark.parametrize("name, doc", DOCS, ids=[f"{n}:{d['kind']}:{d['metadata']['name']}"
                                                for n, d in DOCS])
def test_schema_strict(name, doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_resource_is_namespaced_and_kustomized():
    kinds = {d["kind"] for _, d in DOCS}
    assert {"Namespace", "Deployment", "Service", "PodDisruptionBudget",
            "HorizontalPodAutoscaler", "NetworkPolicy", "Ingress", "Job", "ConfigMap"} <= kinds
    for name, doc in DOCS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "lti-tool", name
    listed = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    files = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")}
    assert set(listed["resources"]) == files - {"kustomization.yaml", "migrate-job.yaml"}


@pytest.mark.parametrize("where, spec", _pod_specs(), ids=[w for w, _ in _pod_specs()])
def test_pods_meet_the_restricted_profile(where, spec):
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec.get("automountServiceAccountToken") is False
    assert not spec.get("hostNetwork") and not spec.get("hostPID")
    for container in spec["containers"] + spec.get("initContainers", []):
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
        assert re.search(r":\d+\.\d+\.\d+$", container["image"]), "pin the image tag"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"])
        for mount in container["volumeMounts"]:
            if mount["name"] == "keys":
                assert mount["readOnly"] is True
                assert pod.get("fsGroup") == 10001  # so uid 10001 can read the Secret
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    assert all("hostPath" not in v for v in volumes.values())


def test_long_running_containers_have_probes():
    for where, spec in _pod_specs():
        if "Job" in where or "migrate" in where:
            continue
        for container in spec["containers"]:
            assert "livenessProbe" in container and "readinessProbe" in container, where
    web = next(d for _, d in DOCS if d["kind"] == "Deployment" and d["metadata"]["name"]
               == "lti-tool-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_ingress_has_tls_and_namespace_is_restricted():
    ingress = next(d for _, d in DOCS if d["kind"] == "Ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    namespace = next(d for _, d in DOCS if d["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_no_secret_values_in_manifests():
    for _, doc in DOCS:
        assert doc["kind"] != "Secret"
    config = next(d for _, d in DOCS if d["kind"] == "ConfigMap")["data"]
    assert not any(k in config for k in ("LTI_TOOL_SECRET_KEY", "LTI_TOOL_DATABASE_URL"))


def test_dockerfile_runs_as_a_numeric_user_with_a_healthcheck():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER 10001(:10001)?$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*", text, re.M) and "/healthz" in text
    assert "BIND=0.0.0.0:8000" in text


def test_compose_file_has_the_four_services_hardened():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db", "caddy"} <= set(services)
    for name in ("web", "worker", "setup"):
        service = services[name]
        assert service["user"] == "10001:10001" and service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
    assert services["worker"]["command"][:3] == ["lti-tool", "grades", "work"]
    assert "443:443" in services["caddy"]["ports"]
    assert (DEPLOY / "Caddyfile").exists()
