"""The deployment files a platform team reviews: every manifest parses, and the properties they
check for hold (the "restricted" Pod Security Standard, probes, scrape annotations, the default
apply without the example secret, compose's restart policy and healthcheck-gated start), plus the
Dockerfile's read-only-root contract and the demo's state directory on a read-only root."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]  # PyYAML ships no type stubs

from worker.demo import demo_root

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
STATE_DIR = "/var/lib/bookyflow"
POD_TMP = "/tmp"  # noqa: S108 - the path a manifest mounts, not a file this test opens
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the value the ConfigMap must carry, nothing binds
NAME_LABEL = {"app.kubernetes.io/name": "bookyflow-worker"}

Doc = dict[str, Any]


def _documents(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def _kube() -> dict[str, Doc]:
    """Every Kubernetes object under deploy/kubernetes, keyed ``Kind/name``."""
    found: dict[str, Doc] = {}
    for path in sorted(KUBE.glob("*.yaml")):
        for doc in _documents(path):
            if doc.get("kind") != "Kustomization":
                found[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return found


def _pod() -> Doc:
    pod: Doc = _kube()["StatefulSet/bookyflow-worker"]["spec"]["template"]
    return pod


def _worker_container() -> Doc:
    (container,) = _pod()["spec"]["containers"]
    return dict(container)


def _config() -> dict[str, str]:
    data: dict[str, str] = _kube()["ConfigMap/bookyflow-worker"]["data"]
    return data


@pytest.mark.parametrize(
    "path",
    sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"}),
    ids=lambda p: str(p.relative_to(DEPLOY)),
)
def test_every_manifest_parses(path: Path) -> None:
    """Each YAML file under deploy/ parses into at least one mapping."""
    docs = _documents(path)
    assert docs
    assert all(isinstance(doc, dict) for doc in docs)


def test_kubernetes_objects_have_kind_api_version_and_name() -> None:
    """Every Kubernetes object names its apiVersion, kind and metadata.name."""
    objects = _kube()
    assert {"StatefulSet", "Service", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap"} <= {
        doc["kind"] for doc in objects.values()
    }
    assert all(doc.get("apiVersion") for doc in objects.values())


def test_pod_meets_the_restricted_pod_security_standard() -> None:
    """Non-root uid 10001, no escalation, all capabilities dropped, RuntimeDefault seccomp,
    read-only root: the checks of the "restricted" Pod Security level."""
    pod_security = _pod()["spec"]["securityContext"]
    container = _worker_container()
    security = container["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == 10001
    assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    assert security.get("privileged", False) is False
    assert "add" not in security["capabilities"]
    assert not any("hostPath" in volume for volume in _pod()["spec"]["volumes"])
    assert not any(_pod()["spec"].get(key) for key in ("hostNetwork", "hostPID", "hostIPC"))


def test_tmp_is_an_empty_dir_and_state_a_claim() -> None:
    """The pod's /tmp is a size-limited emptyDir; the state directory is the pod's own claim."""
    mounts = {mount["mountPath"]: mount["name"] for mount in _worker_container()["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in _pod()["spec"]["volumes"]}
    assert "sizeLimit" in volumes[mounts[POD_TMP]]["emptyDir"]
    claims = _kube()["StatefulSet/bookyflow-worker"]["spec"]["volumeClaimTemplates"]
    assert mounts[STATE_DIR] in {claim["metadata"]["name"] for claim in claims}
    assert _config()["BOOKYFLOW_STATE_DIR"] == STATE_DIR


def test_probes_resources_and_scrape_annotations_agree_on_the_port() -> None:
    """Liveness runs `healthcheck`, readiness gets /readyz on the health port, resources are set,
    and the prometheus.io annotations name the same port as the ConfigMap and the container."""
    container = _worker_container()
    port = int(_config()["BOOKYFLOW_HEALTH_PORT"])
    (health,) = [p for p in container["ports"] if p["name"] == "health"]
    annotations = _pod()["metadata"]["annotations"]
    assert container["livenessProbe"]["exec"]["command"] == ["bookyflow-worker", "healthcheck"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert health["containerPort"] == port
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert _config()["BOOKYFLOW_HEALTH_HOST"] == ALL_INTERFACES


def test_shard_count_equals_replicas() -> None:
    """BOOKYFLOW_SHARD_COUNT is the StatefulSet's replica count."""
    env = {item["name"]: item for item in _worker_container()["env"]}
    replicas = _kube()["StatefulSet/bookyflow-worker"]["spec"]["replicas"]
    assert int(env["BOOKYFLOW_SHARD_COUNT"]["value"]) == replicas


