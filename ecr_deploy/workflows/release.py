"""release_role: the IAM role that CI assumes (GitHub Actions, by OIDC) to run publish_ecr and deploy_ecs for one
environment, with a policy of exactly their calls on that environment's resources (infra/release, its own state)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.aws.iam import github_oidc_provider
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError, DeployError
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.terraform.state import instance_attributes
from ecr_deploy.workflows.service import Progress, service_outputs
from ecr_deploy.workflows.stacks import account_pin, environment_stack, ownership_tags

_GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")


@dataclass
class ReleaseRoleResult:
    environment: str = ""
    role_arn: str = ""
    github: str = ""
    branch: str = ""
    oidc_provider_arn: str = ""
    #: The policy's statements: their Sid, actions and resources.
    policy: list[dict[str, Any]] = field(default_factory=list)
    terraform_changes: bool | None = None


def check_github(repository: str, branch: str) -> None:
    if not _GITHUB_REPOSITORY.fullmatch(repository):
        raise ConfigurationError(f"--github {repository!r}: give the GitHub repository as OWNER/REPO.")
    if not _BRANCH.fullmatch(branch) or ".." in branch or branch.startswith("/") or branch.endswith("/"):
        raise ConfigurationError(f"--branch {branch!r} is not a branch name.")


def release_stack(environment: Environment, directory: Path, session: Any, binary: str, lock_timeout: float) -> Stack:
    """infra/release with its own state per environment (name `_release/SERVICE`)."""
    return environment_stack(
        directory, f"_release/{environment.ecs.service}", environment, session, binary, lock_timeout
    )


def release_role_name(environment: Environment, region: str, stack: Stack) -> str:
    """The role's name, account-wide in IAM: with the region for a role made now (one service in two regions of an
    account never collides), as it is for one made before (a new name would replace the role CI assumes)."""
    made = instance_attributes(stack.state_document() or {}, "aws_iam_role.release").get("name", "")
    return made or f"{environment.ecs.service}-{environment.name}"[:40] + f"-{region}-release"


def release_variables(
    environment: Environment,
    session: Any,
    service: dict[str, Any],
    stack: Stack,
    github: str,
    branch: str,
) -> dict[str, Any]:
    """The role's variables: the environment's repository, service, roles, log group, alarms and state,
    and GitHub's OIDC provider when the account has one that this folder did not make."""
    if "papeis_arns" not in service:
        raise DeployError(
            f"The service of environment {environment.name} was provisioned before its roles were an output; run "
            f"`python manage.py provision_ecs --env {environment.name}` first."
        )
    repository = EcrApi(session.client("ecr")).repository(environment.repository)
    if repository is None:
        raise DeployError(
            f"The ECR repository {environment.repository} does not exist; run `python manage.py publish_ecr --env "
            f"{environment.name}` first."
        )
    own_provider = stack.state_version() != "absent" and stack.state_outputs().get("provedor_oidc_proprio", False)
    state = environment.state
    return {
        "nome": release_role_name(environment, session.region_name, stack),
        "regiao": session.region_name,
        "github_repo": github,
        "branch": branch,
        "provedor_oidc_arn": "" if own_provider else (github_oidc_provider(session) or ""),
        "repositorio_arn": repository["repositoryArn"],
        "ciclo_de_vida": environment.terraform_vars.get("manter_ultimas_imagens", 0) > 0,
        "cluster": service["cluster"],
        "servico": service["servico"],
        "familia": service["familia"],
        "processos": [process["servico"] for process in (service.get("processos") or {}).values()],
        "agendamentos": [job["arn"] for job in (service.get("agendamentos") or {}).values()],
        "papel_agendador_arn": service.get("papel_agendador_arn") or "",
        "papeis_arns": service["papeis_arns"],
        "grupo_logs": service["grupo_logs"],
        "alarmes": [*service.get("alarmes", []), *environment.ecs.alarms],
        "estado": {
            "bucket": state.bucket if state.backend == "s3" else "",
            "prefixo": f"{state.key_prefix}{environment.name}/",
            "tabela": state.lock_table or "",
            "regiao": stack.location.config.get("region", ""),
        },
        "etiquetas": ownership_tags(environment.project, environment.name),
        **account_pin(environment.account),
    }


def apply_release_role(
    environment: Environment,
    session: Any,
    service_stack: Stack,
    stack: Stack,
    progress: Progress,
    *,
    github: str,
    branch: str,
) -> ReleaseRoleResult:
    """Apply infra/release for the environment's provisioned service; the role's ARN and its policy."""
    check_github(github, branch)
    service = service_outputs(service_stack, progress)
    with stack.held_by("release_role", progress.heading):
        stack.prepare(progress.heading, progress.line)
        variables = release_variables(environment, session, service, stack, github, branch)
        if stack.unchanged_since_last_apply(variables):
            progress.heading(
                f"Terraform: nothing changed since the last apply ({stack.location.description}); skipped."
            )
            changed, outputs = False, stack.recorded_outputs()
        else:
            changed = stack.apply(
                variables,
                guarded=frozenset(),
                allow_destroy=True,
                what=f"the release role of {environment.ecs.service}",
                heading=progress.heading,
                line=progress.line,
                summary=progress.summary,
            )
            outputs = stack.record(variables)
    policy = json.loads(outputs["politica"])
    return ReleaseRoleResult(
        environment=environment.name,
        role_arn=outputs["papel_arn"],
        github=github,
        branch=branch,
        oidc_provider_arn=outputs["provedor_oidc_arn"],
        policy=[
            {"sid": s.get("Sid", ""), "actions": _listed(s["Action"]), "resources": _listed(s["Resource"])}
            for s in policy["Statement"]
        ],
        terraform_changes=changed,
    )


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
