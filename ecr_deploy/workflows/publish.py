"""publish_ecr's steps: Terraform makes the repository, then the local image goes to it. Each step decides once
(skip, import, refuse, apply; push, skip the push, refuse), and --plan prints the decisions that the run carries out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.common import LayerOutput, timed
from ecr_deploy.defaults import DEFAULT_ENVIRONMENT
from ecr_deploy.environments import Environment, StateConfig
from ecr_deploy.errors import AwsError, RegistryError, StateError
from ecr_deploy.image.engine import engine_errors, local_image
from ecr_deploy.image.registry import EcrRegistry
from ecr_deploy.names import validate_repository, validate_tag
from ecr_deploy.terraform.cli import AlreadyExistsError
from ecr_deploy.terraform.hcl import REPOSITORY_RESOURCE, check_infra
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.workflows.service import Progress
from ecr_deploy.workflows.stacks import ENVIRONMENT_TAG, PROJECT_TAG, account_pin, open_stack, owned_by, ownership_tags

#: Passed to terraform only where infra/ declares them: the course's two files declare just `nome`.
OPTIONAL_VARIABLES = frozenset({"regiao", "etiquetas", "contas_permitidas"})


@dataclass(frozen=True)
class PublishRequest:
    repository: str
    tag: str
    terraform_dir: Path
    environment: str = DEFAULT_ENVIRONMENT
    state: StateConfig = field(default_factory=StateConfig)
    project: str = "project"
    terraform_bin: str = "terraform"
    terraform_vars: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    profile: str | None = None
    account: str | None = None
    plan: bool = False
    skip_terraform: bool = False
    force_terraform: bool = False
    adopt: bool = False
    allow_destroy: bool = False
    push_attempts: int = 4
    retry_backoff_seconds: float = 2.0
    lock_timeout_seconds: float = 120.0

    def __post_init__(self) -> None:
        validate_repository(self.repository)
        validate_tag(self.tag)

    @classmethod
    def for_environment(cls, environment: Environment, **flags: Any) -> PublishRequest:
        """A request for environment; flags given as None take the environment's value."""
        chosen = {name: value for name, value in flags.items() if value is not None}
        return cls(
            **{
                "repository": environment.repository,
                "tag": environment.tag,
                "region": environment.region,
                "profile": environment.profile,
                "account": environment.account,
                **chosen,
                "environment": environment.name,
                "state": environment.state,
                "project": environment.project,
                "terraform_vars": environment.terraform_vars,
            }
        )


@dataclass
class PublishResult:
    repository_uri: str = ""
    tag: str = ""
    digest: str = ""
    reference: str = ""
    image_id: str = ""
    tags: list[str] = field(default_factory=list)
    bytes_pushed: int = 0
    layers_pushed: int = 0
    layers_existing: int = 0
    push_attempts: int = 0
    environment: str = ""
    state: str = ""
    terraform_changes: bool | None = None
    skipped: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Reporter(Progress):
    """Where a publish reports: a workflow's lines, and layer progress."""

    layer: LayerOutput


def stack_for(request: PublishRequest, session: Any) -> Stack:
    """The Terraform of request's folder with the state of its environment and repository."""
    return open_stack(
        request.terraform_dir,
        name=request.repository,
        environment=request.environment,
        state=request.state,
        session=session,
        binary=request.terraform_bin,
        profile=request.profile,
        account=request.account,
        lock_timeout_seconds=request.lock_timeout_seconds,
    )


@dataclass(frozen=True)
class RepositoryDecision:
    """What the repository step does: "existing" (--skip-terraform), "skip" (nothing changed), "apply", "import"
    (then apply), or "refuse" (the run stops with reason)."""

    action: str
    reason: str = ""
    address: str = ""
    declared: dict[str, Any] = field(default_factory=dict)

    def describe(self, repository: str) -> str:
        return {
            "existing": f"terraform: skipped (--skip-terraform); push to the existing repository {repository}",
            "skip": f"terraform: skipped, nothing changed since the last apply ({self.reason})",
            "apply": "terraform apply",
            "import": f"terraform import {repository} as {self.address} ({self.reason}), then terraform apply",
            "refuse": f"stop: {self.reason}",
        }[self.action]


@dataclass(frozen=True)
class ImageDecision:
    """What the image step does: "push", "skip" (the registry holds this image under the tag) or "refuse"."""

    action: str
    reason: str = ""
    held: str | None = None


