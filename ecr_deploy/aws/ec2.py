"""EC2: the security-group rule that lets the service's tasks reach a database that outlives them, and the zones of
the subnets a service is given."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_call


def revoke_ingress_from(ec2: Any, group_id: str, source_group_id: str) -> int:
    """Remove the group's ingress rules that admit source_group_id; how many there were."""
    described = aws_call(f"read the security group {group_id}", ec2.describe_security_groups, GroupIds=[group_id])
    rules = [
        {**{k: v for k, v in rule.items() if k != "UserIdGroupPairs"}, "UserIdGroupPairs": [pair]}
        for rule in described["SecurityGroups"][0].get("IpPermissions", [])
        for pair in rule.get("UserIdGroupPairs", [])
        if pair.get("GroupId") == source_group_id
    ]
    if rules:
        aws_call(
            f"remove the tasks' access from {group_id}",
            ec2.revoke_security_group_ingress,
            GroupId=group_id,
            IpPermissions=[
                {key: rule[key] for key in ("IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs") if key in rule}
                for rule in rules
            ],
        )
    return len(rules)


def subnet_zones(ec2: Any, subnets: list[str]) -> dict[str, str]:
    """The Availability Zone of each subnet."""
    described = aws_call("read the subnets of sub_redes", ec2.describe_subnets, SubnetIds=subnets)
    return {subnet["SubnetId"]: subnet["AvailabilityZone"] for subnet in described["Subnets"]}
