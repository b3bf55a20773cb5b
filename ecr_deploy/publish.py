"""publish_ecr's steps: Terraform makes the repository, then the local image goes to it, each skipped when already done."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecr_deploy.common import LayerOutput, Output, timed
from ecr_deploy.docker_engine import engine_errors, local_image
from ecr_deploy.ecr import EcrRegistry
from ecr_deploy.environments import DEFAULT_ENVIRONMENT, Environment, StateConfig
from ecr_deploy.errors import AwsError, LockError, RegistryError, StateError
from ecr_deploy.names import validate_repository, validate_tag
from ecr_deploy.stack import Stack
from ecr_deploy.terraform import REPOSITORY_RESOURCE, check_infra

#: Passed to terraform only where infra/ declares them: the course's two files declare just `nome`.
OPTIONAL_VARIABLES = frozenset({"regiao", "etiquetas"})
#: The tags that mark a repository as this project's, for this environment (set by infra/ on create).
PROJECT_TAG = "ecr_deploy:project"
ENVIRONMENT_TAG = "ecr_deploy:environment"


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
class Reporter:
    """Where a publish reports: step headings, terraform's summary lines (plan totals, destroys), every other
    line of terraform's, and layer progress."""

    heading: Output
    summary: Output
    line: Output
    layer: LayerOutput


@contextmanager
def project_lock(directory: Path, timeout_seconds: float, heading: Output) -> Iterator[None]:
    """One publish at a time per Terraform folder: the second waits, then stops with a clear message."""
    lock_dir = directory / ".terraform"
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / "ecr_deploy.lock"
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout_seconds
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"Another publish_ecr holds {path} and did not finish within {timeout_seconds:g}s; "
                        "wait for it, or raise ECR_DEPLOY['LOCK_TIMEOUT_SECONDS']."
                    ) from None  # the BlockingIOError says nothing more
                if not waited:
                    heading(f"Waiting for another publish_ecr of this project (lock {path})...")
                    waited = True
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stack_for(request: PublishRequest, session: Any) -> Stack:
    """The Terraform of request's folder with the state of its environment and repository."""
    return Stack(
        request.terraform_dir,
        name=request.repository,
        environment=request.environment,
        state=request.state,
        session=session,
        binary=request.terraform_bin,
        profile=request.profile,
        lock_timeout_seconds=request.lock_timeout_seconds,
    )


