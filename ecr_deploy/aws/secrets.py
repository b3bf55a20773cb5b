"""Secrets Manager and SSM Parameter Store: a container definition's secrets read by ARN, as the ECS agent reads
them when a task starts, a random value put once into a secret that holds none, and a secret's deletion after a
recovery window, or its restore within it."""

from __future__ import annotations

import json
import secrets as random_secrets
from datetime import datetime, timezone
from typing import Any

from ecr_deploy.aws.session import aws_call, aws_call_or_none, aws_error
from ecr_deploy.errors import DeployError


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
            values[secret["name"]] = secrets_manager_value(session.client("secretsmanager"), arn, action)
    return values


def secrets_manager_value(client: Any, value_from: str, action: str) -> str:
    """What ECS injects for a secret's valueFrom: the secret's string, or one JSON key of it with the form
    ARN:json-key:version-stage:version-id (each part after the ARN may be empty)."""
    parts = value_from.split(":")
    arn, json_key, stage, version = ":".join(parts[:7]), *(parts[7:10] + ["", "", ""])[:3]
    request = (
        {"SecretId": arn} | ({"VersionStage": stage} if stage else {}) | ({"VersionId": version} if version else {})
    )
    found = aws_call(action, client.get_secret_value, **request)
    if not json_key:
        return found["SecretString"]
    try:
        return str(json.loads(found["SecretString"])[json_key])
    except (ValueError, KeyError, TypeError) as err:
        raise DeployError(f"The secret {arn} holds no JSON key {json_key!r} ({action}).") from err


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


def schedule_deletion(client: Any, arn: str, recovery_days: int) -> str:
    """Delete the secret after a recovery window (restore-secret brings it back until then); the date it goes."""
    answer = aws_call(
        f"schedule the deletion of {arn}", client.delete_secret, SecretId=arn, RecoveryWindowInDays=recovery_days
    )
    when = answer.get("DeletionDate")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if isinstance(when, datetime) else str(when)


def scheduled_for_deletion(client: Any, name: str) -> dict[str, str] | None:
    """The tags of the secret when it is scheduled for deletion; None when it is not, or is not there."""
    found = aws_call_or_none(
        f"read the secret {name}", "ResourceNotFoundException", client.describe_secret, SecretId=name
    )
    if not found or "DeletedDate" not in found:
        return None
    return {tag["Key"]: tag["Value"] for tag in found.get("Tags", [])}


def restore(client: Any, name: str) -> None:
    aws_call(f"restore the secret {name}", client.restore_secret, SecretId=name)
