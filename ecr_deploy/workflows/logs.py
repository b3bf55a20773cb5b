"""logs_ecs: the service's log lines (its tasks' and the one-off tasks'), interleaved in time, once or followed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ecr_deploy.aws.ecs import EcsService, named_container
from ecr_deploy.aws.logs import LogCursor, LogLine, task_streams
from ecr_deploy.aws.scheduler import job_runs
from ecr_deploy.aws.session import LazyClient
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError, DeployError
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.workflows.service import Progress, check_process, process_service, service_outputs

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime) -> datetime:
    """--since: a duration back from now (30s, 10m, 1h, 2d) or an ISO 8601 time (UTC when it has no zone)."""
    if match := _DURATION.match(text.strip()):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigurationError(
            f"--since {text!r} is neither a duration (30s, 10m, 1h, 2d) nor an ISO time (2026-12-02T14:00)."
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if moment > now:
        raise ConfigurationError(f"--since {text} is in the future.")
    return moment


@dataclass(frozen=True)
class LogQuery:
    since: datetime
    follow: bool = False
    pattern: str = ""
    #: A task id (or its first characters): only that task's lines, a one-off task's too.
    task: str = ""
    #: A process of PROCESSES: only its tasks' lines (None: every task of the service).
    process: str | None = None
    #: A scheduled job of SCHEDULES: only the lines of the tasks its schedule ran.
    schedule: str | None = None


@dataclass(frozen=True)
class LogSource:
    """Where the service's containers write: the group, and the prefix of each task's stream."""

    group: str
    stream_prefix: str


def log_source(definition: dict[str, Any], container_name: str) -> LogSource:
    """The awslogs configuration of the named container (else the first) in a task definition."""
    container = named_container(definition, container_name)
    options = (container.get("logConfiguration") or {}).get("options", {})
    if "awslogs-group" not in options:
        raise DeployError(
            f"The container {container['name']} of {definition['taskDefinitionArn']} does not log to CloudWatch "
            "(no awslogs log configuration): there is nothing to read."
        )
    prefix = options.get("awslogs-stream-prefix", "")
    return LogSource(options["awslogs-group"], f"{prefix}/{container['name']}/" if prefix else "")


def log_cursor(client: Any, source: LogSource, query: LogQuery, job_tasks: list[str] | None = None) -> LogCursor:
    """A cursor over the group, narrowed to the task's streams when one is asked for, to a process's, or to those of
    the tasks a schedule ran (job_tasks)."""
    streams = None
    if job_tasks is not None:
        streams = [f"{source.stream_prefix}{task}" for task in job_tasks] or [f"{source.stream_prefix}none"]
    elif query.task:
        task = query.task.rsplit("/", 1)[-1]
        streams = task_streams(client, source.group, f"{source.stream_prefix}{task}")
        if not streams:
            raise DeployError(
                f"No log stream for a task {task} in {source.group}: the task never started, its id is mistyped, or "
                "its log has expired."
            )
    return LogCursor(
        client,
        source.group,
        int(query.since.timestamp() * 1000),
        pattern=query.pattern,
        streams=streams,
        stream_prefix=source.stream_prefix if query.process else "",
    )


def service_logs(
    environment: Environment,
    session: Any,
    stack: Stack,
    progress: Progress,
    query: LogQuery,
    show: Callable[[LogLine], None],
    *,
    poll_seconds: float = 2.0,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Show each line of the service's log group since query.since; with follow, poll for new ones until
    interrupted. The number of lines shown."""
    check_process(environment, query.process)
    if query.schedule is not None and query.schedule not in environment.ecs.schedules:
        known = ", ".join(environment.ecs.schedules) or "none"
        raise ConfigurationError(
            f"--schedule {query.schedule}: the service has no such scheduled job (it has {known}); SCHEDULES in "
            "ECR_DEPLOY['ECS'] names them."
        )
    outputs = service_outputs(stack, progress)
    ecs_client = session.client("ecs")
    ecs = EcsService(ecs_client, None, outputs["cluster"], process_service(outputs, query.process))
    definition = ecs.task_definition(ecs.describe()["taskDefinition"])
    source = log_source(definition, environment.ecs.container)
    job_tasks = None
    if query.schedule is not None:
        if query.schedule not in (outputs.get("agendamentos") or {}):
            raise DeployError(
                f"--schedule {query.schedule}: its schedule was never made; run `python manage.py provision_ecs`."
            )
        job_tasks = [
            run.task_arn.rsplit("/", 1)[-1]
            for run in job_runs(ecs_client, outputs["cluster"], definition["family"], query.schedule)
        ]
        if not job_tasks:
            progress.heading(f"The schedule {query.schedule} ran no task that ECS still lists (it keeps them an hour).")
    cursor = log_cursor(LazyClient(session, "logs"), source, query, job_tasks)
    shown = 0
    while True:
        for line in cursor.read():
            show(line)
            shown += 1
        if not query.follow:
            return shown
        (sleep or time.sleep)(poll_seconds)
