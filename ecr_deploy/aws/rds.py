"""RDS: what the service's database instance holds back for its maintenance window."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_error


def pending_changes(rds_client: Any, identifier: str) -> dict[str, Any]:
    """The instance's PendingModifiedValues (changes RDS applies in the maintenance window); empty when there are
    none, or no such instance."""
    import botocore.exceptions

    try:
        described = rds_client.describe_db_instances(DBInstanceIdentifier=identifier)
    except botocore.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") == "DBInstanceNotFound":
            return {}
        raise aws_error(err, f"describe the database {identifier}") from err
    except botocore.exceptions.BotoCoreError as err:
        raise aws_error(err, f"describe the database {identifier}") from err
    instances = described.get("DBInstances", [])
    return dict(instances[0].get("PendingModifiedValues") or {}) if instances else {}
