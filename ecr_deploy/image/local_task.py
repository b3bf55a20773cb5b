"""Run a task definition's container on the local Docker engine as Fargate would (image by digest, environment with
the secrets' values, port, health check): the runtime contract, checked where moto runs nothing."""

from __future__ import annotations

from typing import Any

from ecr_deploy.common import RegistryAuth
from ecr_deploy.errors import DeployError

_NANOSECONDS = 1_000_000_000


def container_definition(task_definition: dict[str, Any], name: str) -> dict[str, Any]:
    for definition in task_definition["containerDefinitions"]:
        if definition["name"] == name:
            return definition
    raise DeployError(f"The task definition has no container named {name!r}.")


def run_arguments(definition: dict[str, Any], secret_values: dict[str, str]) -> dict[str, Any]:
    """docker-py's containers.run keywords for one container definition: its environment with the secrets'
    values, each port published on a free loopback port, its health check in nanoseconds."""
    environment = {item["name"]: item["value"] for item in definition.get("environment", [])} | secret_values
    arguments: dict[str, Any] = {
        "image": definition["image"],
        "environment": environment,
        "ports": {
            f"{p['containerPort']}/{p.get('protocol', 'tcp')}": ("127.0.0.1", None)
            for p in definition.get("portMappings", [])
        },
        "detach": True,
    }
    if definition.get("command"):
        arguments["command"] = definition["command"]
    if check := definition.get("healthCheck"):
        arguments["healthcheck"] = {
            "test": check["command"],
            "interval": check.get("interval", 30) * _NANOSECONDS,
            "timeout": check.get("timeout", 5) * _NANOSECONDS,
            "retries": check.get("retries", 3),
            "start_period": check.get("startPeriod", 0) * _NANOSECONDS,
        }
    return arguments


def run_container_locally(
    docker_client: Any, definition: dict[str, Any], secrets: dict[str, str], auth: RegistryAuth
) -> Any:
    """Pull the container's image by digest from the registry and start it as its definition says, with the
    secrets' values; the caller stops the container it gets."""
    repository, _, digest = definition["image"].partition("@")
    if not digest:
        raise DeployError(f"{definition['image']} is not pinned by digest; deploy_ecs pins every image it deploys.")
    docker_client.api.pull(repository, tag=digest, auth_config=auth.auth_config)
    return docker_client.containers.run(**run_arguments(definition, secrets))
