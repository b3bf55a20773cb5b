"""Environments: each names its repository and tag, AWS target, Terraform variables and state (ECR_DEPLOY)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ecr_deploy import conf
from ecr_deploy.errors import ConfigurationError

#: The environment of a project that configures none: the course's single repository, local state.
DEFAULT_ENVIRONMENT = "default"
ENVIRONMENT_KEYS = frozenset({"REPOSITORY", "TAG", "REGION", "PROFILE", "TERRAFORM_VARS", "STATE", "ECS"})
#: ECR_DEPLOY["ECS"] keys and their defaults (see conf.DEFAULTS).
ECS_DEFAULTS: dict[str, Any] = {
    "TERRAFORM_DIR": "infra/ecs",
    "SERVICE": None,
    "CONTAINER": "app",
    "ENVIRONMENT": {},
    "SECRETS": {},
    "DOMAINS": [],
    "TERRAFORM_VARS": {},
    "TIMEOUT_SECONDS": 900,
    "MIGRATE": True,
}
STATE_KEYS = frozenset({"BACKEND", "BUCKET", "KEY_PREFIX", "REGION", "LOCK_TABLE", "USE_LOCKFILE"})
BACKENDS = ("local", "s3")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class StateConfig:
    """Where an environment's Terraform state lives; an S3 state is locked by a lock file and/or a DynamoDB table."""

    backend: str = "local"
    bucket: str = ""
    key_prefix: str = "ecr_deploy/"
    region: str | None = None
    lock_table: str | None = None
    use_lockfile: bool = True


@dataclass(frozen=True)
class EcsConfig:
    """Where and how an environment's service runs on ECS Fargate."""

    terraform_dir: str = "infra/ecs"
    service: str = ""
    container: str = "app"
    environment: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    domains: list[str] = field(default_factory=list)
    terraform_vars: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 900
    migrate: bool = True


@dataclass(frozen=True)
class Environment:
    name: str
    repository: str
    tag: str
    region: str | None
    profile: str | None
    state: StateConfig
    project: str
    terraform_vars: dict[str, Any] = field(default_factory=dict)
    ecs: EcsConfig = field(default_factory=EcsConfig)


