"""A task definition's container run on the local Docker engine as Fargate would run it: the image by digest with
ECR's credentials, the secrets' values read from their ARNs (only those its execution role may read, as the ECS agent
reads them), its log sent to the session's CloudWatch Logs, and what Fargate gives a task: its region, its task role's
credentials and, on a local stand-in for AWS, that endpoint. It checks the runtime contract where moto runs nothing."""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.aws.iam import secrets_refused
from ecr_deploy.aws.secrets import secret_values
from ecr_deploy.aws.session import aws_call
from ecr_deploy.errors import DeployError
from ecr_deploy.image.local_task import container_definition, run_container_locally


def run_task_definition_locally(
    docker_client: Any,
    session: Any,
    task_definition: dict[str, Any],
    name: str,
    *,
    command: list[str] | None = None,
    environment: dict[str, str] | None = None,
) -> Any:
    """Start the container named name, with a command and extra values as a run_task's containerOverrides would
    give them; the caller stops the container it gets."""
    definition = container_definition(task_definition, name)
    if command:
        definition = {**definition, "command": command}
    values = secrets_as_the_execution_role(session, task_definition, definition)
    given = {**as_fargate_gives(docker_client, session, task_definition), **(environment or {})}
    extra = [{"name": key, "value": value} for key, value in given.items()]
    definition = {**definition, "environment": [*definition.get("environment", []), *extra]}
    auth = EcrApi(session.client("ecr")).authorization()
    logs_endpoint = session.client("logs").meta.endpoint_url
    return run_container_locally(docker_client, definition, values, auth, logs_endpoint)


def as_fargate_gives(docker_client: Any, session: Any, task_definition: dict[str, Any]) -> dict[str, str]:
    """What Fargate gives every task besides its definition: its region, and its task role's credentials (here as
    the role's temporary keys, read through STS). On a local stand-in for AWS (AWS_ENDPOINT_URL on the loopback),
    that endpoint as the container reaches it, on the engine's bridge gateway: never written into a definition."""
    values = {"AWS_REGION": session.region_name, "AWS_DEFAULT_REGION": session.region_name}
    if role := task_definition.get("taskRoleArn"):
        answer = aws_call(
            f"assume the task role {role}",
            session.client("sts").assume_role,
            RoleArn=role,
            RoleSessionName="ecr-deploy-local-task",
        )
        keys = answer["Credentials"]
        values |= {
            "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
            "AWS_SESSION_TOKEN": keys["SessionToken"],
        }
    endpoint = urllib.parse.urlsplit(os.environ.get("AWS_ENDPOINT_URL", ""))
    if endpoint.hostname in ("127.0.0.1", "localhost"):
        gateway = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]["Gateway"]
        values["AWS_ENDPOINT_URL"] = endpoint._replace(netloc=f"{gateway}:{endpoint.port}").geturl()
    return values


def secrets_as_the_execution_role(session: Any, task_definition: dict[str, Any], definition: dict[str, Any]) -> dict:
    """The container's secrets, read only when the revision's execution role may read each (IAM's evaluation of its
    policies): a task that names one it may not read never starts on Fargate."""
    refused = secrets_refused(session.client("iam"), task_definition, definition)
    if refused:
        raise DeployError(
            f"ResourceInitializationError: the execution role {task_definition['executionRoleArn']} may not read the "
            f"task's secrets: {refused}. "
            "ECS stops such a task before it starts; run provision_ecs, which grants the role the secrets of "
            "ECR_DEPLOY['ECS']['SECRETS'] and DATABASE."
        )
    return secret_values(session, definition)


def run_one_off_locally(
    docker_client: Any,
    session: Any,
    task_definition: dict[str, Any],
    name: str,
    command: list[str],
    *,
    environment: dict[str, str] | None = None,
    timeout_seconds: float = 300,
) -> tuple[int, str]:
    """command as a one-off task of the revision, run locally to its end: its exit code and its log."""
    container = run_task_definition_locally(
        docker_client, session, task_definition, name, command=command, environment=environment
    )
    try:
        exit_code = container.wait(timeout=timeout_seconds)["StatusCode"]
        return exit_code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
