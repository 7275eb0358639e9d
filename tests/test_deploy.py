"""The deployment files in ``deploy/``: Kubernetes manifests valid against the Kubernetes schemas
(``kubernetes-validate``, strict: an unknown field is an error), every ``ONESTOP_*`` setting of
config.py configured (so a new setting cannot be forgotten) and parsing as a production gateway, the
probes and grace period matching the drain, the Compose file and the image definition keeping the
promises docs/deployment.md makes. Docker cannot run on the test machines: the image is not built
here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from config import PROJECT_ROOT, Mode, Settings
from tests.gateway_process import free_port
from tests.tools import haproxy

DEPLOY = PROJECT_ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
# the oldest Kubernetes minor still supported by the main cloud providers, and the newest the
# validator ships schemas for
VERSIONS = ("1.30.0", f"{kubernetes_validate.latest_version()}.0")


def _type_args(annotation: Any) -> tuple[Any, ...]:
    return (annotation, *getattr(annotation, "__args__", ()))


# settings that hold secrets or passwords: in the Secret, never in the ConfigMap
SECRET_SETTINGS = {"database_url", "redis_url", "cache_url"} | {
    name for name, field in Settings.model_fields.items() if SecretStr in _type_args(field.annotation)
}


def manifests() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


def env_name(setting: str) -> str:
    return f"ONESTOP_{setting.upper()}"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version: str) -> None:
    found = manifests()
    assert {key.split("/")[0] for key in found} >= {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
    }
    for document in found.values():
        kubernetes_validate.validate(document, version, strict=True)  # raises, naming the field


def test_the_validator_refuses_a_misspelt_field() -> None:
    """So the test above can fail: strict validation knows the fields of a Deployment."""
    deployment = manifests()["Deployment/onestop"]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


def test_every_setting_of_config_py_is_in_the_configmap_or_the_secret() -> None:
    found = manifests()
    config = found["ConfigMap/onestop-config"]["data"]
    secret = found["Secret/onestop-secrets"]["stringData"]
    commented = set(
        re.findall(r"^\s*#\s*(ONESTOP_[A-Z0-9_]+):", (KUBERNETES / "configmap.yaml").read_text(), re.M)
    )
    names = {env_name(s) for s in Settings.model_fields}
    missing = names - set(config) - set(secret) - commented
    assert not missing, (
        f"add these settings to deploy/kubernetes/configmap.yaml or secret.yaml: {sorted(missing)}"
    )
    unknown = (set(config) | set(secret) | commented) - names
    assert not unknown, f"not settings of config.py (misspelt?): {sorted(unknown)}"
    in_config = {env_name(s) for s in SECRET_SETTINGS} & set(config)
    assert not in_config, f"secrets belong in secret.yaml: {sorted(in_config)}"
    assert {env_name(s) for s in SECRET_SETTINGS} <= set(secret)


def test_the_configured_values_make_a_production_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    found = manifests()
    for name in Settings.model_fields:
        monkeypatch.delenv(env_name(name), raising=False)
    values = found["ConfigMap/onestop-config"]["data"] | found["Secret/onestop-secrets"]["stringData"]
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # raises on any value config.py refuses
    assert settings.mode is Mode.PRODUCTION and settings.digest_key is not None
    assert settings.host == "0.0.0.0"  # noqa: S104 (a pod listens on its own address)
    assert not settings.graphiql_enabled
    assert settings.drain_seconds >= 5


def test_probes_and_grace_period_follow_the_drain() -> None:
    found = manifests()
    config = found["ConfigMap/onestop-config"]["data"]
    pod = found["Deployment/onestop"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    readiness = container["readinessProbe"]
    # the pod leaves the endpoints before it stops accepting
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < float(config["ONESTOP_DRAIN_S"])
    stopping = float(config["ONESTOP_DRAIN_S"]) + float(config["ONESTOP_SHUTDOWN_GRACE_S"])
    assert pod["terminationGracePeriodSeconds"] >= stopping + 5
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    labels = found["Deployment/onestop"]["spec"]["template"]["metadata"]["labels"]
    for key in ("Service/onestop", "PodDisruptionBudget/onestop"):
        selector = found[key]["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), key
    assert found["HorizontalPodAutoscaler/onestop"]["spec"]["scaleTargetRef"]["name"] == "onestop"
    job = found["Job/onestop-migrate"]["spec"]["template"]["spec"]["containers"][0]
    assert job["args"] == ["migrate"] and job["image"] == container["image"]


def test_the_image_is_multi_stage_non_root_with_a_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) == 2, "a build stage and a run stage"
    run = stages[-1]
    assert "build-essential" in stages[0] and "build-essential" not in run and "apt-get" not in run
    user = re.findall(r"^USER (\S+)", run, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*?/healthz", run, re.M)
    assert "ONESTOP_DRAIN_S" in run


def test_compose_runs_the_fleet_with_the_haproxy_config_of_the_tests() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "mocks", "migrate", "gw1", "gw2", "gw3", "haproxy"} <= set(services)
    lb = services["haproxy"]
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    used = set(re.findall(r"\$\{(ONESTOP_[A-Z0-9_]+)\}", (DEPLOY / "haproxy.cfg").read_text()))
    optional = {"ONESTOP_LB_STATS"}
    assert used - optional <= set(lb["environment"]), "every variable haproxy.cfg needs is given"
    for name in ("gw1", "gw2", "gw3"):
        env = services[name]["environment"]
        assert env["ONESTOP_MODE"] == "production" and float(env["ONESTOP_DRAIN_S"]) > 0
        assert services[name]["stop_grace_period"] == "20s"


def test_haproxy_accepts_the_config(tmp_path: Path) -> None:
    env = {
        "ONESTOP_LB_BIND": f"127.0.0.1:{free_port()}",  # -c only parses: nothing binds
        "ONESTOP_LB_INTER": "1s",
        "ONESTOP_GW1": "127.0.0.1:1",
        "ONESTOP_GW2": "127.0.0.1:2",
    }
    checked = subprocess.run(
        [haproxy(), "-c", "-f", str(DEPLOY / "haproxy.cfg")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_onestop_migrate_prepares_a_store_twice(tmp_path: Path) -> None:
    """The Kubernetes Job's command: migrations and bundled connectors, idempotent."""
    env = {"ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", "PATH": "/usr/bin:/bin"}
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "cli", "migrate"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "bundled connectors registered: agriculture" in outputs[0]
    assert "none new" in outputs[1]
