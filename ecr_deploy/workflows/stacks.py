"""A Stack for one environment and name, wired to the AWS side: the S3 state read with boto3, and the account,
region, endpoint and profile that an apply acts on (the account checked against the environment's pin), the
variable that hands that pin to terraform's provider, and the tags that say what a project's environment owns."""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Any

from ecr_deploy.aws.session import account_id
from ecr_deploy.aws.state import S3State, bucket_region
from ecr_deploy.environments import Environment, StateConfig
from ecr_deploy.errors import WrongAccountError
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.terraform.state import slug, stack_location

PROJECT_TAG = "ecr_deploy:project"
ENVIRONMENT_TAG = "ecr_deploy:environment"


def open_stack(
    directory: Path,
    *,
    name: str,
    environment: str,
    state: StateConfig,
    session: Any,
    binary: str = "terraform",
    profile: str | None = None,
    account: str | None = None,
    lock_timeout_seconds: float = 120.0,
) -> Stack:
    """The Terraform of directory with the state of environment and name, applied through session; account, when
    given, is the only one that the session may act in."""
    region = session.region_name
    if state.backend == "s3" and not state.region:
        state = dataclasses.replace(state, region=bucket_region(session, state.bucket, region))
    location = stack_location(directory, state, environment, name, region)
    remote = None
    if location.backend == "s3":
        config = location.config
        remote = S3State(
            session, bucket=config["bucket"], key=config["key"], region=config["region"], environment=environment
        )
    data_dir = directory / ".terraform" / "ecr_deploy"
    acting = functools.cache(lambda: account_id(session, data_dir / "accounts.json"))

    def target() -> dict[str, str]:
        if account and acting() != account:
            raise WrongAccountError(
                f"Environment {environment} is pinned to AWS account {account} (ACCOUNT), but the credentials act in "
                f"account {acting()}; nothing was run. Use this environment's PROFILE or credentials, or another "
                "environment."
            )
        return {
            "account": acting(),
            "region": region,
            "endpoint": os.environ.get("AWS_ENDPOINT_URL", ""),
            "profile": profile or "",
        }

    env = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, **({"AWS_PROFILE": profile} if profile else {})}
    return Stack(
        directory,
        location,
        environment=environment,
        remote=remote,
        target=target,
        data_dir=data_dir / environment / slug(name),
        env=env,
        binary=binary,
        lock_timeout_seconds=lock_timeout_seconds,
    )


def environment_stack(
    directory: Path, name: str, environment: Environment, session: Any, binary: str, lock_timeout: float
) -> Stack:
    """open_stack of directory for one of the environment's own stacks (its state, profile and account pin)."""
    return open_stack(
        directory.resolve(),
        name=name,
        environment=environment.name,
        state=environment.state,
        session=session,
        binary=binary,
        profile=environment.profile,
        account=environment.account,
        lock_timeout_seconds=lock_timeout,
    )


def account_pin(account: str | None) -> dict[str, list[str]]:
    """The variable that pins a stack's provider to an environment's ACCOUNT (allowed_account_ids); none unpinned."""
    return {"contas_permitidas": [account]} if account else {}


def ownership_tags(project: str, environment: str) -> dict[str, str]:
    """The tags that every resource an environment's stack makes carries: what it finds with them is its own."""
    return {PROJECT_TAG: project, ENVIRONMENT_TAG: environment}


def owned_by(tags: dict[str, str], project: str, environment: str) -> bool:
    return ownership_tags(project, environment).items() <= tags.items()
