"""scale_ecs: autoscaling's bounds and the desired task count, changed through the API (no terraform run), then
waited on until the service is steady.

The settings stay the one source of the bounds: provision_ecs applies tarefas_min and tarefas_max from
ECR_DEPLOY['ECS']['TERRAFORM_VARS'] (else infra/ecs's defaults), so a bound that differs from them is refused with
the settings line to write; the next provision_ecs then keeps what scale_ecs set. The desired count is not
Terraform's after the first apply (ignore_changes): scale_ecs sets it, and autoscaling moves it between the bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecr_deploy import conf
from ecr_deploy.aws.autoscaling import scaling_bounds, set_scaling_bounds
from ecr_deploy.aws.ecs import EcsService
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError, DeployError
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.workflows.service import (
    Progress,
    check_process,
    planned_variable,
    process_service,
    service_outputs,
    uses_image_sqlite,
)


@dataclass
class ScaleResult:
    environment: str
    service: str
    min_tasks: int
    max_tasks: int
    desired: int
    running: int
    before: dict[str, Any]
    changed: bool


def settings_place(environment: Environment) -> str:
    """Where the environment's TERRAFORM_VARS of the service are written in settings."""
    if environment.name in conf.get("ENVIRONMENTS"):
        return f"ECR_DEPLOY['ENVIRONMENTS'][{environment.name!r}]['ECS']['TERRAFORM_VARS']"
    return "ECR_DEPLOY['ECS']['TERRAFORM_VARS']"


def scale_service(
    environment: Environment,
    session: Any,
    stack: Stack,
    progress: Progress,
    *,
    least: int | None,
    most: int | None,
    desired: int | None,
    timeout_seconds: float,
    process: str | None = None,
) -> ScaleResult:
    """Check the request against the settings and the database, then set the bounds and the desired count (the
    current one, kept between the bounds, when none is given) and wait until the service (or the process's) is
    steady."""
    check_process(environment, process)
    web = process in (None, "web")
    config = None if web else environment.ecs.processes.get(str(process))
    planned = (
        (
            int(planned_variable(environment, stack, "tarefas_min", 1)),
            int(planned_variable(environment, stack, "tarefas_max", 1)),
        )
        if config is None
        else (config.min, config.max)
    )
    least = planned[0] if least is None else least
    most = planned[1] if most is None else most
    if not 0 <= least <= most or most < 1:
        raise ConfigurationError(f"--min {least} --max {most}: give 0 <= min <= max, and max at least 1.")
    if (least, most) != planned and (web or config is not None):
        names, place = (
            (("tarefas_min", "tarefas_max"), settings_place(environment))
            if web
            else (("min", "max"), f"ECR_DEPLOY['ECS']['PROCESSES'][{process!r}]")
        )
        raise ConfigurationError(
            f"--min {least} --max {most} differ from the settings' {names[0]} {planned[0]} and {names[1]} "
            f"{planned[1]}, which the next provision_ecs would put back. Write them first, in "
            f'{place}: "{names[0]}": {least}, "{names[1]}": {most}; then run scale_ecs again. Nothing was changed.'
        )
    outputs = service_outputs(stack, progress)
    service_name = process_service(outputs, process)
    if web and most > 1 and (environment.ecs.database == "none" or uses_image_sqlite(environment, outputs)):
        raise ConfigurationError(
            f"More than one task (--max {most}) with the image's SQLite: each task keeps its own, so a record written "
            "through one is missing from the others. Use ECR_DEPLOY['ECS']['DATABASE'] 'rds' (provision_ecs, then "
            "deploy_ecs), or scale with --max 1. Nothing was changed."
        )
    cluster, name = outputs["cluster"], service_name
    ecs = EcsService(session.client("ecs"), None, cluster, name)
    autoscaling = session.client("application-autoscaling")
    live = ecs.describe()
    bounds = scaling_bounds(autoscaling, cluster, name)
    if bounds is None:
        raise DeployError(f"{name} has no autoscaling target: run provision_ecs, which makes it.")
    before = {"min_tasks": bounds[0], "max_tasks": bounds[1], "desired": live.get("desiredCount", 0)}
    desired = min(max(before["desired"], least), most) if desired is None else desired
    if not least <= desired <= most:
        raise ConfigurationError(f"--desired {desired} is outside --min {least} .. --max {most}. Nothing was changed.")
    changed = (least, most, desired) != (bounds[0], bounds[1], before["desired"])
    if changed:
        progress.heading(
            f"Scale {name}: min {bounds[0]} -> {least}, max {bounds[1]} -> {most}, desired {before['desired']} -> "
            f"{desired}"
        )
        set_scaling_bounds(autoscaling, cluster, name, least, most)
        ecs.set_desired(desired)
    else:
        progress.heading(f"Scale {name}: already min {least}, max {most}, desired {desired}.")
    steady = ecs.wait_until_steady(timeout_seconds, progress.heading)
    return ScaleResult(
        environment=environment.name,
        service=name,
        min_tasks=least,
        max_tasks=most,
        desired=steady.get("desiredCount", 0),
        running=steady.get("runningCount", 0),
        before=before,
        changed=changed,
    )
