"""The service's scheduled jobs (infra/ecs/agendamentos.tf): the revision each schedule runs, pointed at another,
and the tasks it ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecr_deploy.aws.session import aws_call

#: What UpdateSchedule takes back of GetSchedule's answer: it replaces the whole schedule, so each is given again.
_SCHEDULE_FIELDS = (
    "Name",
    "GroupName",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "FlexibleTimeWindow",
    "Target",
    "StartDate",
    "EndDate",
    "Description",
    "State",
    "KmsKeyArn",
    "ActionAfterCompletion",
)
#: The task group that infra/ecs gives a job's tasks, as RunTask's `group`.
TASK_GROUP = "agendamento:{name}"


@dataclass(frozen=True)
class JobRun:
    """A task that a schedule ran: when it started, and its container's exit code when it stopped."""

    task_arn: str
    started: str
    exit_code: int | None
    status: str


def schedule_target(scheduler: Any, group: str, name: str) -> str:
    """The task definition revision the schedule runs."""
    schedule = aws_call(f"read the schedule {group}/{name}", scheduler.get_schedule, GroupName=group, Name=name)
    return schedule["Target"]["EcsParameters"]["TaskDefinitionArn"]


def point_schedule(scheduler: Any, group: str, name: str, task_definition: str) -> str:
    """Point the schedule at the revision, everything else kept; the revision it ran."""
    schedule = aws_call(f"read the schedule {group}/{name}", scheduler.get_schedule, GroupName=group, Name=name)
    before = schedule["Target"]["EcsParameters"]["TaskDefinitionArn"]
    if before != task_definition:
        fields = {key: schedule[key] for key in _SCHEDULE_FIELDS if key in schedule}
        fields["Target"]["EcsParameters"]["TaskDefinitionArn"] = task_definition
        aws_call(f"point the schedule {group}/{name} at {task_definition}", scheduler.update_schedule, **fields)
    return before


def job_runs(ecs: Any, cluster: str, family: str, name: str) -> list[JobRun]:
    """The tasks the job's schedule ran (its group) that ECS still lists, running or stopped (it keeps a stopped task
    about an hour), newest first."""
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        found = aws_call(
            f"list the tasks of {family}", ecs.list_tasks, cluster=cluster, family=family, desiredStatus=status
        )
        arns += found["taskArns"]
    tasks = []
    for start in range(0, len(arns), 100):
        chunk = arns[start : start + 100]
        tasks += aws_call(f"describe the tasks of {family}", ecs.describe_tasks, cluster=cluster, tasks=chunk)["tasks"]
    ran = [task for task in tasks if task.get("group") == TASK_GROUP.format(name=name)]
    ran.sort(key=lambda task: str(task.get("createdAt", "")), reverse=True)
    return [
        JobRun(
            task_arn=task["taskArn"],
            started=str(task.get("startedAt") or task.get("createdAt", "")),
            exit_code=next((c["exitCode"] for c in task.get("containers", []) if "exitCode" in c), None),
            status=task.get("lastStatus", ""),
        )
        for task in ran
    ]


def last_run(ecs: Any, cluster: str, family: str, name: str) -> JobRun | None:
    """The newest task the job's schedule ran; None when ECS lists none."""
    return next(iter(job_runs(ecs, cluster, family, name)), None)
