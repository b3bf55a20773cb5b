"""IAM reads: the account's GitHub Actions OIDC provider."""

from __future__ import annotations

from typing import Any

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
