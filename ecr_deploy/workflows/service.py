"""What provision_ecs and deploy_ecs share: where they report, their result, the service's stack, the published
image resolved by digest from the ECR API, and the applied service's outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.common import Output
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError, DeployError
from ecr_deploy.names import validate_digest, validate_tag
from ecr_deploy.terraform.hcl import read_infra
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.workflows.stacks import environment_stack


@dataclass
class Progress:
    """Where a workflow reports: step headings, terraform's summary lines (plan totals, destroys) and its other
    lines."""

    heading: Output
    summary: Output
    line: Output


#: What provision_ecs and deploy_ecs say of a service that the load balancer serves on plain HTTP only.
PLAIN_HTTP_WARNING = (
    "Warning: no HTTPS (ECR_DEPLOY['ECS']: DOMAINS with HOSTED_ZONE or CERTIFICATE_ARN): logins, session cookies "
    "and writes travel unencrypted."
)


def serves_https(outputs: dict[str, Any]) -> bool:
    """The load balancer serves the domains over HTTPS (a state applied before HTTPS existed has no such output)."""
    return bool(outputs.get("https"))


def service_url(outputs: dict[str, Any]) -> str:
    """https://FIRST-DOMAIN/ behind HTTPS, else the load balancer's own http:// name."""
    return outputs.get("url") or f"http://{outputs['alb_dns']}/"


@dataclass
class ServiceResult:
    environment: str = ""
    service: str = ""
    service_url: str = ""
    https: bool = False
    image: str = ""
    task_definition: str = ""
    previous_task_definition: str = ""
    deployment_id: str = ""
    rollout_state: str = ""
    migrated: bool = False
    #: What the migrate task said it applied that cannot run backwards: a failed bake then does not roll back.
    irreversible_migrations: list[str] = field(default_factory=list)
    #: The fixtures' one-off task ran (it loads them only into a database that never had them).
    fixtures_checked: bool = False
    #: collectstatic ran as a one-off task of the release (STORAGE's STATIC: the files live in the bucket).
    static_collected: bool = False
    #: The release's other processes, by name: the revision each runs now and the one it ran.
    processes: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The revision each scheduled job's schedule runs now, by job.
    schedules: dict[str, str] = field(default_factory=dict)
    #: config_ecs's changes that this deploy brings (--plan).
    configuration_pending: list[str] = field(default_factory=list)
    #: The bake after the rollout: its seconds and verdict (passed, skipped, rolled back), and why.
    bake: dict[str, Any] = field(default_factory=dict)
    terraform_changes: bool | None = None
    #: The marks deploy_ecs put on the running and the previous image, by tag: their digests.
    marks: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    diff: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def service_stack(environment: Environment, base_dir: Path, session: Any, binary: str, lock_timeout: float) -> Stack:
    """The service's Terraform folder with its own state per environment (name `_ecs/SERVICE`: no repository
    name can start with `_`)."""
    directory = base_dir / environment.ecs.terraform_dir
    return environment_stack(directory, f"_ecs/{environment.ecs.service}", environment, session, binary, lock_timeout)


def published_image(ecr: EcrApi, repository: str, tag: str | None, digest: str | None) -> str:
    """URI@sha256 of the image publish_ecr pushed, read from the ECR API: the tag's digest, or a digest checked to be
    in the repository."""
    described = ecr.repository(repository)
    if described is None:
        raise DeployError(f"The ECR repository {repository} does not exist; run `python manage.py publish_ecr` first.")
    uri = described["repositoryUri"]
    if digest:
        if ecr.image_digest(repository, validate_digest(digest)) is None:
            raise DeployError(f"{uri}@{digest} is not in the registry; publish it, or pick a digest that is.")
        return f"{uri}@{digest}"
    held = ecr.image_digest(repository, validate_tag(tag or ""))
    if held is None:
        raise DeployError(
            f"No published image {uri}:{tag}; run `python manage.py publish_ecr --repository {repository} --tag {tag}`."
        )
    return f"{uri}@{held}"


def service_outputs(stack: Stack, progress: Progress) -> dict[str, Any]:
    """The applied service's outputs (from the last apply's record while the state is unchanged); an environment
    whose service was never provisioned is refused."""
    with stack.held_by("deploy_ecs", progress.heading):
        outputs = stack.outputs(progress.heading, progress.line)
    if "servico" not in outputs:
        raise DeployError(
            f"The service infrastructure of environment {stack.environment} was never applied "
            f"({stack.location.description} has no service); run `python manage.py provision_ecs --env "
            f"{stack.environment}` first."
        )
    return outputs


def check_process(environment: Environment, process: str | None) -> None:
    """--process NAME names the web or a process of the settings' PROCESSES; refused before anything is asked of AWS."""
    if process not in (None, "", "web") and process not in environment.ecs.processes:
        known = ", ".join(["web", *environment.ecs.processes])
        raise ConfigurationError(
            f"--process {process}: the service has no such process (it has {known}); PROCESSES in ECR_DEPLOY['ECS'] "
            "names them."
        )


def process_service(outputs: dict[str, Any], process: str | None) -> str:
    """The ECS service of --process NAME (None or "web": the web's)."""
    if process in (None, "", "web"):
        return outputs["servico"]
    made = outputs.get("processos") or {}
    if process not in made:
        raise DeployError(
            f"--process {process}: its service was never made; run `python manage.py provision_ecs`, which makes "
            "the services of PROCESSES."
        )
    return made[process]["servico"]


def planned_variable(environment: Environment, stack: Stack, name: str, fallback: Any = None) -> Any:
    """A variable of the service's Terraform as the next provision_ecs applies it: the environment's TERRAFORM_VARS,
    else its default in the .tf files, else fallback."""
    if name in environment.ecs.terraform_vars:
        return environment.ecs.terraform_vars[name]
    declared = read_infra(stack.directory).variables
    return declared[name].default if name in declared else fallback


def uses_image_sqlite(environment: Environment, outputs: dict[str, Any]) -> bool:
    """No database outside the image (no RDS, no DATABASE_URL of your own): each task keeps its own SQLite."""
    return not (outputs.get("banco") or outputs.get("usa_banco_externo") or "DATABASE_URL" in environment.ecs.secrets)
