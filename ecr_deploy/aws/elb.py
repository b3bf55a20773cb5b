"""Elastic Load Balancing: the health of the targets that the service's target group holds, and the load balancer's
deletion protection."""

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


def disable_deletion_protection(elbv2: Any, load_balancer_arn: str) -> bool:
    """Turn the load balancer's deletion protection off; True when it was on."""
    described = aws_call(
        "read the load balancer's attributes",
        elbv2.describe_load_balancer_attributes,
        LoadBalancerArn=load_balancer_arn,
    )
    attributes = {item["Key"]: item["Value"] for item in described.get("Attributes", [])}
    if attributes.get("deletion_protection.enabled") != "true":
        return False
    aws_call(
        "turn off the load balancer's deletion protection",
        elbv2.modify_load_balancer_attributes,
        LoadBalancerArn=load_balancer_arn,
        Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}],
    )
    return True
