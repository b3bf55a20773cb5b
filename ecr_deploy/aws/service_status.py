"""The reads behind status_ecs beside ECS's own: the target group's health, autoscaling's bounds, the image's tags
in ECR and the RDS instance."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_call, aws_call_or_none


def target_health(elbv2: Any, target_group_arn: str) -> list[dict[str, str]]:
    """Each registered target: its id and port, state, and the reason when it is not healthy."""
    described = aws_call(
        "read the target group's health", elbv2.describe_target_health, TargetGroupArn=target_group_arn
    )
    return [
        {
            "target": f"{entry['Target']['Id']}:{entry['Target'].get('Port', '')}",
            "state": entry.get("TargetHealth", {}).get("State", "unknown"),
            "reason": entry.get("TargetHealth", {}).get("Description", ""),
        }
        for entry in described.get("TargetHealthDescriptions", [])
    ]


def scaling_bounds(autoscaling: Any, cluster: str, service: str) -> tuple[int, int] | None:
    """Application Auto Scaling's (min, max) tasks for the service; None when it has no scalable target."""
    described = aws_call(
        "read the service's autoscaling target",
        autoscaling.describe_scalable_targets,
        ServiceNamespace="ecs",
        ResourceIds=[f"service/{cluster}/{service}"],
        ScalableDimension="ecs:service:DesiredCount",
    )
    targets = described.get("ScalableTargets", [])
    return (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) if targets else None


def image_tags(ecr: Any, repository: str, digest: str) -> list[str]:
    """The tags that point at digest in the repository (none when the image is gone from it)."""
    described = aws_call_or_none(
        f"read the tags of {repository}@{digest}",
        "ImageNotFoundException",
        ecr.describe_images,
        repositoryName=repository,
        imageIds=[{"imageDigest": digest}],
    )
    details = described.get("imageDetails", []) if described else []
    return sorted(details[0].get("imageTags", [])) if details else []


def db_instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    """The RDS instance's status, engine version, class and storage; None when there is none."""
    described = aws_call_or_none(
        f"read the DB instance {identifier}",
        "DBInstanceNotFound",
        rds.describe_db_instances,
        DBInstanceIdentifier=identifier,
    )
    if not described:
        return None
    instance = described["DBInstances"][0]
    return {
        "status": instance.get("DBInstanceStatus", ""),
        "engine": f"{instance.get('Engine', '')} {instance.get('EngineVersion', '')}".strip(),
        "class": instance.get("DBInstanceClass", ""),
        "storage_gb": instance.get("AllocatedStorage", 0),
        "storage_type": instance.get("StorageType", ""),
    }
