"""The Terraform side: read infra/ with python-hcl2, run the terraform CLI, read its outputs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecr_deploy.common import Output
from ecr_deploy.errors import InfraError, TerraformError

REPOSITORY_RESOURCE = "aws_ecr_repository"
#: Lines of a plan or apply that a user should see at normal verbosity: the totals, and anything destroyed.
SUMMARY_LINE = re.compile(r"^(Plan: |Apply complete!|No changes\.|\s*# \S+ (will be destroyed|must be replaced))")


def load_hcl(path: Path) -> dict[str, Any]:
    """One .tf file in python-hcl2's plain shape; a syntax error names the file, line and column."""
    import hcl2
    from lark.exceptions import UnexpectedInput

    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    try:
        with path.open() as handle:
            return hcl2.load(handle, serialization_options=options)
    except UnexpectedInput as err:
        raise InfraError(f"{path}:{err.line}:{err.column}: malformed HCL; fix the syntax there.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise InfraError(f"Cannot read {path}: {err}") from err


@dataclass(frozen=True)
class Variable:
    name: str
    file: Path
    has_default: bool


@dataclass(frozen=True)
class InfraSummary:
    repositories: list[str]
    variables: dict[str, Variable]


def read_infra(directory: Path) -> InfraSummary:
    """The ECR repositories and variables that the .tf files of directory declare."""
    files = sorted(directory.glob("*.tf"))
    if not files:
        raise InfraError(f"No .tf files in {directory}; set ECR_DEPLOY['TERRAFORM_DIR'] to the folder of ecr.tf.")
    repositories: list[str] = []
    variables: dict[str, Variable] = {}
    for path in files:
        document = load_hcl(path)
        for block in document.get("resource", []):
            repositories += [f"{REPOSITORY_RESOURCE}.{name}" for name in block.get(REPOSITORY_RESOURCE, {})]
        for block in document.get("variable", []):
            for name, body in block.items():
                variables[name] = Variable(name=name, file=path, has_default="default" in (body or {}))
    return InfraSummary(repositories=repositories, variables=variables)


def check_infra(directory: Path, passed: Mapping[str, str], optional: frozenset[str] = frozenset()) -> InfraSummary:
    """Refuse infra/ without exactly one ECR repository, or whose variables do not match what is passed;
    the optional variables are passed only where infra/ declares them."""
    summary = read_infra(directory)
    if len(summary.repositories) != 1:
        found = ", ".join(summary.repositories) or "none"
        raise InfraError(
            f'{directory} must declare exactly one resource "{REPOSITORY_RESOURCE}" (found: {found}); '
            'the course\'s ecr.tf has `resource "aws_ecr_repository" "repositorio" { name = var.nome }`.'
        )
    undeclared = sorted(set(passed) - set(summary.variables) - optional)
    if undeclared:
        raise InfraError(
            f'{directory}: variable {", ".join(undeclared)} is passed but not declared; add `variable "{undeclared[0]}" {{}}` (e.g. in variaveis.tf).'
        )
    unset = sorted(v.name for v in summary.variables.values() if not v.has_default and v.name not in passed)
    if unset:
        where = summary.variables[unset[0]].file
        raise InfraError(
            f"{where}: variable {', '.join(unset)} has no default and is not supplied; give it a default or set ECR_DEPLOY['TERRAFORM_VARS']."
        )
    return summary


def run_terraform(
    binary: str,
    directory: Path,
    args: list[str],
    *,
    output: Output,
    env: Mapping[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> tuple[int, str]:
    """Run terraform with a fixed argument list, stream stdout and stderr, return (exit code, stdout)."""
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
        detail = "".join(errors).strip() or "".join(lines[-20:]).strip()
        raise TerraformError(f"terraform {args[0]} failed (exit {code}) in {directory}:\n{detail}")
    return code, "".join(lines)


def _pump(stream, output: Output) -> list[str]:
    kept = []
    for line in stream:
        kept.append(line)
        output(line)
    return kept


def split_summary(output: Output, summary: Output) -> Output:
    """An output that sends terraform's summary lines to summary and the rest to output."""
    return lambda line: (summary if SUMMARY_LINE.match(line) else output)(line)


def _var_flags(variables: Mapping[str, str]) -> list[str]:
    return [flag for name, value in sorted(variables.items()) for flag in ("-var", f"{name}={value}")]


class Terraform:
    """The terraform CLI in one working directory."""

    def __init__(self, directory: Path, binary: str = "terraform", env: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.binary = binary
        self.env = dict(env or {})

    def run(self, args: list[str], output: Output, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, str]:
        return run_terraform(self.binary, self.directory, args, output=output, env=self.env, ok_codes=ok_codes)

    def init(self, output: Output) -> None:
        self.run(["init", "-input=false", "-no-color"], output)

    def needs_init(self) -> bool:
        return (
            not (self.directory / ".terraform" / "providers").is_dir()
            or not (self.directory / ".terraform.lock.hcl").is_file()
        )

    def apply(self, variables: Mapping[str, str], output: Output, summary: Output) -> None:
        """Apply; the totals and any destroy go to summary, every other line to output."""
        args = ["apply", "-input=false", "-no-color", "-auto-approve", *_var_flags(variables)]
        self.run(args, split_summary(output, summary))

    def plan(self, variables: Mapping[str, str], output: Output, summary: Output) -> bool:
        """Show the plan without saving anything; True when it has changes."""
        code, _ = self.run(
            ["plan", "-input=false", "-no-color", "-detailed-exitcode", *_var_flags(variables)],
            split_summary(output, summary),
            ok_codes=(0, 2),
        )
        return code == 2

    def managed_resources(self) -> set[str]:
        """Addresses of the resources in the state (empty when there is no state yet)."""
        _, text = self.run(["show", "-json", "-no-color"], output=lambda _: None)
        try:
            resources = json.loads(text or "{}").get("values", {}).get("root_module", {}).get("resources", [])
        except ValueError as err:
            raise TerraformError(f"terraform show -json gave unreadable output: {err}") from err
        return {resource["address"] for resource in resources}

    def import_resource(self, address: str, resource_id: str, variables: Mapping[str, str], output: Output) -> None:
        self.run(["import", "-input=false", "-no-color", *_var_flags(variables), address, resource_id], output)

    def outputs(self) -> dict[str, Any]:
        """`terraform output -json` as {name: value}."""
        _, text = self.run(["output", "-json", "-no-color"], output=lambda _: None)
        try:
            return {name: item["value"] for name, item in json.loads(text or "{}").items()}
        except (ValueError, KeyError, TypeError) as err:
            raise TerraformError(f"terraform output -json gave unreadable output: {err}") from err

    def fingerprint(self, variables: Mapping[str, str], context: Mapping[str, str]) -> str:
        """A digest of what an apply depends on: the .tf files, the variables, local state and the AWS target."""
        digest = hashlib.sha256()
        for path in sorted(self.directory.glob("*.tf")) + sorted(self.directory.glob("*.tfstate")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        digest.update(json.dumps({"vars": dict(variables), "context": dict(context)}, sort_keys=True).encode())
        return digest.hexdigest()
