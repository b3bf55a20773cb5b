"""RDS: what the service's database instance holds back for its maintenance window."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_call_or_none


def pending_changes(rds_client: Any, identifier: str) -> dict[str, Any]:
    """The instance's PendingModifiedValues (changes RDS applies in the maintenance window); empty when there are
    none, or no such instance."""
    described = aws_call_or_none(
        f"describe the database {identifier}",
        "DBInstanceNotFound",
        rds_client.describe_db_instances,
        DBInstanceIdentifier=identifier,
    )
    instances = (described or {}).get("DBInstances", [])
    return dict(instances[0].get("PendingModifiedValues") or {}) if instances else {}
