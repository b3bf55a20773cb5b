"""The reads behind status_ecs beside ECS, ECR and RDS: the target group's health and autoscaling's bounds."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_call


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