def terraform_value_problem(value: Any) -> str | None:
    """Why value cannot be a Terraform value, or None: strings, finite numbers, booleans, null, and lists and
    maps (with string keys) of them."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, (list, tuple)):
        return next((problem for item in value if (problem := terraform_value_problem(item))), None)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return "a map's keys must be strings"
        return next((problem for item in value.values() if (problem := terraform_value_problem(item))), None)
    return f"a {type(value).__name__} is not a Terraform value (use strings, numbers, booleans, lists or dicts)"


def environment_problems(raw: dict[str, Any]) -> list[str]:
    """The problems of ENVIRONMENTS, ENVIRONMENT, STATE, ECS and every TERRAFORM_VARS, as sentences."""
    found = _vars_problems(raw.get("TERRAFORM_VARS", {}), "ECR_DEPLOY['TERRAFORM_VARS']")
    found += _state_problems({**conf.DEFAULTS["STATE"], **raw.get("STATE", {})}, "ECR_DEPLOY['STATE']")
    environments = raw.get("ENVIRONMENTS", {})
    for name, overrides in environments.items():
        where = f"ECR_DEPLOY['ENVIRONMENTS'][{name!r}]"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            found.append(f"{where}: an environment name is 1 to 32 lowercase letters, digits, - and _")
            continue
        if not isinstance(overrides, dict):
            found.append(f"{where} must be a dict, not {type(overrides).__name__}")
            continue
        found += [f"unknown key {where}[{key!r}]" for key in overrides if key not in ENVIRONMENT_KEYS]
        found += _vars_problems(overrides.get("TERRAFORM_VARS", {}), f"{where}['TERRAFORM_VARS']")
        state = overrides.get("STATE", {})
        if not isinstance(state, dict):
            found.append(f"{where}['STATE'] must be a dict")
        else:
            found += _state_problems({**conf.DEFAULTS["STATE"], **raw.get("STATE", {}), **state}, f"{where}['STATE']")
        if "ECS" in overrides:
            found += _ecs_problems(overrides["ECS"], f"{where}['ECS']")
    found += _ecs_problems(raw.get("ECS", {}), "ECR_DEPLOY['ECS']")
    chosen = raw.get("ENVIRONMENT")
    if chosen is not None and chosen not in environments and not (chosen == DEFAULT_ENVIRONMENT and not environments):
        found.append(f"ECR_DEPLOY['ENVIRONMENT'] is {chosen!r}, which ECR_DEPLOY['ENVIRONMENTS'] does not define")
    return found


def _vars_problems(variables: Any, where: str) -> list[str]:
    if not isinstance(variables, dict):
        return [f"{where} must be a dict"]
    return [
        f"{where}[{name!r}]: {problem}"
        for name, value in variables.items()
        if (problem := terraform_value_problem(value))
    ]


def _ecs_problems(ecs: Any, where: str) -> list[str]:
    if not isinstance(ecs, dict):
        return [f"{where} must be a dict"]
    found = [f"unknown key {where}[{key!r}]" for key in ecs if key not in ECS_DEFAULTS]
    for key in ("ENVIRONMENT", "SECRETS"):
        value = ecs.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            found.append(f"{where}[{key!r}] must map names to strings")
    if not isinstance(ecs.get("DOMAINS", []), list) or not all(
        isinstance(d, str) and d for d in ecs.get("DOMAINS", [])
    ):
        found.append(f"{where}['DOMAINS'] must be a list of host names")
    found += _vars_problems(ecs.get("TERRAFORM_VARS", {}), f"{where}['TERRAFORM_VARS']")
    timeout = ecs.get("TIMEOUT_SECONDS", 900)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        found.append(f"{where}['TIMEOUT_SECONDS'] must be a positive number")
    if "DJANGO_ALLOWED_HOSTS" in ecs.get("ENVIRONMENT", {}):
        found.append(f"{where}['ENVIRONMENT']: DJANGO_ALLOWED_HOSTS is set by deploy_ecs; list extra hosts in DOMAINS")
    return found


def _state_problems(state: dict[str, Any], where: str) -> list[str]:
    found = [f"unknown key {where}[{key!r}]" for key in state if key not in STATE_KEYS]
    backend = state.get("BACKEND")
    if backend not in BACKENDS:
        return [*found, f"{where}['BACKEND'] must be 'local' or 's3', not {backend!r}"]
    if backend == "s3":
        if not isinstance(state.get("BUCKET"), str) or not state["BUCKET"]:
            found.append(f"{where}: an S3 state needs a BUCKET (create it with `manage.py bootstrap_state`)")
        prefix = state.get("KEY_PREFIX", "ecr_deploy/")
        if not isinstance(prefix, str) or prefix.startswith("/") or "//" in prefix:
            found.append(f"{where}['KEY_PREFIX'] must be a string that neither starts with / nor holds //")
        if not state.get("USE_LOCKFILE", True) and not state.get("LOCK_TABLE"):
            found.append(f"{where}: an S3 state needs a lock: USE_LOCKFILE True, or a LOCK_TABLE")
    return found


def environment_names() -> list[str]:
    return sorted(conf.get("ENVIRONMENTS")) or [DEFAULT_ENVIRONMENT]


def resolve_environment(name: str | None = None) -> Environment:
    """The environment named by --env, else ECR_DEPLOY['ENVIRONMENT'], else the only one there is."""
    environments: dict[str, dict[str, Any]] = conf.get("ENVIRONMENTS")
    name = name or conf.get("ENVIRONMENT") or (next(iter(environments)) if len(environments) == 1 else None)
    if name is None and environments:
        raise ConfigurationError(
            f"Choose an environment with --env ({', '.join(sorted(environments))}), or set ECR_DEPLOY['ENVIRONMENT']."
        )
    name = name or DEFAULT_ENVIRONMENT
    if name not in environments and not (name == DEFAULT_ENVIRONMENT and not environments):
        known = ", ".join(environment_names())
        raise ConfigurationError(f"Unknown environment {name!r}: ECR_DEPLOY['ENVIRONMENTS'] defines {known}.")
    overrides = environments.get(name, {})
    ecs = {**ECS_DEFAULTS, **conf.get("ECS"), **overrides.get("ECS", {})}
    repository = overrides.get("REPOSITORY", conf.get("REPOSITORY"))
    state = {**conf.DEFAULTS["STATE"], **conf.get("STATE"), **overrides.get("STATE", {})}
    return Environment(
        name=name,
        repository=repository,
        tag=overrides.get("TAG", conf.get("TAG")),
        region=overrides.get("REGION", conf.get("REGION")),
        profile=overrides.get("PROFILE", conf.get("PROFILE")),
        terraform_vars={**conf.get("TERRAFORM_VARS"), **overrides.get("TERRAFORM_VARS", {})},
        state=StateConfig(
            backend=state["BACKEND"],
            bucket=state.get("BUCKET", ""),
            key_prefix=state.get("KEY_PREFIX", "ecr_deploy/"),
            region=state.get("REGION"),
            lock_table=state.get("LOCK_TABLE"),
            use_lockfile=state.get("USE_LOCKFILE", True),
        ),
        project=conf.get("PROJECT") or conf.project_default(),
        ecs=EcsConfig(
            terraform_dir=ecs["TERRAFORM_DIR"],
            service=ecs["SERVICE"] or repository.replace("/", "-").replace("_", "-").replace(".", "-")[:26],
            container=ecs["CONTAINER"],
            environment=dict(ecs["ENVIRONMENT"]),
            secrets=dict(ecs["SECRETS"]),
            domains=list(ecs["DOMAINS"]),
            terraform_vars=dict(ecs["TERRAFORM_VARS"]),
            timeout_seconds=ecs["TIMEOUT_SECONDS"],
            migrate=ecs["MIGRATE"],
        ),
    )
