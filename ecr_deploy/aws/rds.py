"""RDS: the service's database instance as RDS describes it, what it holds back for its maintenance window, and
its snapshot and deletion when the service is destroyed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ecr_deploy.aws.session import aws_call, aws_call_or_none
from ecr_deploy.errors import DeployError


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


def db_snapshot(rds_client: Any, snapshot: str) -> dict[str, Any] | None:
    """DescribeDBSnapshots' description of the snapshot; None when there is no such snapshot."""
    described = aws_call_or_none(
        f"read the DB snapshot {snapshot}",
        "DBSnapshotNotFound",
        rds_client.describe_db_snapshots,
        DBSnapshotIdentifier=snapshot,
    )
    snapshots = (described or {}).get("DBSnapshots", [])
    return snapshots[0] if snapshots else None


def pending_changes(rds_client: Any, identifier: str) -> dict[str, Any]:
    """The instance's PendingModifiedValues (changes RDS applies in the maintenance window); empty when there are
    none, or no such instance."""
    instance = db_instance(rds_client, identifier)
    return dict(instance.get("PendingModifiedValues") or {}) if instance else {}


def _wait(what: str, done: Callable[[], bool], timeout_seconds: float, poll_seconds: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not done():
        if time.monotonic() >= deadline:
            raise DeployError(f"{what} did not finish within {timeout_seconds:g}s; it goes on in RDS.")
        time.sleep(poll_seconds)


def snapshot_instance(rds_client: Any, identifier: str, snapshot: str, timeout_seconds: float) -> None:
    """A manual snapshot of the instance, waited on until it is available (a kept database's restore point)."""
    aws_call(
        f"snapshot the database {identifier}",
        rds_client.create_db_snapshot,
        DBInstanceIdentifier=identifier,
        DBSnapshotIdentifier=snapshot,
    )

    _wait(
        f"The snapshot {snapshot}",
        lambda: (db_snapshot(rds_client, snapshot) or {}).get("Status") == "available",
        timeout_seconds,
    )


def delete_instance(rds_client: Any, identifier: str, final_snapshot: str, timeout_seconds: float) -> None:
    """Turn the instance's deletion protection off, delete it with a final snapshot, and wait until it is gone."""
    aws_call(
        f"turn off the deletion protection of {identifier}",
        rds_client.modify_db_instance,
        DBInstanceIdentifier=identifier,
        DeletionProtection=False,
        ApplyImmediately=True,
    )
    aws_call(
        f"delete the database {identifier}",
        rds_client.delete_db_instance,
        DBInstanceIdentifier=identifier,
        SkipFinalSnapshot=False,
        FinalDBSnapshotIdentifier=final_snapshot,
        DeleteAutomatedBackups=False,
    )
    _wait(f"The deletion of {identifier}", lambda: db_instance(rds_client, identifier) is None, timeout_seconds)
