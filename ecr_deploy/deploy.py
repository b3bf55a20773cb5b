"""provision_ecs and deploy_ecs: Terraform makes the service's long-lived pieces; a deploy then resolves the
published image by digest, registers a revision, runs migrate as a one-off task, and rolls the service."""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecr_deploy.common import Output, timed
from ecr_deploy.ecr import EcrRegistry, aws_error
from ecr_deploy.ecs import EcsService, task_definition_diff, with_image
from ecr_deploy.environments import Environment
from ecr_deploy.errors import DeployError
from ecr_deploy.names import validate_digest, validate_tag
from ecr_deploy.stack import Stack

#: What provision_ecs never destroys or replaces without --allow-destroy.
SERVICE_RESOURCES = frozenset(
    {"aws_ecs_cluster", "aws_ecs_service", "aws_lb", "aws_secretsmanager_secret", "aws_cloudwatch_log_group"}
)
MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]


@dataclass
class Progress:
    """Where a provision or deploy reports: step headings, terraform's summary lines and its other lines."""

    heading: Output
    summary: Output
    line: Output


@dataclass
class ServiceResult:
    environment: str = ""
    service: str = ""
    service_url: str = ""
    image: str = ""
    task_definition: str = ""
    previous_task_definition: str = ""
    deployment_id: str = ""
    rollout_state: str = ""
    migrated: bool = False
    terraform_changes: bool | None = None
    skipped: list[str] = field(default_factory=list)
    diff: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def service_stack(environment: Environment, base_dir: Path, session: Any, binary: str, lock_timeout: float) -> Stack:
    """The service's Terraform folder with its own state per environment (name `_ecs/SERVICE`: no repository
    name can start with `_`)."""
    return Stack(
        (base_dir / environment.ecs.terraform_dir).resolve(),
        name=f"_ecs/{environment.ecs.service}",
        environment=environment.name,
        state=environment.state,
        session=session,
        binary=binary,
        profile=environment.profile,
        lock_timeout_seconds=lock_timeout,
    )


def published_image(registry: EcrRegistry, repository: str, tag: str | None, digest: str | None) -> str:
    """URI@sha256 of the image publish_ecr pushed: the tag's digest, or a digest checked to be in the registry."""
    described = registry.repository(repository)
    if described is None:
        raise DeployError(f"The ECR repository {repository} does not exist; run `python manage.py publish_ecr` first.")
    uri = described["repositoryUri"]
    if digest:
        if registry.remote_digest(uri, validate_digest(digest)) is None:
            raise DeployError(f"{uri}@{digest} is not in the registry; publish it, or pick a digest that is.")
        return f"{uri}@{digest}"
    held = registry.remote_digest(uri, validate_tag(tag or ""))
    if held is None:
        raise DeployError(
            f"No published image {uri}:{tag}; run `python manage.py publish_ecr --repository {repository} --tag {tag}`."
        )
    return f"{uri}@{held}"


