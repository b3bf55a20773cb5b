"""run_ecs: a one-off command as a Fargate task of the revision the service runs, on its network, with its
environment and secrets (deploy_ecs's migrate and fixture tasks go the same way: EcsService.run_one_off), its log
shown as it comes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ecr_deploy.aws.ecs import EcsService, TaskOutcome
from ecr_deploy.aws.logs import LogCursor, LogLine, task_streams
from ecr_deploy.aws.session import LazyClient
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.workflows.logs import log_source
from ecr_deploy.workflows.service import Progress, check_process, process_service, service_outputs

#: A value under a name like these belongs in Secrets Manager, read by ARN when the task starts: an --env-var is
#: kept in plain text in the task's overrides (DescribeTasks, CloudTrail).
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_env_vars(pairs: list[str], secret_names: set[str]) -> dict[str, str]:
    """--env-var K=V, each a plain value: a secret's name is refused (those go by ARN, ECR_DEPLOY['ECS']['SECRETS'])."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not _NAME.match(name):
            raise ConfigurationError(f"--env-var {pair!r} is not NAME=VALUE (a name of letters, digits and _).")
        if name in secret_names or SECRET_NAME.search(name):
            raise ConfigurationError(
                f"--env-var {name}: a secret is never passed as a value (it would stay in plain text in the task's "
                "overrides). Put it in Secrets Manager and name its ARN in ECR_DEPLOY['ECS']['SECRETS'], then deploy."
            )
        values[name] = value
    return values


def run_command(
    environment: Environment,
    session: Any,
    stack: Stack,
    progress: Progress,
    command: list[str],
    env_vars: list[str],
    timeout_seconds: float,
    show: Callable[[LogLine], None],
    process: str | None = None,
) -> TaskOutcome:
    """command as a one-off task of the running revision (the web's, or the process's); each log line shown as it
    comes. The outcome says whether
    it stopped (and its exit code) or was still running at the timeout (it is left running)."""
    if not command:
        raise ConfigurationError(
            "Give the command after --, e.g. run_ecs -- python manage.py createsuperuser --noinput"
        )
    check_process(environment, process)
    values = parse_env_vars(env_vars, set(environment.ecs.secrets))
    outputs = service_outputs(stack, progress)
    logs = LazyClient(session, "logs")
    service = EcsService(session.client("ecs"), logs, outputs["cluster"], process_service(outputs, process))
    live = service.describe()
    definition = service.task_definition(live["taskDefinition"])
    container = environment.ecs.container
    secrets = {s["name"] for c in definition["containerDefinitions"] for s in c.get("secrets", [])}
    parse_env_vars(env_vars, secrets)  # the revision's own secrets, by name
    source = log_source(definition, container)
    cursors: dict[str, LogCursor] = {}
    started_ms = int(datetime.now(timezone.utc).timestamp() * 1000) - 60_000

    def show_new_lines(task_arn: str) -> None:
        """The task's new lines; its stream is looked for until it exists (a task that has not started has none)."""
        stream = f"{source.stream_prefix}{task_arn.rsplit('/', 1)[-1]}"
        if task_arn not in cursors:
            if stream not in task_streams(logs, source.group, stream):
                return
            cursors[task_arn] = LogCursor(logs, source.group, started_ms, streams=[stream])
        for line in cursors[task_arn].read():
            show(line)

    progress.heading(f"Run: `{' '.join(command)}` as a one-off task of {live['taskDefinition'].rsplit('/', 1)[-1]}")
    outcome = service.run_one_off(
        live["taskDefinition"],
        container,
        command,
        {"awsvpcConfiguration": live["networkConfiguration"]["awsvpcConfiguration"]},
        timeout_seconds,
        source.group,
        progress.heading,
        environment=values,
        on_poll=show_new_lines,
    )
    show_new_lines(outcome.task_arn)  # what reached CloudWatch after the last look
    return outcome
