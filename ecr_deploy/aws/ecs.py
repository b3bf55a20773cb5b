"""The ECS side of a deploy: the service's task definition, a one-off task judged by its exit code, a service update
waited on by its own deployment's rolloutState, and the tail of a task's CloudWatch log."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecr_deploy.aws.session import aws_call, aws_call_or_none
from ecr_deploy.common import Output, unified_diff
from ecr_deploy.errors import DeployError

#: The fields of describe_task_definition's answer that register_task_definition takes back.
REGISTERABLE = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)


def registerable(task_definition: dict[str, Any]) -> dict[str, Any]:
    return {key: task_definition[key] for key in REGISTERABLE if task_definition.get(key) not in (None, [], {})}


def with_image(
    task_definition: dict[str, Any],
    container: str,
    image: str,
    environment: dict[str, str],
    secrets: dict[str, str],
) -> dict[str, Any]:
    """A new revision's fields: those of task_definition (Terraform's shape) with container's image set, and its
    environment and secrets with these values added."""
    desired = copy.deepcopy(registerable(task_definition))
    containers = {definition["name"]: definition for definition in desired["containerDefinitions"]}
    if container not in containers:
        raise DeployError(
            f"The task definition {task_definition.get('family')}:{task_definition.get('revision')} has no container "
            f"named {container!r} (it has {', '.join(sorted(containers))}); set ECR_DEPLOY['ECS']['CONTAINER']."
        )
    target = containers[container]
    target["image"] = image
    values = {item["name"]: item["value"] for item in target.get("environment", [])} | environment
    target["environment"] = [{"name": name, "value": values[name]} for name in sorted(values)]
    arns = {item["name"]: item["valueFrom"] for item in target.get("secrets", [])} | secrets
    target["secrets"] = [{"name": name, "valueFrom": arns[name]} for name in sorted(arns)]
    return desired


def normalised(value: Any) -> Any:
    """value without empty fields, with name-keyed lists sorted: what a diff should compare (ecspresso #894)."""
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items() if item not in (None, [], {}, "")}
    if isinstance(value, list):
        items = [normalised(item) for item in value]
        if all(isinstance(item, dict) and "name" in item for item in items):
            items.sort(key=lambda item: item["name"])
        return items
    return value


def task_definition_diff(current: dict[str, Any], desired: dict[str, Any]) -> str:
    """A unified diff of the registerable fields, empty when the two would run the same thing."""
    before = json.dumps(normalised(registerable(current)), indent=2, sort_keys=True)
    after = json.dumps(normalised(registerable(desired)), indent=2, sort_keys=True)
    return unified_diff(before, after, "task-definition.json")


def named_container(task_definition: dict[str, Any], name: str) -> dict[str, Any]:
    """The container named name in the task definition, else its first."""
    containers = task_definition["containerDefinitions"]
    return next((container for container in containers if container["name"] == name), containers[0])


@dataclass(frozen=True)
class TaskOutcome:
    task_arn: str
    last_status: str
    exit_code: int | None
    stop_code: str
    stopped_reason: str
    log_tail: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    @property
    def still_running(self) -> bool:
        """The wait ended at its deadline with the task not yet stopped."""
        return self.last_status != "STOPPED"


