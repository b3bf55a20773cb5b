"""RDS: the service's database instance as RDS describes it, and what it holds back for its maintenance window."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_call_or_none


def db_instance(rds_client: Any, identifier: str) -> dict[str, Any] | None:
    """DescribeDBInstances' description of the instance; None when there is no such instance."""
    described = aws_call_or_none(
        f"describe the database {identifier}",
        "DBInstanceNotFound",
        rds_client.describe_db_instances,
        DBInstanceIdentifier=identifier,
    )
    instances = (described or {}).get("DBInstances", [])
    return instances[0] if instances else None


def pending_changes(rds_client: Any, identifier: str) -> dict[str, Any]:
    """The instance's PendingModifiedValues (changes RDS applies in the maintenance window); empty when there are
    none, or no such instance."""
    instance = db_instance(rds_client, identifier)
    return dict(instance.get("PendingModifiedValues") or {}) if instance else {}