class ServiceProvisioner:
    """Applies the service's Terraform for one environment, skipped when nothing it reads changed, then makes
    sure DJANGO_SECRET_KEY holds a value (put once, outside the Terraform state)."""

    def __init__(
        self,
        environment: Environment,
        stack: Stack,
        session: Any,
        registry: EcrRegistry,
        progress: Progress,
        *,
        tag: str,
        plan: bool = False,
        force_terraform: bool = False,
        allow_destroy: bool = False,
    ) -> None:
        self.environment = environment
        self.stack = stack
        self.session = session
        self.registry = registry
        self.progress = progress
        self.tag = tag
        self.plan = plan
        self.force_terraform = force_terraform
        self.allow_destroy = allow_destroy

    def variables(self, image: str) -> dict[str, Any]:
        ecs = self.environment.ecs
        ownership = {"ecr_deploy:project": self.environment.project, "ecr_deploy:environment": self.environment.name}
        return {
            **ecs.terraform_vars,
            "nome": ecs.service,
            "regiao": self.session.region_name,
            "imagem": image,
            "container": ecs.container,
            "etiquetas": {**ecs.terraform_vars.get("etiquetas", {}), **ownership},
        }

    def run(self) -> ServiceResult:
        environment, stack, progress = self.environment, self.stack, self.progress
        result = ServiceResult(environment=environment.name, service=environment.ecs.service)
        image = published_image(self.registry, environment.repository, self.tag, None)
        variables = self.variables(image)
        with timed(result.timings, "terraform"):
            if not (self.plan or self.force_terraform) and stack.unchanged_since_last_apply(variables):
                progress.heading(
                    f"Terraform: nothing changed since the last apply ({stack.location.description}); skipped."
                )
                result.skipped.append("terraform (unchanged)")
                result.terraform_changes = False
                outputs = stack.recorded_outputs()
            else:
                stack.prepare(progress.heading, progress.line)
                if self.plan:
                    planned = stack.terraform.plan(
                        variables, progress.line, progress.summary, guarded=SERVICE_RESOURCES
                    )
                    stack.terraform.discard_plan()
                    result.terraform_changes = planned.changes
                    return result
                result.terraform_changes = stack.plan_and_apply(
                    variables,
                    guarded=SERVICE_RESOURCES,
                    allow_destroy=self.allow_destroy,
                    what=f"the service {environment.ecs.service}",
                    heading=progress.heading,
                    line=progress.line,
                    summary=progress.summary,
                )
                outputs = stack.record(variables)
        self.ensure_secret_key(outputs["secret_key_arn"])
        result.service_url = f"http://{outputs['alb_dns']}/"
        result.image = image
        return result

    def ensure_secret_key(self, arn: str) -> None:
        """A random DJANGO_SECRET_KEY in its secret, put once; the value never reaches the state or any output."""
        import botocore.exceptions

        client = self.session.client("secretsmanager")
        try:
            client.get_secret_value(SecretId=arn)
            return
        except botocore.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise aws_error(err, "read DJANGO_SECRET_KEY's secret") from err
        except botocore.exceptions.BotoCoreError as err:
            raise aws_error(err, "read DJANGO_SECRET_KEY's secret") from err
        try:
            client.put_secret_value(SecretId=arn, SecretString=random_secrets.token_urlsafe(50))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
            raise aws_error(err, "put DJANGO_SECRET_KEY") from err
        self.progress.heading("Secrets Manager: DJANGO_SECRET_KEY set to a random value (not shown, not in the state).")


def service_outputs(stack: Stack, progress: Progress) -> dict[str, Any]:
    """The applied service's outputs; an environment whose service was never provisioned is refused."""
    stack.prepare(progress.heading, progress.line)
    outputs = stack.terraform.outputs()
    if "servico" not in outputs:
        raise DeployError(
            f"The service infrastructure of environment {stack.environment} was never applied "
            f"({stack.location.description} has no service); run `python manage.py provision_ecs --env "
            f"{stack.environment}` first."
        )
    return outputs


@dataclass(frozen=True)
class DeployOptions:
    tag: str | None = None
    digest: str | None = None
    plan: bool = False
    migrate: bool = True
    rollback: bool = False
    timeout_seconds: float = 900


