"""One Terraform root with a state of its own: skipped when nothing it reads changed, initialised when its inputs
changed, planned, refused when the plan destroys what must be kept, and applied exactly as planned."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ecr_deploy.common import Output, write_atomically
from ecr_deploy.ecr import account_id
from ecr_deploy.environments import StateConfig
from ecr_deploy.errors import StateError, TerraformError
from ecr_deploy.state import (
    DECLARED_BACKEND,
    StateLocation,
    StateStore,
    migrate_legacy_state,
    slug,
    state_location,
)
from ecr_deploy.terraform import Backend, StalePlanError, Terraform, declares_backend

APPLIED_RECORD = "ecr_deploy-applied.json"
#: Plans made again when another apply changed the state between a plan and its apply.
PLAN_ATTEMPTS = 3


def stack_location(directory: Path, state: StateConfig, environment: str, name: str, region: str) -> StateLocation:
    """The state of one stack; a backend that the folder declares itself is used as is."""
    if state.backend == "local" and declares_backend(directory):
        return StateLocation(DECLARED_BACKEND, {}, f"the backend declared in {directory}")
    return state_location(state, environment, name, region)


class Stack:
    """A Terraform folder applied with one environment's state for one name (a repository, a service)."""

    def __init__(
        self,
        directory: Path,
        *,
        name: str,
        environment: str,
        state: StateConfig,
        session: Any,
        binary: str = "terraform",
        profile: str | None = None,
        lock_timeout_seconds: float = 120.0,
    ) -> None:
        self.environment = environment
        self.session = session
        self.profile = profile
        self.location = stack_location(directory, state, environment, name, session.region_name)
        self.store = StateStore(self.location, directory, session, environment)
        env = {"AWS_REGION": session.region_name, "AWS_DEFAULT_REGION": session.region_name}
        if profile:
            env["AWS_PROFILE"] = profile
        self.terraform = Terraform(
            directory,
            binary,
            env=env,
            backend=None
            if self.location.backend == DECLARED_BACKEND
            else Backend(self.location.backend, self.location.config),
            data_dir=directory / ".terraform" / "ecr_deploy" / environment / slug(name),
            lock_timeout_seconds=lock_timeout_seconds,
        )
        self._account: str | None = None

    @property
    def directory(self) -> Path:
        return self.terraform.directory

    def fingerprint(self, variables: dict[str, Any]) -> str | None:
        """What an apply reads: the folder, the variables, the AWS target and the state's version; None when the
        state's version cannot be read without terraform (a backend that the folder declares)."""
        version = self.store.version()
        if version is None:
            return None
        if self._account is None:
            self._account = account_id(self.session)
        context = {
            "environment": self.environment,
            "account": self._account,
            "region": self.session.region_name,
            "endpoint": os.environ.get("AWS_ENDPOINT_URL", ""),
            "profile": self.profile or "",
            "state": version,
        }
        return self.terraform.fingerprint(variables, context)

    def unchanged_since_last_apply(self, variables: dict[str, Any]) -> bool:
        fingerprint = self.fingerprint(variables)
        return fingerprint is not None and _read_record(self.record_path).get("fingerprint") == fingerprint

    @property
    def record_path(self) -> Path:
        return self.terraform.data_dir / APPLIED_RECORD

    def prepare(self, heading: Output, line: Output) -> None:
        """Refuse a missing state bucket; move a local state from before environments to its place; init when the
        backend, providers, modules or lock file changed."""
        self.store.check_ready()
        if self.location.backend == "local":
            migrate_legacy_state(self.directory, heading)
        if self.terraform.needs_init():
            heading(
                f"Terraform: init in {self.directory} for environment {self.environment} ({self.location.description})"
            )
            self.terraform.init(line)

    def plan_and_apply(
        self,
        variables: dict[str, Any],
        *,
        guarded: frozenset[str],
        allow_destroy: bool,
        what: str,
        heading: Output,
        line: Output,
        summary: Output,
    ) -> bool:
        """Plan, refuse destroying or replacing a resource of a guarded type unless allowed, apply that very plan;
        True when the plan had changes. A plan made stale by a teammate's apply is made again."""
        for _ in range(PLAN_ATTEMPTS):
            heading(f"Terraform: plan for {what} ({self.location.description})")
            plan = self.terraform.plan(variables, line, summary, guarded=guarded)
            if plan.destroyed and not allow_destroy:
                self.terraform.discard_plan()
                raise StateError(
                    f"The plan would destroy or replace {', '.join(plan.destroyed)} ({what}, environment "
                    f"{self.environment}); nothing was applied. Check the Terraform folder and TERRAFORM_VARS; if "
                    "that is what you mean, run again with --allow-destroy."
                )
            if not plan.changes:
                self.terraform.discard_plan()
                return False
            heading("Terraform: apply")
            try:
                self.terraform.apply_plan(line, summary)
                return True
            except StalePlanError:
                heading("Terraform: another apply changed the state since this plan; planning again.")
        raise TerraformError(f"The state kept changing under {PLAN_ATTEMPTS} plans; run again.")

    def recorded_outputs(self) -> dict[str, Any]:
        """The outputs of the last apply from this checkout (empty when there was none)."""
        return _read_record(self.record_path).get("outputs", {})

    def record(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Remember this apply (its fingerprint and outputs) so that an unchanged rerun can skip terraform."""
        outputs = self.terraform.outputs()
        write_atomically(
            self.record_path, json.dumps({"fingerprint": self.fingerprint(variables), "outputs": outputs}).encode()
        )
        return outputs


def _read_record(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
