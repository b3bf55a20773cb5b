"""Application Auto Scaling: the bounds between which it moves the service's desired task count."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_call


def _resource(cluster: str, service: str) -> dict[str, Any]:
    return {
        "ServiceNamespace": "ecs",
        "ResourceId": f"service/{cluster}/{service}",
        "ScalableDimension": "ecs:service:DesiredCount",
    }


def scaling_bounds(autoscaling: Any, cluster: str, service: str) -> tuple[int, int] | None:
    """(min, max) tasks for the service; None when it has no scalable target."""
    resource = _resource(cluster, service)
    described = aws_call(
        "read the service's autoscaling target",
        autoscaling.describe_scalable_targets,
        ServiceNamespace="ecs",
        ResourceIds=[resource["ResourceId"]],
        ScalableDimension=resource["ScalableDimension"],
    )
    targets = described.get("ScalableTargets", [])
    return (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) if targets else None


def set_scaling_bounds(autoscaling: Any, cluster: str, service: str, least: int, most: int) -> None:
    """Let autoscaling move the service between least and most tasks (its scaling policies are kept)."""
    aws_call(
        "change the service's autoscaling bounds",
        autoscaling.register_scalable_target,
        **_resource(cluster, service),
        MinCapacity=least,
        MaxCapacity=most,
    )
