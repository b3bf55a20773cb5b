"""Run a task definition's container on the local Docker engine as Fargate would (image by digest, environment with
the secrets' values, port, health check, its log shipped to CloudWatch Logs by the awslogs driver): the runtime
contract, checked where moto runs nothing."""

from __future__ import annotations

import uuid
from typing import Any

from ecr_deploy.common import RegistryAuth
from ecr_deploy.errors import DeployError

_NANOSECONDS = 1_000_000_000
#: The label that holds a locally run task's id: the last part of its log stream's name, as on Fargate.
TASK_LABEL = "ecr_deploy.task_id"


def container_definition(task_definition: dict[str, Any], name: str) -> dict[str, Any]:
    for definition in task_definition["containerDefinitions"]:
        if definition["name"] == name:
            return definition
    raise DeployError(f"The task definition has no container named {name!r}.")


def log_config(definition: dict[str, Any], task_id: str, logs_endpoint: str) -> dict[str, Any] | None:
    """The awslogs driver's options as Fargate sets them (the group and region of the definition, the stream
    PREFIX/CONTAINER/TASK_ID), sent to logs_endpoint; None for a container that does not log to CloudWatch. The
    engine sends with its own credentials: dockerd's environment (scripts/local-aws sets them)."""
    configuration = definition.get("logConfiguration") or {}
    if configuration.get("logDriver") != "awslogs":
        return None
    options = configuration.get("options", {})
    config = {
        "awslogs-group": options["awslogs-group"],
        "awslogs-region": options["awslogs-region"],
        "awslogs-endpoint": logs_endpoint,
    }
    if prefix := options.get("awslogs-stream-prefix"):
        config["awslogs-stream"] = f"{prefix}/{definition['name']}/{task_id}"
    return {"type": "awslogs", "config": config}


def run_arguments(
    definition: dict[str, Any], secret_values: dict[str, str], task_id: str = "", logs_endpoint: str = ""
) -> dict[str, Any]:
    """docker-py's containers.run keywords for one container definition: its environment with the secrets'
    values, each port published on a free loopback port, its health check in nanoseconds, and its log sent to
    CloudWatch Logs at logs_endpoint as task task_id's when its definition says awslogs."""
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
    if logs_endpoint and (logging := log_config(definition, task_id, logs_endpoint)):
        arguments["log_config"] = logging
        arguments["labels"] = {TASK_LABEL: task_id}
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
    docker_client: Any,
    definition: dict[str, Any],
    secrets: dict[str, str],
    auth: RegistryAuth,
    logs_endpoint: str = "",
) -> Any:
    """Pull the container's image by digest from the registry and start it as its definition says, with the
    secrets' values, as a task with a new id; the caller stops the container it gets."""
    repository, _, digest = definition["image"].partition("@")
    if not digest:
        raise DeployError(f"{definition['image']} is not pinned by digest; deploy_ecs pins every image it deploys.")
    docker_client.api.pull(repository, tag=digest, auth_config=auth.auth_config)
    return docker_client.containers.run(**run_arguments(definition, secrets, uuid.uuid4().hex, logs_endpoint))
