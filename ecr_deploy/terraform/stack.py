"""One Terraform root with a state of its own: bound to the account it is applied in, skipped when nothing it reads
changed, initialised when its inputs changed, planned and applied in one terraform run that stops before any
change when it would destroy what must be kept; its resources and outputs read from the state itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from ecr_deploy.common import Output, write_atomically
from ecr_deploy.errors import StateError, TerraformError, WrongAccountError
from ecr_deploy.terraform.cli import Backend, DestroyRefusedError, StalePlanError, Terraform
from ecr_deploy.terraform.lock import folder_lock
from ecr_deploy.terraform.state import (
    DECLARED_BACKEND,
    StateLocation,
    local_state_version,
    managed_addresses,
    migrate_legacy_state,
    output_values,
    target_in_state,
)

APPLIED_RECORD = "ecr_deploy-applied.json"
#: Beside the state (the same folder, or the same S3 prefix): the account and region it was applied in.
BINDING_SUFFIX = ".account.json"
#: Plans made again when another apply changed the state between a plan and its apply.
PLAN_ATTEMPTS = 3


class RemoteState(Protocol):
    """A state that terraform keeps elsewhere (S3), read without terraform."""

    def version(self) -> str: ...

    def check_ready(self) -> None: ...

    def read(self, suffix: str = "") -> bytes | None:
        """The state object (suffix ""), or the object of that suffix beside it; None when absent."""

    def write(self, suffix: str, body: bytes) -> None:
        """Put the object of suffix beside the state."""

    def delete(self, suffix: str) -> None:
        """Remove the object of suffix beside the state."""


class Stack:
    """A Terraform folder applied with one environment's state for one name (a repository, a service). target()
    names what an apply acts on (account, region, endpoint, profile); it is called only when needed."""

    def __init__(
        self,
        directory: Path,
        location: StateLocation,
        *,
        environment: str,
        remote: RemoteState | None,
        target: Callable[[], Mapping[str, str]],
        data_dir: Path,
        env: Mapping[str, str],
        binary: str = "terraform",
        lock_timeout_seconds: float = 120.0,
    ) -> None:
        self.environment = environment
        self.location = location
        self.remote = remote
        self.target = target
        self._target_checked = False
        self.terraform = Terraform(
            directory,
            binary,
            env=env,
            backend=None if location.backend == DECLARED_BACKEND else Backend(location.backend, location.config),
            data_dir=data_dir,
            lock_timeout_seconds=lock_timeout_seconds,
        )

    @property
    def directory(self) -> Path:
        return self.terraform.directory

    def held_by(self, command: str, notice: Output) -> AbstractContextManager[None]:
        """The folder's lock, for a command's whole run: a second command of this checkout waits for the first."""
        return folder_lock(self.directory, command, self.terraform.lock_timeout_seconds, notice)

    def state_version(self) -> str | None:
        """What changes whenever anyone writes the state; None for a backend that the folder declares, which only
        terraform reads."""
        if self.location.backend == DECLARED_BACKEND:
            return None
        if self.remote is not None:
            return self.remote.version()
        return local_state_version(self.directory, self.location)

    def state_seen(self) -> dict[str, Any] | None:
        """The state's version with the AWS target it was applied to; None when it cannot be read without terraform."""
        version = self.state_version()
        return None if version is None else {"environment": self.environment, **self.target(), "state": version}

    def fingerprint(self, variables: dict[str, Any]) -> str | None:
        """What an apply reads: the folder, the variables, the AWS target and the state's version; None when the
        state's version cannot be read without terraform (a backend that the folder declares)."""
        seen = self.state_seen()
        return None if seen is None else self.terraform.fingerprint(variables, seen)

    def unchanged_since_last_apply(self, variables: dict[str, Any]) -> bool:
        fingerprint = self.fingerprint(variables)
        return fingerprint is not None and _read_record(self.record_path).get("fingerprint") == fingerprint

    @property
    def record_path(self) -> Path:
        return self.terraform.data_dir / APPLIED_RECORD

    def bound_target(self) -> dict[str, str] | None:
        """The account and region that the state was applied in: its binding, else the ARNs that the state lists (a
        state from before bindings); None before the first apply, or for a backend that only terraform reads."""
        binding = self._read_beside(BINDING_SUFFIX)
        if binding is not None:
            try:
                return {key: str(value) for key, value in json.loads(binding).items()}
            except (ValueError, AttributeError) as err:
                raise StateError(
                    f"The state's binding ({self.location.description}{BINDING_SUFFIX}) is unreadable."
                ) from err
        state = self._read_beside("")
        return None if state is None else target_in_state(state)

    def check_target(self) -> None:
        """Refuse credentials that act in another account or region than the one that the state was applied in
        (or than the environment's pin): terraform would refresh the state against that account and take over what
        it finds there. Checked once per run."""
        if self._target_checked:
            return
        target = self.target()
        bound = self.bound_target()
        if bound is None:
            return
        account, region = bound.get("account", ""), bound.get("region", "")
        if account != target["account"] or (region and region != target["region"]):
            raise WrongAccountError(
                f"The state of environment {self.environment} ({self.location.description}) was applied in AWS "
                f"account {account} ({region or 'no region'}), but the credentials act in account "
                f"{target['account']} ({target['region']}); nothing was run. Use an environment per account: "
                "ECR_DEPLOY['ENVIRONMENTS'][NAME] with its own PROFILE (or credentials), and ACCOUNT to pin it."
            )
        self._target_checked = True

    def bind(self) -> bool:
        """Write the binding before the first write of the state (an apply killed after a create stays bound);
        True when this call wrote it."""
        if self._read_beside(BINDING_SUFFIX) is not None:
            return False
        target = self.target()
        binding = json.dumps({"account": target["account"], "region": target["region"]}, sort_keys=True)
        self._write_beside(BINDING_SUFFIX, binding.encode())
        return True

    def _read_beside(self, suffix: str) -> bytes | None:
        if self.remote is not None:
            return self.remote.read(suffix)
        path = self._local_path(suffix)
        return path.read_bytes() if path is not None and path.is_file() else None

    def _write_beside(self, suffix: str, body: bytes) -> None:
        if self.remote is not None:
            self.remote.write(suffix, body)
            return
        path = self._local_path(suffix)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, body)

    def _delete_beside(self, suffix: str) -> None:
        if self.remote is not None:
            self.remote.delete(suffix)
            return
        path = self._local_path(suffix)
        if path is not None:
            path.unlink(missing_ok=True)

    def _local_path(self, suffix: str) -> Path | None:
        """Beside a local state file; for a backend that the folder declares, the binding stays in the data
        directory and the state itself is unreadable."""
        if self.location.backend == DECLARED_BACKEND:
            return self.terraform.data_dir / f"declared-state{suffix}" if suffix else None
        return self.directory / f"{self.location.config['path']}{suffix}"

    def check(self, heading: Output) -> None:
        """Refuse a missing state bucket and another account than the state's; move a local state from before
        environments to its place."""
        if self.remote is not None:
            self.remote.check_ready()
        if self.location.backend == "local":
            migrate_legacy_state(self.directory, heading)
        self.check_target()

    def prepare(self, heading: Output, line: Output) -> None:
        """check(), then init when the backend, providers, modules or lock file changed."""
        self.check(heading)
        if self.terraform.needs_init():
            heading(
                f"Terraform: init in {self.directory} for environment {self.environment} ({self.location.description})"
            )
            self.terraform.init(line)

    def state_document(self) -> dict[str, Any] | None:
        """The state as terraform wrote it, read without terraform ({} before the first apply); None for a backend
        that only terraform reads."""
        if self.location.backend == DECLARED_BACKEND:
            return None
        raw = self._read_beside("")
        try:
            return json.loads(raw or b"{}")
        except ValueError as err:
            raise StateError(f"The state {self.location.description} is not readable JSON ({err}).") from err

    def managed_resources(self) -> set[str]:
        """The addresses in the state, as `terraform state list` prints them, without starting terraform."""
        document = self.state_document()
        return self.terraform.managed_resources() if document is None else managed_addresses(document)

    def state_outputs(self) -> dict[str, Any]:
        """The state's outputs, as `terraform output -json` gives them, without starting terraform."""
        document = self.state_document()
        return self.terraform.outputs() if document is None else output_values(document)

    def apply(
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
        """Plan and apply in one terraform run, refused before any change when its plan destroys or replaces a
        resource of a guarded type (lifecycle.prevent_destroy in the run's override file) unless allowed; True
        when it changed anything. Resources inside modules cannot be guarded so: such a folder is planned, checked,
        and that very plan applied."""
        bound = self.bind()
        try:
            if self.terraform.declares_modules and not allow_destroy:
                return self._plan_check_and_apply(variables, guarded, what, heading, line, summary)
            heading(f"Terraform: apply for {what} ({self.location.description})")
            keep = () if allow_destroy else self.terraform.declared(guarded)
            try:
                return self.terraform.apply(variables, line, summary, keep=keep)
            except DestroyRefusedError as err:
                raise self._destroy_refused(err.addresses, what) from err
        except TerraformError:
            if bound and self.state_version() == "absent":
                self._delete_beside(BINDING_SUFFIX)  # refused before it wrote anything: leave nothing
            raise

    def _plan_check_and_apply(
        self,
        variables: dict[str, Any],
        guarded: frozenset[str],
        what: str,
        heading: Output,
        line: Output,
        summary: Output,
    ) -> bool:
        for _ in range(PLAN_ATTEMPTS):
            heading(f"Terraform: plan for {what} ({self.location.description})")
            plan = self.terraform.plan(variables, line, summary, guarded=guarded)
            if plan.destroyed:
                self.terraform.discard_plan()
                raise self._destroy_refused(plan.destroyed, what)
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

    def _destroy_refused(self, addresses: list[str], what: str) -> StateError:
        return StateError(
            f"The plan would destroy or replace {', '.join(addresses)} ({what}, environment {self.environment}); "
            "nothing was applied. Check the Terraform folder and TERRAFORM_VARS; if that is what you mean, run again "
            "with --allow-destroy."
        )

    def recorded_outputs(self) -> dict[str, Any]:
        """The outputs of the last apply from this checkout (empty when there was none)."""
        return _read_record(self.record_path).get("outputs", {})

    def outputs(self, heading: Output, line: Output) -> dict[str, Any]:
        """The state's outputs: the record's while the state and its AWS target are as recorded; otherwise the
        state's (read without terraform but for a declared backend), which the record then keeps."""
        record = _read_record(self.record_path)
        seen = self.state_seen()
        if seen is not None and record.get("seen") == seen and "outputs" in record:
            return record["outputs"]
        if self.location.backend == DECLARED_BACKEND:
            self.prepare(heading, line)
        else:
            self.check(heading)
        outputs = self.state_outputs()
        self._write_record({**record, "outputs": outputs, "seen": self.state_seen()})
        return outputs

    def record(self, variables: dict[str, Any]) -> dict[str, Any]:
        """Remember this apply (its fingerprint, outputs and the state it left) so that an unchanged rerun can skip
        terraform."""
        outputs = self.state_outputs()
        seen = self.state_seen()
        fingerprint = None if seen is None else self.terraform.fingerprint(variables, seen)
        self._write_record({"fingerprint": fingerprint, "outputs": outputs, "seen": seen})
        return outputs

    def _write_record(self, record: dict[str, Any]) -> None:
        self.record_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.record_path, json.dumps(record, sort_keys=True).encode())


def _read_record(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
