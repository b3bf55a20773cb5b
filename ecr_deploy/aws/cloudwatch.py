"""CloudWatch alarms: the states that judge a release during deploy_ecs's bake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecr_deploy.aws.session import aws_call
from ecr_deploy.errors import DeployError

#: Not firing: OK, and INSUFFICIENT_DATA (a new alarm on AWS, or one with no traffic).
FIRING = "ALARM"


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str
    reason: str
    updated: datetime | None

    @property
    def firing(self) -> bool:
        return self.state == FIRING


def alarm_states(cloudwatch_client: Any, names: list[str]) -> list[AlarmState]:
    """The current state of each alarm named, in that order; an alarm that does not exist is refused by name."""
    found: dict[str, AlarmState] = {}
    for start in range(0, len(names), 100):  # DescribeAlarms takes 100 names at a time
        answer = aws_call(
            "read the alarms' states", cloudwatch_client.describe_alarms, AlarmNames=names[start : start + 100]
        )
        for alarm in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", []):
            found[alarm["AlarmName"]] = AlarmState(
                name=alarm["AlarmName"],
                state=alarm.get("StateValue", ""),
                reason=alarm.get("StateReason", ""),
                updated=alarm.get("StateUpdatedTimestamp"),
            )
    missing = [name for name in names if name not in found]
    if missing:
        raise DeployError(
            f"No CloudWatch alarm named {', '.join(missing)}; fix ECR_DEPLOY['ECS']['ALARMS'] (the service's own alarms "
            "come from provision_ecs: run it if they are missing)."
        )
    return [found[name] for name in names]