class Deployer:
    """One deploy of the published image to the environment's service, each step with one outside effect."""

    def __init__(
        self,
        environment: Environment,
        outputs: dict[str, Any],
        service: EcsService,
        registry: EcrRegistry,
        progress: Progress,
        options: DeployOptions,
    ) -> None:
        self.environment = environment
        self.outputs = outputs
        self.service = service
        self.registry = registry
        self.progress = progress
        self.options = options
        self.result = ServiceResult(
            environment=environment.name,
            service=outputs["servico"],
            service_url=f"http://{outputs['alb_dns']}/",
        )

    def run(self) -> ServiceResult:
        if self.options.rollback:
            return self.roll_back()
        options, result, heading = self.options, self.result, self.progress.heading
        with timed(result.timings, "resolve"):
            image = published_image(
                self.registry, self.environment.repository, options.tag or self.environment.tag, options.digest
            )
            result.image = image
            live = self.service.describe()
            current = self.service.task_definition(live["taskDefinition"])
            result.previous_task_definition = live["taskDefinition"]
            desired = with_image(
                current, self.environment.ecs.container, image, self.environment_values(), self.environment.ecs.secrets
            )
            result.diff = task_definition_diff(current, desired)
        if not result.diff and len(live.get("deployments", [])) <= 1:  # runs it, and no other deployment is under way
            heading(f"Service {result.service} already runs {image} ({live['taskDefinition']}); nothing to deploy.")
            result.skipped.append("deploy (already running)")
            result.task_definition = live["taskDefinition"]
            return result
        if options.plan:
            heading(f"Plan: register a new revision of {current['family']} and roll {result.service} onto it.")
            return result
        with timed(result.timings, "register"):
            result.task_definition = self.service.register(desired)
            heading(f"Task definition: registered {result.task_definition}")
        try:
            with timed(result.timings, "migrate"):
                self.migrate(live)
        except DeployError:
            self.service.deregister(result.task_definition)
            raise
        self.roll_to(result.task_definition)
        return result

    def environment_values(self) -> dict[str, str]:
        hosts = [self.outputs["alb_dns"], *self.environment.ecs.domains]
        return {**self.environment.ecs.environment, "DJANGO_ALLOWED_HOSTS": ",".join(hosts)}

    def migrate(self, live: dict[str, Any]) -> None:
        """migrate --noinput as a one-off task of the new revision; skipped for the image's own SQLite."""
        if not self.options.migrate:
            self.result.skipped.append("migrate (--no-migrate)")
            return
        if not self.outputs.get("usa_banco_externo") and "DATABASE_URL" not in self.environment.ecs.secrets:
            self.result.skipped.append("migrate (the image's SQLite: each task migrates its own)")
            return
        self.progress.heading(f"Migrate: `{' '.join(MIGRATE_COMMAND)}` as a one-off task")
        outcome = self.service.run_one_off(
            self.result.task_definition,
            self.environment.ecs.container,
            MIGRATE_COMMAND,
            {"awsvpcConfiguration": live["networkConfiguration"]["awsvpcConfiguration"]},
            self.options.timeout_seconds,
            self.outputs["grupo_logs"],
            self.progress.heading,
        )
        if not outcome.succeeded:
            tail = "\n".join(outcome.log_tail[-20:]) or "(no log lines)"
            raise DeployError(
                f"The migrate task {outcome.task_arn} failed (exit code {outcome.exit_code}, stop code "
                f"{outcome.stop_code or 'none'}: {outcome.stopped_reason or 'no reason given'}); the service was "
                f"not updated and the new revision was deregistered. The end of its log:\n{tail}"
            )
        self.result.migrated = True

    def roll_to(self, task_definition: str) -> None:
        with timed(self.result.timings, "rollout"):
            deployment_id = self.service.update(task_definition)
            self.result.deployment_id = deployment_id
            self.progress.heading(f"Service {self.result.service}: deployment {deployment_id} started")
            deployment = self.service.wait_for_rollout(
                deployment_id, self.options.timeout_seconds, self.progress.heading
            )
            self.result.rollout_state = deployment["rolloutState"]
            running = self.service.describe()["taskDefinition"]
            if running != task_definition:
                raise DeployError(
                    f"The rollout completed, but {self.result.service} now runs {running}: another deploy?"
                )

    def roll_back(self) -> ServiceResult:
        """Redeploy the revision before the running one, with the same waits."""
        live = self.service.describe()
        current = self.service.task_definition(live["taskDefinition"])
        previous = self.service.previous_revision(current["family"], live["taskDefinition"])
        if previous is None:
            raise DeployError(
                f"{self.result.service} runs {live['taskDefinition']}, and {current['family']} has no earlier "
                "active revision to roll back to."
            )
        self.result.previous_task_definition = live["taskDefinition"]
        self.result.task_definition = previous
        containers = self.service.task_definition(previous)["containerDefinitions"]
        self.result.image = next((c["image"] for c in containers if c["name"] == self.environment.ecs.container), "")
        if self.options.plan:
            self.progress.heading(f"Plan: roll {self.result.service} back to {previous}.")
            return self.result
        self.progress.heading(f"Rollback: {self.result.service} from {live['taskDefinition']} to {previous}")
        self.roll_to(previous)
        return self.result