def test_secret_is_a_read_only_file_never_an_env_var() -> None:
    """The client secret comes from the mounted secret file, 0400, never from a variable."""
    container = _worker_container()
    env = {item["name"]: item for item in container["env"]}
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in _pod()["spec"]["volumes"]}
    secret_file = env["BOOKYFLOW_CLIENT_SECRET_FILE"]["value"]
    assert "BOOKYFLOW_CLIENT_SECRET" not in env
    assert "BOOKYFLOW_CLIENT_SECRET" not in _config()
    assert secret_file.startswith(mounts["credentials"]["mountPath"] + "/")
    assert mounts["credentials"]["readOnly"] is True
    assert volumes["credentials"]["secret"]["defaultMode"] == 0o400


def test_service_pdb_and_network_policy_select_the_pods() -> None:
    """The Service, PodDisruptionBudget and NetworkPolicy select the StatefulSet's pods."""
    objects = _kube()
    labels = _pod()["metadata"]["labels"]
    assert objects["Service/bookyflow-worker"]["spec"]["selector"].items() <= labels.items()
    pdb = objects["PodDisruptionBudget/bookyflow-worker"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["maxUnavailable"] == 1
    policy = objects["NetworkPolicy/bookyflow-worker"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert labels.items() >= NAME_LABEL.items()


def test_network_policy_allows_only_dns_the_sites_the_vendor_and_the_metrics_port() -> None:
    """Ingress: the health port alone; egress: DNS on 53 and HTTPS to documented ranges only."""
    policy = _kube()["NetworkPolicy/bookyflow-worker"]["spec"]
    port = int(_config()["BOOKYFLOW_HEALTH_PORT"])
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    ingress_ports = [p["port"] for rule in policy["ingress"] for p in rule["ports"]]
    assert ingress_ports == [port]
    egress = policy["egress"]
    dns, *https = egress
    assert {p["port"] for p in dns["ports"]} == {53}
    assert all({p["port"] for p in rule["ports"]} == {443} for rule in https)
    blocks = [peer["ipBlock"]["cidr"] for rule in https for peer in rule["to"]]
    assert len(blocks) == 2
    assert "0.0.0.0/0" not in blocks
    assert all(rule.get("to") for rule in egress)  # no rule open to everyone
    text = (KUBE / "networkpolicy.yaml").read_text(encoding="utf-8")
    assert all(cidr in text.split("PLACEHOLDERS", 1)[1] for cidr in blocks)


def test_servicemonitor_example_scrapes_the_service_port() -> None:
    """The ServiceMonitor example scrapes /metrics on the Service's named port."""
    (monitor,) = _documents(KUBE / "servicemonitor.example.yaml")
    service = _kube()["Service/bookyflow-worker"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert monitor["kind"] == "ServiceMonitor"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )


def test_kustomization_applies_every_manifest_but_the_examples() -> None:
    """kustomization.yaml lists files that exist: every manifest except the *.example.yaml ones,
    so `kubectl apply -k` never applies the example secret."""
    (kustomization,) = _documents(KUBE / "kustomization.yaml")
    resources = kustomization["resources"]
    manifests = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert all((KUBE / name).is_file() for name in resources)
    assert "secret.example.yaml" not in resources
    assert set(resources) == {name for name in manifests if not name.endswith(".example.yaml")}
    assert len(resources) == len(set(resources))


def test_readme_documents_the_secret_and_the_default_apply() -> None:
    """The README applies with -k and creates the secret with `kubectl create secret`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "kubectl apply -k deploy/kubernetes" in readme
    assert "kubectl create secret generic bookyflow-worker" in readme
    assert "kubectl apply -f deploy/kubernetes/secret.example.yaml" not in readme


def _compose() -> Doc:
    (compose,) = _documents(DEPLOY / "docker-compose.yml")
    return compose


def test_compose_restarts_and_waits_for_a_healthy_sandbox() -> None:
    """Both services restart unless stopped; the worker waits for the sandbox's healthcheck."""
    services = _compose()["services"]
    worker, sandbox = services["worker"], services["sandbox"]
    assert worker["depends_on"] == {"sandbox": {"condition": "service_healthy"}}
    assert sandbox["healthcheck"]["test"][0] == "CMD"
    assert "disable" not in sandbox["healthcheck"]
    assert all(service["restart"] == "unless-stopped" for service in services.values())


def test_compose_runs_read_only_without_tmpfs() -> None:
    """Every compose service has a read-only root and needs no tmpfs; state is on a volume."""
    for service in _compose()["services"].values():
        assert service["read_only"] is True
        assert "tmpfs" not in service
        assert any(volume.endswith(":" + STATE_DIR) for volume in service["volumes"])


def test_compose_grace_period_outlasts_the_drain() -> None:
    """The worker's stop grace period (30 s) is longer than its 25 s drain."""
    worker = _compose()["services"]["worker"]
    assert int(worker["stop_grace_period"].rstrip("s")) > 25


def test_dockerfile_keeps_plain_docker_build_and_the_read_only_contract() -> None:
    """ARG BASE_IMAGE defaults to python:3.11-slim before FROM; the install is bootstrap.sh
    without extras; it runs as 10001 with TMPDIR and the state directory on the state volume."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "ARG BASE_IMAGE=python:3.11-slim"
    assert lines[1] == "FROM ${BASE_IMAGE}"
    assert re.search(r"scripts/bootstrap\.sh /opt/venv\s*(\\|&&|$)", text, re.MULTILINE)
    assert "USER 10001" in lines
    assert f'VOLUME ["{STATE_DIR}"]' in lines
    assert f"TMPDIR={STATE_DIR}" in text
    assert f"BOOKYFLOW_STATE_DIR={STATE_DIR}" in text
    assert re.search(
        r"^HEALTHCHECK .*\n\s+CMD \[\"bookyflow-worker\", \"healthcheck\"\]", text, re.M
    )


def test_dockerignore_keeps_the_build_context_small() -> None:
    """The build context leaves out the venv, git, tests and local state."""
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".venv", ".git", "tests", "state", "build"} <= ignored
    assert not ignored & {"worker", "config", "scripts", "pyproject.toml", "README.md"}


def test_demo_state_goes_under_a_writable_state_dir(tmp_path: Path) -> None:
    """With BOOKYFLOW_STATE_DIR a writable directory, the demo keeps its throw-away state there."""
    assert demo_root({"BOOKYFLOW_STATE_DIR": str(tmp_path)}) == tmp_path


def test_demo_state_falls_back_to_the_temp_dir(tmp_path: Path) -> None:
    """Unset, missing or unwritable BOOKYFLOW_STATE_DIR: the system's temporary directory."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert demo_root({}) is None
    assert demo_root({"BOOKYFLOW_STATE_DIR": str(tmp_path / "missing")}) is None
    if os.geteuid() != 0:  # root may write anywhere
        assert demo_root({"BOOKYFLOW_STATE_DIR": str(locked)}) is None
