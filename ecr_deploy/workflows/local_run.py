"""A task definition's container run on the local Docker engine as Fargate would run it: the image by digest with
ECR's credentials, the secrets' values read from their ARNs. It checks the runtime contract where moto runs nothing."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.aws.secrets import secret_values
from ecr_deploy.image.local_task import container_definition, run_container_locally


def run_task_definition_locally(docker_client: Any, session: Any, task_definition: dict[str, Any], name: str) -> Any:
    """Start the container named name; the caller stops the container it gets."""
    definition = container_definition(task_definition, name)
    auth = EcrApi(session.client("ecr")).authorization()
    return run_container_locally(docker_client, definition, secret_values(session, definition), auth)
