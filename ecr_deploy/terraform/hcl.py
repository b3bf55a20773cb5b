"""infra/ as python-hcl2 reads it, in the plain shape: the ECR repositories and variables it declares, whether it
declares a backend, and the checks a publish makes before terraform runs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecr_deploy.errors import InfraError

REPOSITORY_RESOURCE = "aws_ecr_repository"
#: Written into the Terraform folder for each run that selects a backend, and removed after it.
OVERRIDE_FILE = "ecr_deploy_override.tf"
_BACKEND = re.compile(r'^\s*backend\s+"', re.MULTILINE)


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
    default: Any = None


@dataclass(frozen=True)
class InfraSummary:
    repositories: list[str]
    variables: dict[str, Variable]


def read_infra(directory: Path) -> InfraSummary:
    """The ECR repositories and variables that the .tf files of directory declare."""
    files = sorted(path for path in directory.glob("*.tf") if path.name != OVERRIDE_FILE)
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
                variables[name] = Variable(
                    name=name, file=path, has_default="default" in (body or {}), default=(body or {}).get("default")
                )
    return InfraSummary(repositories=repositories, variables=variables)


def declares_backend(directory: Path) -> bool:
    """Whether infra/ declares a backend of its own (then it is used as is)."""
    for path in directory.glob("*.tf"):
        if path.name != OVERRIDE_FILE and _BACKEND.search(path.read_text(errors="replace")):
            return any("backend" in block for block in load_hcl(path).get("terraform", []))
    return False


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