class Publisher:
    """Runs one publish with the clients it is handed: repository by Terraform, image by the Docker engine,
    with what is done already skipped."""

    def __init__(
        self, request: PublishRequest, report: Reporter, *, session: Any, docker_client: Any, stack: Stack
    ) -> None:
        self.request = request
        self.report = report
        self.session = session
        self.docker = docker_client
        self.stack = stack
        self.terraform = stack.terraform
        self.registry = EcrRegistry(
            session.client("ecr"),
            docker_client,
            attempts=request.push_attempts,
            backoff_seconds=request.retry_backoff_seconds,
        )
        ownership = {PROJECT_TAG: request.project, ENVIRONMENT_TAG: request.environment}
        self.variables = {
            **request.terraform_vars,
            "nome": request.repository,
            "regiao": session.region_name,
            "etiquetas": {**request.terraform_vars.get("etiquetas", {}), **ownership},
        }
        self.result = PublishResult(tag=request.tag, environment=request.environment, state=stack.location.description)

    def run(self) -> PublishResult:
        """Publish, or with request.plan only say what a publish would do; one at a time per Terraform folder."""
        request = self.request
        image = local_image(self.docker, f"{request.repository}:{request.tag}")
        self.result.image_id = image.id
        if request.adopt and self.registry.repository(request.repository) is None:
            raise StateError(
                f"--adopt: the repository {request.repository} does not exist in {self.session.region_name}, so "
                "there is nothing to adopt; publish without --adopt to create it."
            )
        with project_lock(request.terraform_dir, request.lock_timeout_seconds, self.report.heading):
            if request.plan:
                self.plan(image)
                return self.result
            repository = self.ensure_repository()
            with engine_errors("publish the image"):
                self.publish_image(image, repository)
        return self.result

    def prepared_variables(self) -> tuple[str, dict[str, Any]]:
        """Check infra/ against the variables and the state's bucket, init terraform when its inputs changed; the
        repository's address and the variables infra/ declares."""
        summary = check_infra(self.request.terraform_dir, self.variables, optional=OPTIONAL_VARIABLES)
        self.stack.prepare(self.report.heading, self.report.line)
        declared = {name: value for name, value in self.variables.items() if name in summary.variables}
        return summary.repositories[0], declared

    def ensure_repository(self) -> dict[str, Any]:
        """The ECR repository, made or updated by Terraform unless nothing it depends on changed."""
        request = self.request
        with timed(self.result.timings, "terraform"):
            if request.skip_terraform:
                self.result.skipped.append("terraform (--skip-terraform)")
                return self.existing_repository()
            if (
                not (request.force_terraform or request.adopt)
                and self.stack.unchanged_since_last_apply(self.variables)
                and (repository := self.registry.repository(request.repository))
            ):
                self.report.heading(f"Terraform: nothing changed since the last apply ({self.result.state}); skipped.")
                self.result.skipped.append("terraform (unchanged)")
                self.result.terraform_changes = False
                return repository
            address, declared = self.prepared_variables()
            self.adopt_if_needed(address, declared)
            self.result.terraform_changes = self.stack.plan_and_apply(
                declared,
                guarded=frozenset({REPOSITORY_RESOURCE}),
                allow_destroy=request.allow_destroy,
                what=f"-var nome={request.repository}",
                heading=self.report.heading,
                line=self.report.line,
                summary=self.report.summary,
            )
            repository = self.existing_repository()
            self.stack.record(self.variables)
            return repository

    def adopt_if_needed(self, address: str, declared: dict[str, Any]) -> None:
        """Import a repository the state lacks when it carries this project's tags for this environment (an
        interrupted first apply, a lost state), or when --adopt says it is ours; refuse any other."""
        request = self.request
        if address in self.terraform.managed_resources():
            return
        repository = self.registry.repository(request.repository)
        if repository is None:
            return
        tags = self.registry.tags(repository["repositoryArn"])
        owned = tags.get(PROJECT_TAG) == request.project and tags.get(ENVIRONMENT_TAG) == request.environment
        if not owned and not request.adopt:
            raise StateError(
                f"The repository {request.repository} exists, but the state of environment {request.environment} "
                f"({self.result.state}) does not manage it and it lacks this project's tags ({PROJECT_TAG}="
                f"{request.project}, {ENVIRONMENT_TAG}={request.environment}): another state may own it. "
                "If it is this environment's, publish once with --adopt; otherwise choose another --repository."
            )
        reason = "--adopt" if not owned else "it carries this environment's tags; an interrupted apply or a lost state"
        self.report.heading(f"Terraform: importing {request.repository} as {address} ({reason}).")
        if not self.terraform.import_resource(address, request.repository, declared, self.report.line):
            self.report.heading(f"Terraform: another run imported {request.repository} meanwhile.")

    def existing_repository(self) -> dict[str, Any]:
        repository = self.registry.repository(self.request.repository)
        if repository is None:
            raise AwsError(
                f"The ECR repository {self.request.repository} does not exist; run publish_ecr without --skip-terraform."
            )
        return repository

    def held_digest(self, image: Any, uri: str) -> tuple[str | None, bool]:
        """(the digest the registry holds under the tag, whether it is this image)."""
        with timed(self.result.timings, "registry_check"):
            remote = self.registry.remote_digest(uri, self.request.tag, self.report.heading)
        return remote, bool(remote) and remote in _digests_in(image, uri)

    def publish_image(self, image: Any, repository: dict[str, Any]) -> None:
        """Push the image unless the registry already holds it under the tag; verify the digest."""
        uri, tag = repository["repositoryUri"], self.request.tag
        self.result.repository_uri = uri
        image.reload()  # another publish may have pushed it while this one waited for the lock
        remote, already_there = self.held_digest(image, uri)
        if already_there:
            self.report.heading(f"Image: {uri}:{tag} already holds this image; nothing pushed.")
            self.result.skipped.append("push (registry already holds the image)")
            self.finish(image, uri, remote)
            return
        if remote and repository.get("imageTagMutability") == "IMMUTABLE":
            raise RegistryError(
                f"{uri}:{tag} already points at {remote} and the repository is IMMUTABLE; publish under a new --tag."
            )
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

    def plan(self, image: Any) -> None:
        """What a publish would do, with nothing changed: terraform plan, and whether the image would move."""
        request = self.request
        if not request.skip_terraform:
            _, declared = self.prepared_variables()
            self.report.heading(f"Terraform: plan -var nome={request.repository} ({self.result.state})")
            planned = self.terraform.plan(
                declared, self.report.line, self.report.summary, guarded=frozenset({REPOSITORY_RESOURCE})
            )
            self.terraform.discard_plan()
            self.result.terraform_changes = planned.changes
            self.result.planned.append("terraform apply" if planned.changes else "terraform: no changes")
            if planned.destroyed:
                self.result.planned.append(
                    f"terraform would destroy or replace {', '.join(planned.destroyed)}: refused without --allow-destroy"
                )
        repository = self.registry.repository(request.repository)
        size = image.attrs.get("Size", 0)
        if repository is None:
            self.result.planned.append(f"push {request.repository}:{request.tag} ({size} bytes) to the new repository")
            return
        uri = repository["repositoryUri"]
        self.result.repository_uri = uri
        remote, already_there = self.held_digest(image, uri)
        if already_there:
            self.result.planned.append(f"nothing to push: {uri}:{request.tag} already holds this image")
            self.result.digest = remote
        else:
            self.result.planned.append(f"push {request.repository}:{request.tag} ({size} bytes) to {uri}:{request.tag}")


def _digests_in(image: Any, uri: str) -> set[str]:
    return {entry.partition("@")[2] for entry in image.attrs.get("RepoDigests", []) if entry.startswith(f"{uri}@")}
