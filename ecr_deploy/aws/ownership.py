"""Whose is a resource that an apply's create found already there: its tags, and the id that terraform imports it
by, for the named resources of the service's stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecr_deploy.aws.rds import db_instance
from ecr_deploy.aws.session import aws_call, aws_call_or_none
from ecr_deploy.aws.storage import bucket_tags


@dataclass(frozen=True)
class ExistingResource:
    import_id: str
    tags: dict[str, str]


def existing_resource(session: Any, kind: str, name: str) -> ExistingResource | None:
    """The resource of this Terraform type with this name; None when it is not there, or when its type is not one
    that a create can find existing here."""
    find = _FINDERS.get(kind)
    return find(session, name) if find else None


def _tags(pairs: list[dict[str, str]]) -> dict[str, str]:
    return {pair["Key"]: pair["Value"] for pair in pairs}


def _iam_role(session: Any, name: str) -> ExistingResource | None:
    iam = session.client("iam")
    if aws_call_or_none(f"read the IAM role {name}", "NoSuchEntity", iam.get_role, RoleName=name) is None:
        return None
    tags = aws_call(f"read the tags of the IAM role {name}", iam.list_role_tags, RoleName=name)["Tags"]
    return ExistingResource(name, _tags(tags))


def _log_group(session: Any, name: str) -> ExistingResource | None:
    logs = session.client("logs")
    groups = aws_call(f"read the log group {name}", logs.describe_log_groups, logGroupNamePrefix=name)["logGroups"]
    if not any(group["logGroupName"] == name for group in groups):
        return None
    tags = aws_call(f"read the tags of the log group {name}", logs.list_tags_log_group, logGroupName=name)["tags"]
    return ExistingResource(name, tags)


def _db_instance(session: Any, name: str) -> ExistingResource | None:
    instance = db_instance(session.client("rds"), name)
    return ExistingResource(name, _tags(instance.get("TagList", []))) if instance else None


def _db_subnet_group(session: Any, name: str) -> ExistingResource | None:
    rds = session.client("rds")
    found = aws_call_or_none(
        f"read the DB subnet group {name}",
        "DBSubnetGroupNotFoundFault",
        rds.describe_db_subnet_groups,
        DBSubnetGroupName=name,
    )
    if not found:
        return None
    arn = found["DBSubnetGroups"][0]["DBSubnetGroupArn"]
    tags = aws_call(f"read the tags of the DB subnet group {name}", rds.list_tags_for_resource, ResourceName=arn)
    return ExistingResource(name, _tags(tags["TagList"]))


def _secret(session: Any, name: str) -> ExistingResource | None:
    secrets = session.client("secretsmanager")
    found = aws_call_or_none(
        f"read the secret {name}", "ResourceNotFoundException", secrets.describe_secret, SecretId=name
    )
    return ExistingResource(found["ARN"], _tags(found.get("Tags", []))) if found else None


def _security_group(session: Any, name: str) -> ExistingResource | None:
    ec2 = session.client("ec2")
    found = aws_call(
        f"read the security group {name}",
        ec2.describe_security_groups,
        Filters=[{"Name": "group-name", "Values": [name]}],
    )["SecurityGroups"]
    return ExistingResource(found[0]["GroupId"], _tags(found[0].get("Tags", []))) if found else None


def _s3_bucket(session: Any, name: str) -> ExistingResource | None:
    tags = bucket_tags(session.client("s3"), name)
    return None if tags is None else ExistingResource(name, tags)


_FINDERS: dict[str, Callable[[Any, str], ExistingResource | None]] = {
    "aws_iam_role": _iam_role,
    "aws_cloudwatch_log_group": _log_group,
    "aws_db_instance": _db_instance,
    "aws_db_subnet_group": _db_subnet_group,
    "aws_secretsmanager_secret": _secret,
    "aws_security_group": _security_group,
    "aws_s3_bucket": _s3_bucket,
}
