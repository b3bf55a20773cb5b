"""Elastic Load Balancing: the health of the targets that the service's target group holds."""

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
