"""Environments: each names its repository and tag, AWS target (region, profile, pinned account), Terraform
variables and state, resolved from the settings object (their defaults and validation are in ecr_deploy.defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ecr_deploy import conf
from ecr_deploy.defaults import (
    DEFAULT_ENVIRONMENT,
    ECS_DEFAULTS,
    PROCESS_DEFAULTS,
    SCHEDULE_DEFAULTS,
    STATE_DEFAULTS,
    STORAGE_DEFAULTS,
)
from ecr_deploy.errors import ConfigurationError
from ecr_deploy.names import derived_service_name, service_name_problem


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
class StorageConfig:
    """The service's S3 bucket: what goes in it, and the variable that names it to the tasks."""

    media: bool = True
    static: bool = False
    bucket_variable: str = "AWS_STORAGE_BUCKET_NAME"


@dataclass(frozen=True)
class ProcessConfig:
    """One of the service's other processes: its command, task size and task counts."""

    name: str
    command: list[str]
    cpu: int = 256
    memory: int = 512
    min: int = 1
    max: int = 1
    health_check: list[str] = field(default_factory=list)
    #: One of QUEUES: the process scales on its visible messages per task instead of its CPU.
    queue: str | None = None
    messages_per_task: int = 10


@dataclass(frozen=True)
class ScheduleConfig:
    """A scheduled job: a one-off task of the deployed revision that EventBridge Scheduler runs."""

    name: str
    schedule: str
    command: list[str]
    timezone: str = "UTC"


@dataclass(frozen=True)
class EcsConfig:
    """Where and how an environment's service runs on ECS Fargate."""

    terraform_dir: str = "infra/ecs"
    service: str = ""
    container: str = "app"
    environment: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    domains: list[str] = field(default_factory=list)
    hosted_zone: str = ""
    certificate_arn: str = ""
    hsts_seconds: int = 31_536_000
    terraform_vars: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 900
    migrate: bool = True
    #: "rds", "none", or the ARN of your own database's DATABASE_URL secret.
    database: str = "rds"
    bake_seconds: float = 180
    alarms: list[str] = field(default_factory=list)
    #: Django setting -> the variable the project's settings read it from (when not deploy_ecs's own name).
    variables: dict[str, str] = field(default_factory=dict)
    #: "parts", "url" or "postgres": how the RDS database reaches the tasks.
    database_variables: str = "parts"
    #: The S3 bucket for the service's files; None: none.
    storage: StorageConfig | None = None
    #: The service's other processes, by name.
    processes: dict[str, ProcessConfig] = field(default_factory=dict)
    #: SQS queues of the service, by their short names.
    queues: list[str] = field(default_factory=list)
    #: Scheduled jobs, by name.
    schedules: dict[str, ScheduleConfig] = field(default_factory=dict)

    @property
    def database_secret_arn(self) -> str:
        return "" if self.database in ("rds", "none") else self.database

    @property
    def read_secrets(self) -> list[str]:
        """What the tasks read their secrets from, besides the service's own: SECRETS and your database's."""
        return [*self.secrets.values(), *([self.database_secret_arn] if self.database_secret_arn else [])]


@dataclass(frozen=True)
class Environment:
    name: str
    repository: str
    tag: str
    region: str | None
    profile: str | None
    account: str | None
    state: StateConfig
    project: str
    terraform_vars: dict[str, Any] = field(default_factory=dict)
    ecs: EcsConfig = field(default_factory=EcsConfig)


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
    state = {**STATE_DEFAULTS, **conf.get("STATE"), **overrides.get("STATE", {})}
    return Environment(
        name=name,
        repository=repository,
        tag=overrides.get("TAG", conf.get("TAG")),
        region=overrides.get("REGION", conf.get("REGION")),
        profile=overrides.get("PROFILE", conf.get("PROFILE")),
        account=overrides.get("ACCOUNT", conf.get("ACCOUNT")),
        terraform_vars={**conf.get("TERRAFORM_VARS"), **overrides.get("TERRAFORM_VARS", {})},
        state=StateConfig(
            backend=state["BACKEND"],
            bucket=state["BUCKET"],
            key_prefix=state["KEY_PREFIX"],
            region=state["REGION"],
            lock_table=state["LOCK_TABLE"],
            use_lockfile=state["USE_LOCKFILE"],
        ),
        project=conf.get("PROJECT") or conf.project_default(),
        ecs=EcsConfig(
            terraform_dir=ecs["TERRAFORM_DIR"],
            service=ecs["SERVICE"] or derived_service_name(repository),
            container=ecs["CONTAINER"],
            environment=dict(ecs["ENVIRONMENT"]),
            secrets=dict(ecs["SECRETS"]),
            domains=list(ecs["DOMAINS"]),
            hosted_zone=ecs["HOSTED_ZONE"] or "",
            certificate_arn=ecs["CERTIFICATE_ARN"] or "",
            hsts_seconds=ecs["HSTS_SECONDS"],
            terraform_vars=dict(ecs["TERRAFORM_VARS"]),
            timeout_seconds=ecs["TIMEOUT_SECONDS"],
            migrate=ecs["MIGRATE"],
            database=ecs["DATABASE"]["SECRET_ARN"] if isinstance(ecs["DATABASE"], dict) else ecs["DATABASE"],
            bake_seconds=ecs["BAKE_SECONDS"],
            alarms=list(ecs["ALARMS"]),
            variables=dict(ecs["VARIABLES"]),
            database_variables=ecs["DATABASE_VARIABLES"],
            storage=storage_config(ecs["STORAGE"]),
            processes={
                name: ProcessConfig(name=name, **{**PROCESS_DEFAULTS, **process})
                for name, process in ecs["PROCESSES"].items()
            },
            queues=list(ecs["QUEUES"]),
            schedules={
                name: ScheduleConfig(name=name, **{**SCHEDULE_DEFAULTS, **job})
                for name, job in ecs["SCHEDULES"].items()
            },
        ),
    )


def storage_config(storage: dict[str, Any] | None) -> StorageConfig | None:
    if storage is None:
        return None
    merged = {**STORAGE_DEFAULTS, **storage}
    return StorageConfig(media=merged["MEDIA"], static=merged["STATIC"], bucket_variable=merged["BUCKET_VARIABLE"])


def check_service_name(environment: Environment) -> None:
    """Refuse a service name that AWS would refuse for one of the resources it names, before anything is made."""
    ecs = environment.ecs
    problem = service_name_problem(ecs.service, rds=ecs.database == "rds")
    if problem:
        derived = ecs.service == derived_service_name(environment.repository)
        origin = (
            f"derived from the repository {environment.repository!r}" if derived else "ECR_DEPLOY['ECS']['SERVICE']"
        )
        raise ConfigurationError(
            f"Environment {environment.name!r}: {problem} ({origin}). Set ECR_DEPLOY['ECS']['SERVICE'] (or the "
            "environment's ['ECS']['SERVICE']) to a name that AWS accepts. Nothing was changed."
        )
