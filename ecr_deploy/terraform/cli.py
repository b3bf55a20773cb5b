"""The terraform CLI: one function runs it with a fixed argument list; Terraform drives one folder with its own data
directory and backend, one run at a time per folder (the checkout's lock), and reads its outputs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ecr_deploy.common import Output
from ecr_deploy.defaults import DEFAULTS
from ecr_deploy.errors import LockError, TerraformError
from ecr_deploy.terraform.hcl import OVERRIDE_FILE, REPOSITORY_RESOURCE, load_hcl
from ecr_deploy.terraform.lock import folder_lock

#: What terraform reads from the folder: these files make a no-op skip unsound when they change.
READ_PATTERNS = ("*.tf", "*.tf.json", "*.tfvars", "*.tfvars.json", ".terraform.lock.hcl")
#: What AWS answers a create of something that exists (RepositoryAlreadyExistsException, EntityAlreadyExists,
#: DBInstanceAlreadyExists, Secrets Manager's ResourceExistsException, ...).
_ALREADY_EXISTS = re.compile(r"\b(\w*AlreadyExists\w*|ResourceExistsException|InvalidGroup\.Duplicate)\b")
#: One error of terraform's human output: the provider's "creating <kind> (<name>): ..." and its "with <address>,".
_CREATE_ERROR = re.compile(
    r"Error: creating [^(\n]*\((?P<name>[^)\n]+)\):(?P<detail>.*?)\n\s+with (?P<address>[^,\s]+),", re.DOTALL
)
#: A security group's rule that an apply's retried call found already added (InvalidPermission.Duplicate) or already
#: removed (InvalidPermission.NotFound): the first try did it, and its answer was lost; "with <address>," names the group.
_RETRIED_RULE_CALL = re.compile(
    r"Error: [^\n]*InvalidPermission\.(?:Duplicate|NotFound)[^\n]*\n\s+with (?P<address>[^,\s]+),"
)
_LOCK_INFO = re.compile(r"^\s*(ID|Path|Operation|Who|Created):\s*(.*?)\s*$", re.MULTILINE)
#: What terraform says of a plan that lifecycle.prevent_destroy stopped, and of a finished apply.
_PREVENTED = re.compile(r"Resource\s+(\S+)\s+has\s+lifecycle\.prevent_destroy\s+set")
_APPLIED = re.compile(r"Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed")
#: Lines of a plan or apply that a user should see at normal verbosity: the totals, and anything destroyed.
SUMMARY_LINE = re.compile(r"^(Plan: |Apply complete!|No changes\.|\s*# \S+ (will be destroyed|must be replaced))")


class StalePlanError(TerraformError):
    """Another apply changed the state between this run's plan and its apply."""


class DestroyRefusedError(TerraformError):
    """An apply stopped at its plan, before any change: it would destroy or replace a resource that the run keeps."""

    def __init__(self, message: str, addresses: list[str]) -> None:
        super().__init__(message)
        self.addresses = addresses


class AlreadyExistsError(TerraformError):
    """An apply's create found the resource there: made meanwhile, or by this very create whose answer was lost.
    found maps each such resource's address to the name that its create gave."""

    def __init__(self, message: str, found: dict[str, str]) -> None:
        super().__init__(message)
        self.found = found


class RetriedRuleCallError(TerraformError):
    """An apply's call to add or remove a security group's rules found it done: an earlier try of that very call did
    it, and its answer was lost. addresses names the groups."""

    def __init__(self, message: str, addresses: list[str]) -> None:
        super().__init__(message)
        self.addresses = addresses


