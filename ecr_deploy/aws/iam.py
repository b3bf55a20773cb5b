"""IAM reads: the account's GitHub Actions OIDC provider, and whether a role may read the secrets a revision names."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.secrets import read_action, secret_arn
from ecr_deploy.aws.session import aws_call

#: The issuer of GitHub Actions' OIDC tokens.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


def github_oidc_provider(session: Any) -> str | None:
    """The ARN of the account's OIDC provider for GitHub Actions, None when it has none."""
    listed = aws_call("list the IAM OIDC providers", session.client("iam").list_open_id_connect_providers)
    for provider in listed["OpenIDConnectProviderList"]:
        if provider["Arn"].endswith(f"oidc-provider/{GITHUB_OIDC_HOST}"):
            return provider["Arn"]
    return None


def unreadable_secrets(iam_client: Any, role_arn: str, secrets: dict[str, str]) -> list[tuple[str, str, str]]:
    """The (name, action, ARN) of each secret that role_arn may not read, by IAM's own evaluation of its policies
    (SimulatePrincipalPolicy), as the ECS agent would read it when a task starts."""
    by_action: dict[str, dict[str, list[str]]] = {}
    for name, value_from in secrets.items():
        by_action.setdefault(read_action(value_from), {}).setdefault(secret_arn(value_from), []).append(name)
    refused = []
    for action, names_by_arn in by_action.items():
        simulated = aws_call(
            f"check that the execution role may {action} its secrets",
            iam_client.simulate_principal_policy,
            PolicySourceArn=role_arn,
            ActionNames=[action],
            ResourceArns=sorted(names_by_arn),
        )
        for result in simulated["EvaluationResults"]:
            if result["EvalDecision"] != "allowed":
                arn = result["EvalResourceName"]
                refused += [(name, action, arn) for name in names_by_arn.get(arn, [])]
    return sorted(refused)


def secrets_refused(iam_client: Any, task_definition: dict[str, Any], container: dict[str, Any]) -> str:
    """What the revision's execution role may not read of the container's secrets, as "NAME (ARN) needs ACTION; ...";
    empty when it may read them all, or the container names none."""
    role = task_definition.get("executionRoleArn")
    secrets = {item["name"]: item["valueFrom"] for item in container.get("secrets", [])}
    if not role or not secrets:
        return ""
    return "; ".join(
        f"{name} ({arn}) needs {action}" for name, action, arn in unreadable_secrets(iam_client, role, secrets)
    )
