"""deploy/ checked offline, as CI has no Docker engine and no cluster: the compose files against
the Compose Specification's JSON schema (shipped inside check-jsonschema), the Kubernetes
manifests against the API schemas of a pinned Kubernetes version (shipped inside
kubernetes-validate, strict: unknown fields are errors), and both against what the product
needs (services, probes, build ids, configuration)."""

from __future__ import annotations

import json
import os
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES_VERSION = "1.33.0"
CONFIG_FILES = ("rules.yaml", "directory.yaml", "catalog.yaml", "flags.yaml")


def compose_schema() -> dict[str, Any]:
    schema = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    loaded: dict[str, Any] = json.loads(schema.read_text())
    return loaded


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


@pytest.mark.parametrize("name", ["docker-compose.yaml", "worker-build.compose.yaml"])
def test_compose_files_follow_the_compose_specification(name: str) -> None:
    jsonschema.validate(load(DEPLOY / name), compose_schema())


def test_compose_runs_temporal_on_postgresql_the_ui_the_bot_and_two_workers() -> None:
    compose = load(DEPLOY / "docker-compose.yaml")
    services = compose["services"]
    assert set(services) == {"postgresql", "temporal", "temporal-ui", "bot", "worker"}
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert services["bot"]["command"] == ["purchasebot", "bot"]
    assert services["worker"]["command"] == ["purchasebot", "worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    for role in ("bot", "worker"):
        assert services[role]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert "/readyz" in " ".join(services[role]["healthcheck"]["test"])
    # What the files point at exists: the image's build context, the mounted server config,
    # and the example of the env file operators fill in.
    assert (DEPLOY / services["bot"]["build"]["context"] / "Dockerfile").exists()
    [mount] = services["temporal"]["volumes"]
    assert (DEPLOY / mount.split(":")[0]).exists()
    assert (DEPLOY / "purchasebot.env.example").exists()
    # The bot's data directory (its dashboard snapshot) is a named volume: kept across deploys.
    assert "bot-data:/var/lib/purchasebot" in services["bot"]["volumes"]
    assert "bot-data" in compose["volumes"]
    example = (DEPLOY / "purchasebot.env.example").read_text()
    assert "SLACK_BOT_TOKEN=" in example and "SLACK_SIGNING_SECRET=" in example


def render_build(build_id: str, replicas: int = 2) -> list[dict[str, Any]]:
    """deploy-build.sh itself, in its print-only mode (no docker, no kubectl)."""
    env = {**os.environ, "BUILD_ID": build_id, "TEMPORAL_ADDRESS": "temporal-frontend:7233"}
    printed = subprocess.run(
        ["bash", str(DEPLOY / "kubernetes" / "deploy-build.sh"), "--print", "registry/pb:x",
         str(replicas)],
        env=env, capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return [doc for doc in yaml.safe_load_all(printed) if doc]


def validate_kubernetes(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_bot_manifests_are_valid_kubernetes_with_probes() -> None:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "bot.yaml").read_text()) if d]
    for doc in docs:
        validate_kubernetes(doc)
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["purchasebot", "bot"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert "TEMPORAL_ADDRESS" in env_of(deployment)
    # The data directory (the image's PURCHASEBOT_DATA_DIR) outlives a container restart.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/var/lib/purchasebot"]]


def test_each_build_gets_its_own_valid_worker_deployment_and_the_shared_config() -> None:
    first = render_build("0.1.0+1dbfbd15d6", replicas=3)
    second = render_build("0.1.0+0e34169a5e.dirty")
    for doc in first + second:
        validate_kubernetes(doc)

    [config] = [d for d in first if d["kind"] == "ConfigMap"]
    for name in CONFIG_FILES:
        assert config["data"][name] == (REPO / name).read_text(), name

    [one] = [d for d in first if d["kind"] == "Deployment"]
    [two] = [d for d in second if d["kind"] == "Deployment"]
    assert one["metadata"]["name"] != two["metadata"]["name"], "one Deployment per build"
    assert one["spec"]["replicas"] == 3 and two["spec"]["replicas"] == 2
    env = env_of(one)
    assert env["PURCHASEBOT_BUILD_ID"] == "0.1.0+1dbfbd15d6"
    assert env["TEMPORAL_ADDRESS"] == "temporal-frontend:7233"
    assert env["PURCHASEBOT_RULES"] == "/etc/purchasebot/rules.yaml"
    [container] = one["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert env["PURCHASEBOT_HEALTH_PORT"] == str(container["ports"][0]["containerPort"])
    volumes = one["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "config", "configMap": {"name": "purchasebot-config"}}]


def test_the_validator_can_fail() -> None:
    """The gate is seen to work: an unknown field is refused."""
    [deployment] = [d for d in render_build("b1") if d["kind"] == "Deployment"]
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_kubernetes(deployment)
    compose = load(DEPLOY / "docker-compose.yaml")
    compose["services"]["worker"]["replicas"] = 2
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(compose, compose_schema())


def test_the_image_ships_every_package_of_the_product() -> None:
    """No engine here to build it: at least every package pyproject installs is copied in."""
    pyproject = (REPO / "pyproject.toml").read_text()
    included = pyproject.split("[tool.setuptools.packages.find]")[1].split("]")[0]
    packages = [p.strip(' "*') for p in included.split("[")[1].split(",")]
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package
    for name in CONFIG_FILES:
        assert name in dockerfile, name