def run_terraform(
    binary: str,
    directory: Path,
    args: list[str],
    *,
    output: Output,
    env: Mapping[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> tuple[int, str, str]:
    """Run terraform with a fixed argument list, stream stdout and stderr (a -json run's lines as their text),
    return (exit code, stdout, stderr)."""
    command = [binary, *args]
    try:
        process = subprocess.Popen(
            command,
            cwd=directory,
            env={**os.environ, **(env or {}), "TF_IN_AUTOMATION": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    except OSError as err:
        raise TerraformError(
            f"Cannot run {binary}: {err.strerror}. Install terraform >= 1.5 or set ECR_DEPLOY['TERRAFORM_BIN']."
        ) from err
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(_pump(process.stderr, output)), daemon=True)
    reader.start()
    lines = _pump(process.stdout, output)
    reader.join()
    code = process.wait()
    if code not in ok_codes:
        detail = "".join(errors).strip() or "".join(map(_text_of, lines[-20:])).strip()
        raise _failure(f"terraform {args[0]}", code, directory, detail)
    return code, "".join(lines), "".join(errors)


def _failure(what: str, code: int, directory: Path, detail: str) -> TerraformError | LockError:
    """terraform's failure as our error: a held state lock names its holder (a lock that could not be taken for
    another reason, such as a refused write, is terraform's own error); a stale plan can be made again."""
    if "Error acquiring the state lock" in detail and (lock := dict(_LOCK_INFO.findall(detail))):
        return LockError(
            f"The Terraform state is locked by {lock.get('Who', 'another run')} "
            f"({lock.get('Operation', 'unknown operation')}, since {lock.get('Created', 'an unknown time')}) "
            f"and was not released in time. Wait for that run and publish again; if it died, release the lock "
            f"with `terraform force-unlock {lock.get('ID', 'LOCK_ID')}` (state {lock.get('Path', 'unknown')})."
        )
    if prevented := _PREVENTED.findall(detail):
        return DestroyRefusedError(f"{what}: the plan would destroy {', '.join(prevented)}.", sorted(set(prevented)))
    if "Saved plan is stale" in detail:
        return StalePlanError(f"{what}: the state changed since the plan was made.")
    if groups := _RETRIED_RULE_CALL.findall(detail):
        return RetriedRuleCallError(f"{what} failed (exit {code}) in {directory}:\n{detail}", sorted(set(groups)))
    if _ALREADY_EXISTS.search(detail):
        found = {
            error["address"]: error["name"]
            for error in _CREATE_ERROR.finditer(detail)
            if _ALREADY_EXISTS.search(error["detail"])
        }
        return AlreadyExistsError(f"{what} failed (exit {code}) in {directory}:\n{detail}", found)
    return TerraformError(f"{what} failed (exit {code}) in {directory}:\n{detail}")


def _pump(stream, output: Output) -> list[str]:
    kept = []
    for line in stream:
        kept.append(line)
        output(_text_of(line))
    return kept


def _text_of(line: str) -> str:
    """A line as a user reads it: a -json run's message (a diagnostic with its detail, a destroy spelled as in
    terraform's human plan), any other line as it is."""
    if not line.startswith("{"):
        return line
    try:
        message = json.loads(line)
    except ValueError:
        return line
    text = message.get("@message", "")
    if diagnostic := message.get("diagnostic"):
        text = f"{diagnostic.get('severity', 'error').capitalize()}: {diagnostic.get('summary', '')}\n{diagnostic.get('detail', '')}"
    if message.get("type") == "planned_change":
        change = message.get("change", {})
        ending = {"delete": "will be destroyed", "replace": "must be replaced"}.get(change.get("action", ""))
        if ending:
            text = f"  # {change.get('resource', {}).get('addr', '')} {ending}"
    return text.rstrip("\n") + "\n"


def split_summary(output: Output, summary: Output) -> Output:
    """An output that sends terraform's summary lines to summary and the rest to output."""
    return lambda line: (summary if SUMMARY_LINE.match(line) else output)(line)


@dataclass(frozen=True)
class Backend:
    """The backend type that a run selects (written as an override file) and its -backend-config pairs."""

    type: str
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanResult:
    changes: bool
    #: Addresses of the guarded resources (see plan()) that the plan destroys or replaces.
    destroyed: list[str] = field(default_factory=list)


class Terraform:
    """The terraform CLI in one folder, with its own data directory and, when given, its own backend."""

    def __init__(
        self,
        directory: Path,
        binary: str = "terraform",
        env: Mapping[str, str] | None = None,
        *,
        backend: Backend | None = None,
        data_dir: Path | None = None,
        lock_timeout_seconds: float = DEFAULTS["LOCK_TIMEOUT_SECONDS"],
    ) -> None:
        self.directory = directory
        self.binary = binary
        self.backend = backend
        self.data_dir = data_dir or directory / ".terraform"
        self.env = {**(env or {}), "TF_DATA_DIR": str(self.data_dir)}
        self.lock_timeout_seconds = lock_timeout_seconds
        self.lock_flag = f"-lock-timeout={max(0, round(lock_timeout_seconds))}s"

    @property
    def plan_file(self) -> Path:
        """Where plan() saves the plan that apply_plan() applies."""
        return self.data_dir / "ecr_deploy.tfplan"

    def run(
        self, args: list[str], output: Output, ok_codes: tuple[int, ...] = (0,), keep: Iterable[str] = ()
    ) -> tuple[int, str, str]:
        """One terraform call, under the folder's lock (already held when a command took it for its whole run);
        keep names resources that the call must not destroy."""
        lock = folder_lock(self.directory, "terraform run", self.lock_timeout_seconds, lambda text: output(f"{text}\n"))
        with lock, self._override(keep):
            return run_terraform(self.binary, self.directory, args, output=output, env=self.env, ok_codes=ok_codes)

    @contextmanager
    def _override(self, keep: Iterable[str]) -> Iterator[None]:
        """The override file of one run: the backend it selects, and lifecycle.prevent_destroy on what it keeps."""
        blocks = [f'terraform {{\n  backend "{self.backend.type}" {{}}\n}}\n'] if self.backend else []
        for address in keep:
            kind, _, name = address.partition(".")
            blocks.append(f'resource "{kind}" "{name}" {{\n  lifecycle {{\n    prevent_destroy = true\n  }}\n}}\n')
        if not blocks:
            yield
            return
        path = self.directory / OVERRIDE_FILE
        path.write_text("# Written by ecr_deploy for one terraform run, then removed.\n" + "".join(blocks))
        try:
            yield
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def _var_file(self, variables: Mapping[str, Any]) -> Iterator[str]:
        """The variables as a JSON var-file, so that booleans, numbers, lists and maps keep their types."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "ecr_deploy-vars.tfvars.json"
        path.write_text(json.dumps(dict(variables)))
        try:
            yield f"-var-file={path}"
        finally:
            path.unlink(missing_ok=True)

    def init(self, output: Output) -> None:
        """init -reconfigure: a changed backend configuration is taken as given, never migrated silently."""
        config = [
            f"-backend-config={key}={value}" for key, value in (self.backend.config if self.backend else {}).items()
        ]
        self.run(["init", "-input=false", "-no-color", "-reconfigure", *config], output)
        (self.data_dir / "ecr_deploy-init.json").write_text(json.dumps({"inputs": self.init_inputs}))

    @cached_property
    def documents(self) -> list[dict[str, Any]]:
        """The folder's .tf files as python-hcl2 reads them, in name order (parsed once per run)."""
        return [load_hcl(path) for path in sorted(self.directory.glob("*.tf")) if path.name != OVERRIDE_FILE]

    def declared(self, types: Iterable[str]) -> list[str]:
        """The addresses of the folder's own resources of these types (not those inside modules)."""
        return [
            f"{kind}.{name}"
            for document in self.documents
            for block in document.get("resource", [])
            for kind, named in block.items()
            if kind in types
            for name in named
        ]

    @property
    def declares_modules(self) -> bool:
        return any(document.get("module") for document in self.documents)

    @cached_property
    def init_inputs(self) -> str:
        """A digest of what init depends on: the backend, provider requirements, module sources, the lock file."""
        digest = hashlib.sha256(json.dumps(self.backend.__dict__ if self.backend else {}, sort_keys=True).encode())
        for document in self.documents:
            blocks = {"terraform": document.get("terraform", []), "module": document.get("module", [])}
            digest.update(json.dumps(blocks, sort_keys=True, default=str).encode())
        lock_file = self.directory / ".terraform.lock.hcl"
        digest.update(lock_file.read_bytes() if lock_file.is_file() else b"")
        return digest.hexdigest()

    def needs_init(self) -> bool:
        try:
            recorded = json.loads((self.data_dir / "ecr_deploy-init.json").read_text()).get("inputs")
        except (OSError, ValueError):
            return True
        return not (self.data_dir / "providers").is_dir() or recorded != self.init_inputs

    def plan(
        self,
        variables: Mapping[str, Any],
        output: Output,
        summary: Output,
        guarded: frozenset[str] = frozenset({REPOSITORY_RESOURCE}),
    ) -> PlanResult:
        """Plan into this run's plan file; the totals and any destroy go to summary, every other line to output.
        The result names the resources of the guarded types that the plan destroys or replaces."""
        with self._var_file(variables) as var_file:
            code, text, _ = self.run(
                [
                    "plan",
                    "-json",
                    "-input=false",
                    "-detailed-exitcode",
                    self.lock_flag,
                    var_file,
                    f"-out={self.plan_file}",
                ],
                split_summary(output, summary),
                ok_codes=(0, 2),
            )
        if code == 0:
            return PlanResult(changes=False)
        changes = [json.loads(line)["change"] for line in text.splitlines() if '"type":"planned_change"' in line]
        destroyed = [
            change["resource"]["addr"]
            for change in changes
            if change["resource"].get("resource_type") in guarded and change.get("action") in {"delete", "replace"}
        ]
        return PlanResult(changes=True, destroyed=destroyed)

    def apply_plan(self, output: Output, summary: Output) -> None:
        """Apply exactly the plan that plan() saved, then remove it."""
        try:
            self.run(
                ["apply", "-input=false", "-no-color", self.lock_flag, str(self.plan_file)],
                split_summary(output, summary),
            )
        finally:
            self.discard_plan()

    def apply(self, variables: Mapping[str, Any], output: Output, summary: Output, keep: Iterable[str] = ()) -> bool:
        """Plan and apply in one terraform run, which stops before any change if its plan destroys or replaces a
        resource of keep (DestroyRefusedError); True when it changed anything."""
        with self._var_file(variables) as var_file:
            _, text, _ = self.run(
                ["apply", "-input=false", "-no-color", "-auto-approve", self.lock_flag, var_file],
                split_summary(output, summary),
                keep=keep,
            )
        totals = _APPLIED.search(text)
        return totals is None or any(int(count) for count in totals.groups())

    def destroy(
        self, variables: Mapping[str, Any], output: Output, summary: Output, targets: Iterable[str] = ()
    ) -> None:
        """Destroy everything the state holds, or only the targets and what depends on them, in one terraform run."""
        with self._var_file(variables) as var_file:
            self.run(
                [
                    "apply",
                    "-destroy",
                    "-input=false",
                    "-no-color",
                    "-auto-approve",
                    self.lock_flag,
                    var_file,
                    *(f"-target={address}" for address in targets),
                ],
                split_summary(output, summary),
            )

    def forget(self, addresses: Iterable[str], output: Output) -> None:
        """Remove the resources from the state, leaving them as they are in AWS (`terraform state rm`)."""
        addresses = list(addresses)
        if addresses:
            self.run(["state", "rm", "-no-color", self.lock_flag, *addresses], output)

    def untaint(self, address: str, output: Output) -> None:
        """Keep a resource that a failed create left tainted, rather than replace it at the next apply; one that is
        not tainted is left as it is."""
        code, _, errors = self.run(["untaint", "-no-color", self.lock_flag, address], output, ok_codes=(0, 1))
        if code == 1 and "is not tainted" not in errors:
            raise TerraformError(f"terraform untaint {address} failed in {self.directory}:\n{errors.strip()}")

    def discard_plan(self) -> None:
        self.plan_file.unlink(missing_ok=True)

    def managed_resources(self) -> set[str]:
        """Addresses of the resources in the state (empty when there is no state yet)."""
        code, text, errors = self.run(["state", "list", "-no-color"], output=lambda _: None, ok_codes=(0, 1))
        if code == 1:
            if "No state file was found" in errors:
                return set()
            raise TerraformError(f"terraform state list failed in {self.directory}:\n{errors.strip()}")
        return set(text.split())

    def import_resource(self, address: str, resource_id: str, variables: Mapping[str, Any], output: Output) -> bool:
        """Import resource_id as address; False when another run imported or created it meanwhile."""
        with self._var_file(variables) as var_file:
            try:
                self.run(
                    ["import", "-input=false", "-no-color", self.lock_flag, var_file, address, resource_id], output
                )
            except TerraformError as err:
                if "Resource already managed by Terraform" in str(err):
                    return False
                raise
        return True

    def outputs(self) -> dict[str, Any]:
        """`terraform output -json` as {name: value}."""
        _, text, _ = self.run(["output", "-json", "-no-color"], output=lambda _: None)
        try:
            return {name: item["value"] for name, item in json.loads(text or "{}").items()}
        except (ValueError, KeyError, TypeError) as err:
            raise TerraformError(f"terraform output -json gave unreadable output: {err}") from err

    def fingerprint(self, variables: Mapping[str, Any], context: Mapping[str, str]) -> str:
        """A digest of everything an apply reads: the folder's .tf, .tfvars and lock files, TF_VAR_*, the
        variables, the backend, and the context (account, region, endpoint, environment, state version)."""
        digest = hashlib.sha256()
        for pattern in READ_PATTERNS:
            for path in sorted(self.directory.glob(pattern)):
                if path.name != OVERRIDE_FILE:
                    digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        environment = {**os.environ, **self.env}
        tf_vars = {name: value for name, value in environment.items() if name.startswith("TF_VAR_")}
        backend = self.backend.__dict__ if self.backend else {}
        data = {"vars": dict(variables), "tf_vars": tf_vars, "backend": backend, "context": dict(context)}
        digest.update(json.dumps(data, sort_keys=True, default=str).encode())
        return digest.hexdigest()