class Publisher:
    """Runs one publish with the clients it is handed: repository by Terraform, image by the Docker engine,
    with what is done already skipped."""

    def __init__(
        self, request: PublishRequest, report: Reporter, *, session: Any, docker_client: Any, stack: Stack
    ) -> None:
        self.request = request
        self.report = report
        self.session = session
        self.stack = stack
        self.terraform = stack.terraform
        self.ecr = EcrApi(session.client("ecr"))
        self.registry = EcrRegistry(
            docker_client,
            self.ecr.authorization,
            attempts=request.push_attempts,
            backoff_seconds=request.retry_backoff_seconds,
        )
        self.docker = docker_client
        ownership = ownership_tags(request.project, request.environment)
        self.variables = {
            **request.terraform_vars,
            "nome": request.repository,
            "regiao": session.region_name,
            "etiquetas": {**request.terraform_vars.get("etiquetas", {}), **ownership},
            **account_pin(request.account),
        }
        self.result = PublishResult(tag=request.tag, environment=request.environment, state=stack.location.description)

    def run(self) -> PublishResult:
        """Publish, or with request.plan only say what a publish would do; one command at a time per Terraform folder."""
        request = self.request
        image = local_image(self.docker, f"{request.repository}:{request.tag}")
        self.result.image_id = image.id
        if request.adopt and self.ecr.repository(request.repository) is None:
            raise StateError(
                f"--adopt: the repository {request.repository} does not exist in {self.session.region_name}, so "
                "there is nothing to adopt; publish without --adopt to create it."
            )
        with self.stack.held_by("publish_ecr", self.report.heading):
            self.stack.check_target()
            if request.plan:
                self.plan(self.decide_repository(), image)
                return self.result
            with timed(self.result.timings, "terraform"):
                repository = self.ensure_repository(self.decide_repository())
            with engine_errors("publish the image"):
                self.publish_image(image, repository)
        return self.result

    def decide_repository(self, *, after_failed_apply: bool = False) -> RepositoryDecision:
        """Skip terraform when nothing it reads changed; otherwise check infra/, init, and decide whether the
        repository is applied as it is, imported first (it carries this environment's tags, or --adopt says it is
        ours), or refused (another state may own it)."""
        request = self.request
        if request.skip_terraform:
            return RepositoryDecision("existing")
        if (
            not (request.force_terraform or request.adopt or after_failed_apply)
            and self.stack.unchanged_since_last_apply(self.variables)
            and self.ecr.repository(request.repository)
        ):
            return RepositoryDecision("skip", self.result.state)
        summary = check_infra(request.terraform_dir, self.variables, optional=OPTIONAL_VARIABLES)
        self.stack.prepare(self.report.heading, self.report.line)
        address = summary.repositories[0]
        declared = {name: value for name, value in self.variables.items() if name in summary.variables}
        if address in self.stack.managed_resources():
            return RepositoryDecision("apply", address=address, declared=declared)
        repository = self.ecr.repository(request.repository)
        if repository is None:
            return RepositoryDecision("apply", address=address, declared=declared)
        tags = self.ecr.tags(repository["repositoryArn"])
        owned = owned_by(tags, request.project, request.environment)
        if owned:
            reason = "it carries this environment's tags; an interrupted apply or a lost state"
            return RepositoryDecision("import", reason, address, declared)
        if request.adopt:
            return RepositoryDecision("import", "--adopt", address, declared)
        return RepositoryDecision(
            "refuse",
            f"The repository {request.repository} exists, but the state of environment {request.environment} "
            f"({self.result.state}) does not manage it and it lacks this project's tags ({PROJECT_TAG}="
            f"{request.project}, {ENVIRONMENT_TAG}={request.environment}): another state may own it. "
            "If it is this environment's, publish once with --adopt; otherwise choose another --repository.",
        )

    def ensure_repository(self, decision: RepositoryDecision) -> dict[str, Any]:
        """Carry out the repository decision; the ECR repository that results."""
        request = self.request
        if decision.action == "refuse":
            raise StateError(decision.reason)
        if decision.action == "existing":
            self.result.skipped.append("terraform (--skip-terraform)")
            return self.existing_repository()
        if decision.action == "skip":
            self.report.heading(f"Terraform: nothing changed since the last apply ({self.result.state}); skipped.")
            self.result.skipped.append("terraform (unchanged)")
            self.result.terraform_changes = False
            return self.existing_repository()
        try:
            self.apply(decision)
        except AlreadyExistsError as err:
            # A create whose answer was lost (a late or throttled answer, retried): decide again, once.
            self.report.heading(f"Terraform: the apply found {request.repository} already there; checking whose it is.")
            decision = self.decide_repository(after_failed_apply=True)
            if decision.action == "refuse":
                raise StateError(decision.reason) from err
            self.apply(decision)
            self.result.terraform_changes = True  # the first apply made it (or the import bound it to this state)
        repository = self.existing_repository()
        self.stack.record(self.variables)
        return repository

    def apply(self, decision: RepositoryDecision) -> None:
        """Import the repository when the decision says so, then plan and apply."""
        request = self.request
        if decision.action == "import":
            self.report.heading(f"Terraform: importing {request.repository} as {decision.address} ({decision.reason}).")
            self.stack.bind()
            if not self.terraform.import_resource(
                decision.address, request.repository, decision.declared, self.report.line
            ):
                self.report.heading(f"Terraform: another run imported {request.repository} meanwhile.")
        self.result.terraform_changes = self.stack.apply(
            decision.declared,
            guarded=frozenset({REPOSITORY_RESOURCE}),
            allow_destroy=request.allow_destroy,
            what=f"-var nome={request.repository}",
            heading=self.report.heading,
            line=self.report.line,
            summary=self.report.summary,
        )

    def existing_repository(self) -> dict[str, Any]:
        repository = self.ecr.repository(self.request.repository)
        if repository is None:
            raise AwsError(
                f"The ECR repository {self.request.repository} does not exist; run publish_ecr without --skip-terraform."
            )
        return repository

    def decide_image(self, image: Any, repository: dict[str, Any]) -> ImageDecision:
        """Push unless the registry already holds this image under the tag; refuse to move an IMMUTABLE tag."""
        uri, tag = repository["repositoryUri"], self.request.tag
        with timed(self.result.timings, "registry_check"):
            held = self.registry.remote_digest(uri, tag, self.report.heading)
        if held and held in _digests_in(image, uri):
            return ImageDecision("skip", f"{uri}:{tag} already holds this image", held)
        if held and repository.get("imageTagMutability") == "IMMUTABLE":
            return ImageDecision(
                "refuse",
                f"{uri}:{tag} already points at {held} and the repository is IMMUTABLE; publish under a new --tag.",
                held,
            )
        return ImageDecision("push", f"{uri}:{tag}", held)

    def publish_image(self, image: Any, repository: dict[str, Any]) -> None:
        """Carry out the image decision; verify the digest that the registry then holds."""
        uri, tag = repository["repositoryUri"], self.request.tag
        self.result.repository_uri = uri
        image.reload()  # another publish may have pushed it meanwhile
        decision = self.decide_image(image, repository)
        if decision.action == "refuse":
            raise RegistryError(decision.reason)
        if decision.action == "skip":
            self.report.heading(f"Image: {decision.reason}; nothing pushed.")
            self.result.skipped.append("push (registry already holds the image)")
            self.finish(image, uri, decision.held or "")
            return
        with timed(self.result.timings, "login"):
            self.registry.login(self.report.heading)
        image.tag(uri, tag)
        self.report.heading(f"Image: pushing {self.request.repository}:{tag} to {uri}:{tag}")
        with timed(self.result.timings, "push"):
            pushed = self.registry.push(uri, tag, self.report.layer, self.report.heading)
        with timed(self.result.timings, "verify"):
            held = self.registry.remote_digest(uri, tag, self.report.heading)
        if held != pushed.digest:
            raise RegistryError(
                f"After the push, {uri}:{tag} holds {held or 'nothing'}, not the pushed {pushed.digest}; re-run publish_ecr."
            )
        self.result.bytes_pushed = pushed.bytes_pushed
        self.result.layers_pushed = pushed.layers_pushed
        self.result.layers_existing = pushed.layers_existing
        self.result.push_attempts = pushed.attempts
        self.finish(image, uri, pushed.digest)

    def finish(self, image: Any, uri: str, digest: str) -> None:
        """Record the result; the local image keeps the registry's name, as after `docker push`."""
        image.tag(uri, self.request.tag)
        image.reload()
        self.result.digest = digest
        self.result.reference = f"{uri}:{self.request.tag}@{digest}"
        self.result.tags = sorted(t for t in image.tags if t.startswith(f"{uri}:"))

    def plan(self, decision: RepositoryDecision, image: Any) -> None:
        """What the run would do, from the same decisions, with nothing changed: the repository step (with
        terraform's plan when it would apply) and the image step."""
        request, planned = self.request, self.result.planned
        if decision.action == "apply":
            self.report.heading(f"Terraform: plan -var nome={request.repository} ({self.result.state})")
            outcome = self.terraform.plan(
                decision.declared, self.report.line, self.report.summary, guarded=frozenset({REPOSITORY_RESOURCE})
            )
            self.terraform.discard_plan()
            self.result.terraform_changes = outcome.changes
            planned.append("terraform apply" if outcome.changes else "terraform: no changes")
            if outcome.destroyed:
                planned.append(
                    f"terraform would destroy or replace {', '.join(outcome.destroyed)}: refused without --allow-destroy"
                )
        else:
            planned.append(decision.describe(request.repository))
            if decision.action == "skip":
                self.result.terraform_changes = False
            if decision.action == "refuse":
                return
        repository = self.ecr.repository(request.repository)
        size = image.attrs.get("Size", 0)
        if repository is None:
            if decision.action == "existing":
                planned.append(f"stop: the ECR repository {request.repository} does not exist")
            else:
                planned.append(f"push {request.repository}:{request.tag} ({size} bytes) to the new repository")
            return
        uri = repository["repositoryUri"]
        self.result.repository_uri = uri
        image_decision = self.decide_image(image, repository)
        if image_decision.action == "skip":
            planned.append(f"nothing to push: {image_decision.reason}")
            self.result.digest = image_decision.held or ""
        elif image_decision.action == "refuse":
            planned.append(f"stop: {image_decision.reason}")
        else:
            planned.append(f"push {request.repository}:{request.tag} ({size} bytes) to {uri}:{request.tag}")


def _digests_in(image: Any, uri: str) -> set[str]:
    return {entry.partition("@")[2] for entry in image.attrs.get("RepoDigests", []) if entry.startswith(f"{uri}@")}
