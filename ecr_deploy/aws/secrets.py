"""Secrets Manager and SSM Parameter Store: a container definition's secrets read by ARN, as the ECS agent reads
them when a task starts, and a random value put once into a secret that holds none."""

from __future__ import annotations

import secrets as random_secrets
from typing import Any

from ecr_deploy.aws.session import aws_call, aws_error


def secret_values(session: Any, definition: dict[str, Any]) -> dict[str, str]:
    """Each secret's value, read from Secrets Manager or SSM Parameter Store by its ARN, as the agent does."""
    values = {}
    for secret in definition.get("secrets", []):
        arn, action = secret["valueFrom"], f"read the secret {secret['name']} ({secret['valueFrom']})"
        if ":ssm:" in arn:
            parameter = aws_call(
                action, session.client("ssm").get_parameter, Name=arn.split(":parameter", 1)[1], WithDecryption=True
            )
            values[secret["name"]] = parameter["Parameter"]["Value"]
        else:
            found = aws_call(action, session.client("secretsmanager").get_secret_value, SecretId=arn)
            values[secret["name"]] = found["SecretString"]
    return values


def ensure_secret_value(session: Any, arn: str, name: str) -> bool:
    """Put a random value into the secret arn unless it holds one; True when it was put. The value never leaves
    Secrets Manager: not in a Terraform state, not in any output."""
    import botocore.exceptions

    client = session.client("secretsmanager")
    try:
        client.get_secret_value(SecretId=arn)
        return False
    except botocore.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise aws_error(err, f"read {name}'s secret") from err
    except botocore.exceptions.BotoCoreError as err:
        raise aws_error(err, f"read {name}'s secret") from err
    aws_call(f"put {name}", client.put_secret_value, SecretId=arn, SecretString=random_secrets.token_urlsafe(50))
    return True
