"""Run a task definition's container on the local Docker engine as Fargate would (image by digest, environment,
secrets resolved from their ARNs, port, health check): the runtime contract, checked where moto runs nothing."""

from __future__ import annotations

from typing import Any

from ecr_deploy.ecr import EcrRegistry, aws_call
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


def secret_values(session: Any, definition: dict[str, Any]) -> dict[str, str]:
    """Each secret's value, read from Secrets Manager or SSM Parameter Store by its ARN, as the agent does."""
    values = {}
    for secret in definition.get("secrets", []):
        arn, action = secret["valueFrom"], f"read the secret {secret['name']} ({secret['valueFrom']})"
        if ":ssm:" in arn:
            parameter = aws_call(
                action, session.client("ssm").get_parameter, Name=arn.split(":parameter", 1)[1], WithDecryption=True
            )
            values[secret["name"]] = parameter["Parameter"]["Value"]
        else:
            found = aws_call(action, session.client("secretsmanager").get_secret_value, SecretId=arn)
            values[secret["name"]] = found["SecretString"]
    return values


def run_task_definition_locally(docker_client: Any, session: Any, task_definition: dict[str, Any], name: str) -> Any:
    """Pull the container's image by digest from the registry and start it as the task definition says; the
    caller stops the container it gets."""
    definition = container_definition(task_definition, name)
    repository, _, digest = definition["image"].partition("@")
    if not digest:
        raise DeployError(f"{definition['image']} is not pinned by digest; deploy_ecs pins every image it deploys.")
    auth = EcrRegistry(session.client("ecr"), docker_client).authorization()
    docker_client.api.pull(repository, tag=digest, auth_config=auth.auth_config)
    return docker_client.containers.run(**run_arguments(definition, secret_values(session, definition)))
