"""publish_ecr's steps: Terraform makes the repository, then the local image goes to it, each skipped when already done."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecr_deploy.common import LayerOutput, Output, write_atomically
from ecr_deploy.docker_engine import engine_errors, local_image
from ecr_deploy.ecr import EcrRegistry
from ecr_deploy.errors import AwsError, LockError, RegistryError
from ecr_deploy.names import validate_repository, validate_tag
from ecr_deploy.terraform import Terraform, check_infra

APPLIED_RECORD = "ecr_deploy-applied.json"
#: Passed to terraform only where infra/ declares them: the course's two files declare just `nome`.
OPTIONAL_VARIABLES = frozenset({"regiao"})


@dataclass(frozen=True)
class PublishRequest:
    repository: str
    tag: str
    terraform_dir: Path
    terraform_bin: str = "terraform"
    terraform_vars: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    profile: str | None = None
    plan: bool = False
    skip_terraform: bool = False
    push_attempts: int = 4
    retry_backoff_seconds: float = 2.0
    lock_timeout_seconds: float = 120.0

    def __post_init__(self) -> None:
        validate_repository(self.repository)
        validate_tag(self.tag)


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


@contextmanager
def timed(result: PublishResult, step: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        result.timings[step] = round(time.monotonic() - started, 3)


def terraform_for(request: PublishRequest, session: Any) -> Terraform:
    """The terraform CLI in request's folder, aimed at the session's region (and profile)."""
    env = {"AWS_REGION": session.region_name, "AWS_DEFAULT_REGION": session.region_name}
    if request.profile:
        env["AWS_PROFILE"] = request.profile
    return Terraform(request.terraform_dir, request.terraform_bin, env=env)


class Publisher:
    """Runs one publish with the clients it is handed: repository by Terraform, image by the Docker engine,
    with what is done already skipped."""

    def __init__(
        self, request: PublishRequest, report: Reporter, *, session: Any, docker_client: Any, terraform: Terraform
    ) -> None:
        self.request = request
        self.report = report
        self.session = session
        self.docker = docker_client
        self.terraform = terraform
        self.registry = EcrRegistry(
            session.client("ecr"),
            docker_client,
            attempts=request.push_attempts,
            backoff_seconds=request.retry_backoff_seconds,
        )
        self.variables = {"nome": request.repository, "regiao": session.region_name, **request.terraform_vars}
        self.result = PublishResult(tag=request.tag)

    def run(self) -> PublishResult:
        """Publish, or with request.plan only say what a publish would do; one at a time per Terraform folder."""
        request = self.request
        image = local_image(self.docker, f"{request.repository}:{request.tag}")
        self.result.image_id = image.id
        with project_lock(request.terraform_dir, request.lock_timeout_seconds, self.report.heading):
            if request.plan:
                self.plan(image)
                return self.result
            repository = self.ensure_repository()
            with engine_errors("publish the image"):
                self.publish_image(image, repository)
        return self.result

    def prepared_variables(self) -> tuple[str, dict[str, str]]:
        """Check infra/ against the variables, init terraform when needed; the repository's address and the
        variables infra/ declares."""
        summary = check_infra(self.request.terraform_dir, self.variables, optional=OPTIONAL_VARIABLES)
        if self.terraform.needs_init():
            self.report.heading(f"Terraform: init in {self.request.terraform_dir}")
            self.terraform.init(self.report.line)
        declared = {name: value for name, value in self.variables.items() if name in summary.variables}
        return summary.repositories[0], declared

    def ensure_repository(self) -> dict[str, Any]:
        """The ECR repository, made or updated by Terraform unless nothing it depends on changed."""
        request, terraform = self.request, self.terraform
        with timed(self.result, "terraform"):
            if request.skip_terraform:
                self.result.skipped.append("terraform (--skip-terraform)")
                return self.existing_repository()
            record_path = request.terraform_dir / ".terraform" / APPLIED_RECORD
            target = {
                "region": self.session.region_name,
                "endpoint": os.environ.get("AWS_ENDPOINT_URL", ""),
                "profile": request.profile or "",
            }
            if _read_record(record_path).get("fingerprint") == terraform.fingerprint(self.variables, target) and (
                repository := self.registry.repository(request.repository)
            ):
                self.report.heading(
                    f"Terraform: nothing changed since the last apply in {request.terraform_dir}; skipped."
                )
                self.result.skipped.append("terraform (unchanged)")
                self.result.terraform_changes = False
                return repository
            address, declared = self.prepared_variables()
            if address not in terraform.managed_resources() and self.registry.repository(request.repository):
                self.report.heading(
                    f"Terraform: {request.repository} exists but is not in the state (an interrupted apply, or a lost state); importing it as {address}."
                )
                terraform.import_resource(address, request.repository, declared, self.report.line)
            self.report.heading(f"Terraform: apply -var nome={request.repository}")
            terraform.apply(declared, self.report.line, self.report.summary)
            self.result.terraform_changes = True
            repository = self.existing_repository()
            write_atomically(
                record_path,
                json.dumps(
                    {"fingerprint": terraform.fingerprint(self.variables, target), "outputs": terraform.outputs()}
                ).encode(),
            )
            return repository

    def existing_repository(self) -> dict[str, Any]:
        repository = self.registry.repository(self.request.repository)
        if repository is None:
            raise AwsError(
                f"The ECR repository {self.request.repository} does not exist; run publish_ecr without --skip-terraform."
            )
        return repository

    def held_digest(self, image: Any, uri: str) -> tuple[str | None, bool]:
        """(the digest the registry holds under the tag, whether it is this image)."""
        with timed(self.result, "registry_check"):
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
        with timed(self.result, "login"):
            self.registry.login(self.report.heading)
        image.tag(uri, tag)
        self.report.heading(f"Image: pushing {self.request.repository}:{tag} to {uri}:{tag}")
        with timed(self.result, "push"):
            pushed = self.registry.push(uri, tag, self.report.layer, self.report.heading)
        with timed(self.result, "verify"):
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
            self.report.heading(f"Terraform: plan -var nome={request.repository}")
            self.result.terraform_changes = self.terraform.plan(declared, self.report.line, self.report.summary)
            self.result.planned.append("terraform apply" if self.result.terraform_changes else "terraform: no changes")
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


def _read_record(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
