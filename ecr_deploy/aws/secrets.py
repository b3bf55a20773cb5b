"""Secrets Manager and SSM Parameter Store: a container definition's secrets read by ARN, as the ECS agent reads
them when a task starts, and as IAM authorizes them; a secret's current version, and its deletion after a recovery
window, or its restore within it."""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime, timezone
from typing import Any

from ecr_deploy.aws.session import aws_call, aws_call_or_none
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


def secret_arn(value_from: str) -> str:
    """The ARN that IAM authorizes for a task's secret: a Secrets Manager secret's own ARN without the JSON key,
    version stage and version id that a valueFrom may add; an SSM parameter's as given."""
    return value_from if ":ssm:" in value_from else ":".join(value_from.split(":")[:7])


def read_action(value_from: str) -> str:
    """The action the execution role needs on secret_arn(value_from) (ECS developer guide, "Task execution IAM role")."""
    return "ssm:GetParameters" if ":ssm:" in value_from else "secretsmanager:GetSecretValue"


def policy_resources(value_from: str) -> list[str]:
    """What the execution role's policy names for a task's secret: a secret given by its partial ARN (its name
    without the six characters that Secrets Manager adds) is the same ARN followed by - and those six."""
    arn = secret_arn(value_from)
    return [arn] if ":ssm:" in arn else [arn, f"{arn}-??????"]


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


def current_version(client: Any, name: str) -> str | None:
    """The import id (ARN|version id) of the secret's AWSCURRENT value; None when it holds none or is not there."""
    found = aws_call_or_none(
        f"read the secret {name}", "ResourceNotFoundException", client.describe_secret, SecretId=name
    )
    stages = (found or {}).get("VersionIdsToStages", {})
    version = next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)
    return f"{found['ARN']}|{version}" if version else None


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


def put_database_url(client: Any, url_arn: str, master_arn: str, location: dict[str, Any]) -> bool:
    """Put postgres://USER:PASSWORD@HOST:PORT/NAME?sslmode=require into the DATABASE_URL secret, from the master
    user's secret and the instance's location, when it holds another value (or none); True when it was put. The
    value stays between Secrets Manager and this process: never printed, never in an exception."""
    master = json.loads(
        aws_call(f"read the secret {master_arn}", client.get_secret_value, SecretId=master_arn)["SecretString"]
    )
    user, password = (urllib.parse.quote(str(master[key]), safe="") for key in ("username", "password"))
    url = f"postgres://{user}:{password}@{location['host']}:{location['port']}/{location['name']}?sslmode=require"
    current = aws_call_or_none(
        f"read the secret {url_arn}", "ResourceNotFoundException", client.get_secret_value, SecretId=url_arn
    )
    if current is not None and current.get("SecretString") == url:
        return False
    aws_call(f"put the value of {url_arn}", client.put_secret_value, SecretId=url_arn, SecretString=url)
    return True