class EcsService:
    """One ECS service and the clients it needs; every wait polls with a deadline and says what it saw."""

    def __init__(
        self,
        ecs_client: Any,
        logs_client: Any,
        cluster: str,
        service: str,
        *,
        poll_seconds: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ecs = ecs_client
        self.logs = logs_client
        self.cluster = cluster
        self.service = service
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.sleep = sleep

    def describe(self) -> dict[str, Any]:
        found = aws_call(
            f"describe the service {self.service}",
            self.ecs.describe_services,
            cluster=self.cluster,
            services=[self.service],
        )
        active = [service for service in found.get("services", []) if service.get("status") == "ACTIVE"]
        if not active:
            raise DeployError(
                f"The ECS service {self.service} is not running in cluster {self.cluster}; run provision_ecs first."
            )
        return active[0]

    def task_definition(self, arn: str) -> dict[str, Any]:
        described = aws_call(
            f"describe the task definition {arn}", self.ecs.describe_task_definition, taskDefinition=arn
        )
        return described["taskDefinition"]

    def register(self, fields: dict[str, Any]) -> str:
        registered = aws_call("register a task definition", self.ecs.register_task_definition, **fields)
        return registered["taskDefinition"]["taskDefinitionArn"]

    def deregister(self, arn: str) -> None:
        aws_call(f"deregister {arn}", self.ecs.deregister_task_definition, taskDefinition=arn)

    def previous_revision(self, family: str, current_arn: str) -> str | None:
        """The newest ACTIVE revision of family older than current_arn."""
        current = int(current_arn.rsplit(":", 1)[1])
        listed = aws_call(
            f"list the revisions of {family}",
            self.ecs.list_task_definitions,
            familyPrefix=family,
            status="ACTIVE",
            sort="DESC",
        )
        older = [arn for arn in listed.get("taskDefinitionArns", []) if int(arn.rsplit(":", 1)[1]) < current]
        return max(older, key=lambda arn: int(arn.rsplit(":", 1)[1]), default=None)

    def run_one_off(
        self,
        task_definition_arn: str,
        container: str,
        command: list[str],
        network_configuration: dict[str, Any],
        timeout_seconds: float,
        log_group: str,
        progress: Output,
        *,
        environment: dict[str, str] | None = None,
        on_poll: Callable[[str], None] | None = None,
    ) -> TaskOutcome:
        """Run command as a Fargate task of the revision (environment added to the container's) and wait until it
        stops, calling on_poll(task_arn) after each look; a task that never started is refused. Whether it exited 0,
        without an exit code or is still running at the deadline, the caller reads from the outcome."""
        override: dict[str, Any] = {"name": container, "command": command}
        if environment:
            override["environment"] = [{"name": name, "value": value} for name, value in sorted(environment.items())]
        started = aws_call(
            "run a one-off task",
            self.ecs.run_task,
            cluster=self.cluster,
            taskDefinition=task_definition_arn,
            launchType="FARGATE",
            count=1,
            startedBy="ecr_deploy",
            networkConfiguration=network_configuration,
            overrides={"containerOverrides": [override]},
        )
        if started.get("failures") or not started.get("tasks"):
            reasons = "; ".join(
                f"{f.get('arn', '')} {f.get('reason', '')}".strip() for f in started.get("failures", [])
            )
            raise DeployError(f"The task `{' '.join(command)}` did not start: {reasons or 'no task was created'}.")
        task_arn = started["tasks"][0]["taskArn"]
        progress(f"Task {task_arn.rsplit('/', 1)[1]}: started")
        deadline = self.clock() + timeout_seconds
        missing_delay = min(0.5, self.poll_seconds)
        while True:
            described = aws_call(
                "describe the one-off task", self.ecs.describe_tasks, cluster=self.cluster, tasks=[task_arn]
            )
            if not described.get("tasks"):  # MISSING: ECS is eventually consistent; retry with backoff (RunTask docs)
                if self.clock() >= deadline:
                    raise DeployError(
                        f"ECS answered the task `{' '.join(command)}` ({task_arn}) as MISSING for "
                        f"{timeout_seconds:g}s after starting it; it may still run. See it with `aws ecs describe-tasks "
                        f"--cluster {self.cluster} --tasks {task_arn}`."
                    )
                self.sleep(missing_delay)
                missing_delay = min(missing_delay * 2, max(self.poll_seconds, 0.5) * 4)
                continue
            task = described["tasks"][0]
            if on_poll:
                on_poll(task_arn)
            if task.get("lastStatus") == "STOPPED" or self.clock() >= deadline:
                break
            self.sleep(self.poll_seconds)
        containers = {c.get("name"): c for c in task.get("containers", [])}
        essential = containers.get(container) or next(iter(containers.values()), {})
        return TaskOutcome(
            task_arn=task_arn,
            last_status=task.get("lastStatus", ""),
            exit_code=essential.get("exitCode"),
            stop_code=task.get("stopCode", ""),
            stopped_reason=task.get("stoppedReason", "") or essential.get("reason", ""),
            log_tail=self.log_tail(log_group, f"app/{container}/{task_arn.rsplit('/', 1)[1]}"),
        )

    def log_tail(self, group: str, stream: str, lines: int = 20) -> list[str]:
        """The last lines of a task's log; empty when the stream was never written (a task that did not start)."""
        import botocore.exceptions

        try:
            events = self.logs.get_log_events(
                logGroupName=group, logStreamName=stream, limit=lines, startFromHead=False
            )
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return []
        return [event["message"].rstrip() for event in events.get("events", [])]

    def update(self, task_definition_arn: str) -> str:
        """Point the service at the revision; the id of the deployment this update created."""
        updated = aws_call(
            f"update the service {self.service}",
            self.ecs.update_service,
            cluster=self.cluster,
            service=self.service,
            taskDefinition=task_definition_arn,
        )
        primary = [d for d in updated["service"].get("deployments", []) if d.get("status") == "PRIMARY"]
        if not primary:
            raise DeployError(f"update_service of {self.service} answered without a PRIMARY deployment.")
        return primary[0]["id"]

    def wait_for_rollout(self, deployment_id: str, timeout_seconds: float, progress: Output) -> dict[str, Any]:
        """Wait until this deployment's rolloutState is COMPLETED; FAILED, or the deployment replaced by a
        rollback, is a failure with its reason; a timeout says what still runs and leaves the deployment going."""
        deadline = self.clock() + timeout_seconds
        seen = ""
        while True:
            service = self.describe()
            deployments = {d["id"]: d for d in service.get("deployments", [])}
            deployment = deployments.get(deployment_id)
            if deployment is None:
                raise DeployError(
                    f"The deployment {deployment_id} of {self.service} is gone: it was replaced (a rollback, or "
                    f"another deploy). Events: {_events(service)}"
                )
            state = deployment.get("rolloutState", "")
            line = f"{state} ({deployment.get('runningCount', 0)}/{deployment.get('desiredCount', 0)} tasks running)"
            if line != seen:
                progress(f"Rollout {deployment_id}: {line}")
                seen = line
            if state == "COMPLETED":
                return deployment
            if state == "FAILED":
                raise DeployError(
                    f"The rollout of {self.service} FAILED: {deployment.get('rolloutStateReason', 'no reason given')}; "
                    f"the circuit breaker rolls the service back to its previous revision. Events: {_events(service)}"
                )
            if self.clock() >= deadline:
                raise DeployError(
                    f"The rollout {deployment_id} of {self.service} is still {state} after {timeout_seconds:g}s "
                    f"({deployment.get('runningCount', 0)} of {deployment.get('desiredCount', 0)} tasks running, "
                    f"{deployment.get('failedTasks', 0)} failed); it goes on. Watch it in the ECS console or with "
                    f"`aws ecs describe-services --cluster {self.cluster} --services {self.service}`."
                )
            self.sleep(self.poll_seconds)

    def set_desired(self, count: int) -> None:
        aws_call(
            f"change the desired task count of {self.service}",
            self.ecs.update_service,
            cluster=self.cluster,
            service=self.service,
            desiredCount=count,
        )

    def wait_until_steady(self, timeout_seconds: float, progress: Output) -> dict[str, Any]:
        """Wait until one deployment runs every desired task, none pending; a timeout says what runs and leaves
        the service going."""
        deadline = self.clock() + timeout_seconds
        seen = ""
        while True:
            service = self.describe()
            running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
            pending, deployments = service.get("pendingCount", 0), len(service.get("deployments", []))
            line = f"{running}/{desired} tasks running, {pending} pending, {deployments} deployment(s)"
            if line != seen:
                progress(f"Service {self.service}: {line}")
                seen = line
            if running == desired and not pending and deployments == 1:
                return service
            if self.clock() >= deadline:
                raise DeployError(
                    f"{self.service} is not steady after {timeout_seconds:g}s ({line}); it goes on. Events: "
                    f"{_events(service)}"
                )
            self.sleep(self.poll_seconds)


def one_off_tasks(ecs_client: Any, cluster: str | None) -> list[str]:
    """The ARNs of the one-off tasks (run_ecs, a deploy's migrate: started by ecr_deploy) still running in cluster."""
    if not cluster:
        return []
    listed = aws_call_or_none(
        f"list the one-off tasks of {cluster}",
        "ClusterNotFoundException",
        ecs_client.list_tasks,
        cluster=cluster,
        startedBy="ecr_deploy",
        desiredStatus="RUNNING",
    )
    return sorted((listed or {}).get("taskArns", []))


def stop_tasks(
    ecs_client: Any, cluster: str, tasks: list[str], timeout_seconds: float, poll_seconds: float = 3.0
) -> None:
    """Stop the tasks and wait until each is STOPPED (ECS keeps a cluster, and a security group, that tasks use)."""
    for task in tasks:
        aws_call(f"stop the task {task}", ecs_client.stop_task, cluster=cluster, task=task, reason="destroy_ecs")
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = aws_call("describe the stopping tasks", ecs_client.describe_tasks, cluster=cluster, tasks=tasks)
        running = [task["taskArn"] for task in described.get("tasks", []) if task.get("lastStatus") != "STOPPED"]
        if not running:
            return
        if time.monotonic() >= deadline:
            raise DeployError(
                f"The tasks {', '.join(running)} did not stop within {timeout_seconds:g}s; destroy again."
            )
        time.sleep(poll_seconds)


def deregister_family(ecs_client: Any, family: str) -> list[str]:
    """Deregister every ACTIVE revision of the family (deploy_ecs registers them outside Terraform); their ARNs."""
    arns: list[str] = []
    for page in ecs_client.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE"):
        arns += [
            arn for arn in page.get("taskDefinitionArns", []) if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family
        ]
    for arn in arns:
        aws_call(f"deregister {arn}", ecs_client.deregister_task_definition, taskDefinition=arn)
    return arns


def _events(service: dict[str, Any], count: int = 3) -> str:
    return " | ".join(event.get("message", "") for event in service.get("events", [])[:count]) or "none"
