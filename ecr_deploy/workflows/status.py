"""status_ecs: what the environment's service runs and how it is doing (ECS, its target group, autoscaling, the
image's tags in ECR, the RDS instance), with an estimate of what it costs per month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ecr_deploy.aws.autoscaling import scaling_bounds
from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.aws.ecs import EcsService, named_container
from ecr_deploy.aws.elb import target_health
from ecr_deploy.aws.queues import queue_depth
from ecr_deploy.aws.rds import db_instance
from ecr_deploy.aws.scheduler import last_run, schedule_target
from ecr_deploy.aws.session import LazyClient
from ecr_deploy.aws.storage import bucket_usage
from ecr_deploy.environments import Environment
from ecr_deploy.schedules import next_run
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.workflows.config import store as config_store
from ecr_deploy.workflows.config import undeployed_changes
from ecr_deploy.workflows.service import Progress, service_outputs, service_url

#: On-demand list prices (USD) that the estimate uses, as AWS published them for us-east-1 on 2026-12-01. Other
#: regions differ by a few percent; data transfer, LCUs above one, logs and snapshots are left out.
PRICES: dict[str, Any] = {
    "as_of": "2026-12-01",
    "region": "us-east-1",
    "fargate_vcpu_hour": 0.04048,
    "fargate_gb_hour": 0.004445,
    "alb_hour": 0.0225,
    "alb_lcu_hour": 0.008,
    "rds_instance_hour": {"db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065},
    "rds_storage_gb_month": {"gp3": 0.115, "gp2": 0.115, "io1": 0.125},
}
HOURS_PER_MONTH = 730
#: What `status_ecs` exits with when the service is not steady (a deployment under way, tasks missing).
NOT_STEADY_EXIT = 3


@dataclass
class ServiceStatus:
    environment: str
    service: str
    url: str
    image: str
    image_tags: list[str]
    task_definition: str
    desired: int
    running: int
    pending: int
    min_tasks: int | None
    max_tasks: int | None
    deployments: list[dict[str, Any]]
    targets: list[dict[str, str]]
    events: list[str]
    database: dict[str, Any] | None
    #: The storage bucket: its name, current files and their size; None without STORAGE.
    storage: dict[str, Any] | None
    #: config_ecs's changes that the next deploy_ecs brings.
    configuration_pending: list[str]
    #: The service's other processes: each one's service, revision, and tasks.
    processes: list[dict[str, Any]]
    #: The service's queues: each one's waiting and in-flight messages, and its dead-letter queue's.
    queues: list[dict[str, Any]]
    #: The scheduled jobs: each one's expression, time zone, next run, revision and last run.
    schedules: list[dict[str, Any]]
    monthly_cost_usd: float
    cost_basis: str
    steady: bool
    not_steady_because: list[str] = field(default_factory=list)


def monthly_cost(running: int, cpu_units: int, memory_mib: int, database: dict[str, Any] | None) -> float:
    """What the running tasks, one load balancer (one LCU) and the database cost per month at PRICES."""
    task_hour = cpu_units / 1024 * PRICES["fargate_vcpu_hour"] + memory_mib / 1024 * PRICES["fargate_gb_hour"]
    hourly = running * task_hour + PRICES["alb_hour"] + PRICES["alb_lcu_hour"]
    return round(hourly * HOURS_PER_MONTH + database_monthly_cost(database), 2)


def database_monthly_cost(database: dict[str, Any] | None) -> float:
    """What the DB instance and its storage cost per month at PRICES; 0 without one."""
    if not database:
        return 0.0
    instance = PRICES["rds_instance_hour"].get(database["class"], 0.0) * HOURS_PER_MONTH
    return instance + PRICES["rds_storage_gb_month"].get(database["storage_type"], 0.115) * database["storage_gb"]


def database_summary(instance: dict[str, Any] | None) -> dict[str, Any] | None:
    """The RDS instance's status, engine version, class and storage; None when there is none."""
    if instance is None:
        return None
    return {
        "status": instance.get("DBInstanceStatus", ""),
        "engine": f"{instance.get('Engine', '')} {instance.get('EngineVersion', '')}".strip(),
        "class": instance.get("DBInstanceClass", ""),
        "storage_gb": instance.get("AllocatedStorage", 0),
        "storage_type": instance.get("StorageType", ""),
    }


def _age(since: Any, now: datetime) -> str:
    if not isinstance(since, datetime):
        return ""
    seconds = int((now - since).total_seconds())
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def storage_summary(session: Any, outputs: dict[str, Any]) -> dict[str, Any] | None:
    bucket = (outputs.get("armazenamento") or {}).get("bucket")
    if not bucket:
        return None
    usage = bucket_usage(session.client("s3"), bucket)
    return {"bucket": bucket, "files": usage.files, "size_bytes": usage.size_bytes}


def process_status(ecs_client: Any, cluster: str, name: str, made: dict[str, Any]) -> dict[str, Any]:
    """One process's service as ECS describes it: its revision and tasks, and why it is not steady ("" when it is)."""
    live = EcsService(ecs_client, None, cluster, made["servico"]).describe()
    running, desired = live.get("runningCount", 0), live.get("desiredCount", 0)
    deployments = live.get("deployments", [])
    why = (
        f"{len(deployments)} deployments"
        if len(deployments) != 1
        else f"{running} of {desired} tasks running"
        if running != desired
        else ""
    )
    return {
        "name": name,
        "service": made["servico"],
        "task_definition": live["taskDefinition"],
        "running": running,
        "desired": desired,
        "rollout_state": deployments[0].get("rolloutState", "") if deployments else "",
        "not_steady_because": why,
    }


def queue_status(sqs: Any, name: str, made: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        **queue_depth(sqs, made["url"]),
        "dead_letters": queue_depth(sqs, made["morta_url"])["waiting"],
    }


def schedule_status(
    scheduler: Any, ecs_client: Any, cluster: str, family: str, name: str, made: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A scheduled job: its expression and time zone, when it runs next, the revision it runs, and its last task."""
    upcoming = next_run(made["expressao"], made["fuso"], now)
    last = last_run(ecs_client, cluster, family, name)
    return {
        "name": name,
        "expression": made["expressao"],
        "timezone": made["fuso"],
        "next_run": upcoming.isoformat() if upcoming else None,
        "task_definition": schedule_target(scheduler, made["grupo"], made["nome"]),
        "last_run": None
        if last is None
        else {"started": last.started, "exit_code": last.exit_code, "status": last.status},
    }


def service_status(environment: Environment, session: Any, stack: Stack, progress: Progress) -> ServiceStatus:
    """The service as AWS describes it now; steady when one deployment runs, COMPLETED, with every task running."""
    outputs = service_outputs(stack, progress)
    cluster, name = outputs["cluster"], outputs["servico"]
    ecs_client = session.client("ecs")
    ecs = EcsService(ecs_client, LazyClient(session, "logs"), cluster, name)
    live = ecs.describe()
    definition = ecs.task_definition(live["taskDefinition"])
    image = named_container(definition, environment.ecs.container)["image"]
    repository_uri, _, digest = image.partition("@")
    bounds = scaling_bounds(session.client("application-autoscaling"), cluster, name)
    groups = [balancer["targetGroupArn"] for balancer in live.get("loadBalancers", []) if "targetGroupArn" in balancer]
    elbv2 = LazyClient(session, "elbv2")
    targets = [target for group in groups for target in target_health(elbv2, group)]
    database = database_summary(db_instance(session.client("rds"), name)) if outputs.get("banco") else None
    now = datetime.now(timezone.utc)
    deployments = [
        {
            "id": deployment.get("id", ""),
            "status": deployment.get("status", ""),
            "rollout_state": deployment.get("rolloutState", ""),
            "task_definition": deployment.get("taskDefinition", ""),
            "running": deployment.get("runningCount", 0),
            "desired": deployment.get("desiredCount", 0),
            "age": _age(deployment.get("createdAt"), now),
        }
        for deployment in live.get("deployments", [])
    ]
    desired, running, pending = live.get("desiredCount", 0), live.get("runningCount", 0), live.get("pendingCount", 0)
    reasons = []
    if len(deployments) != 1:
        reasons.append(f"{len(deployments)} deployments")
    if any(d["status"] == "PRIMARY" and d["rollout_state"] not in {"COMPLETED", ""} for d in deployments):
        reasons.append("the rollout is not COMPLETED")
    if running != desired or pending:
        reasons.append(f"{running} of {desired} tasks running, {pending} pending")
    if any(target["state"] not in {"healthy", "unused"} for target in targets):
        reasons.append("a target is not healthy")
    processes = [
        process_status(ecs_client, cluster, name, made) for name, made in (outputs.get("processos") or {}).items()
    ]
    reasons += [
        f"the process {process['name']}: {process['not_steady_because']}"
        for process in processes
        if process["not_steady_because"]
    ]
    sqs, scheduler = LazyClient(session, "sqs"), LazyClient(session, "scheduler")
    queues = [queue_status(sqs, queue, made) for queue, made in (outputs.get("filas") or {}).items()]
    family = definition["family"]
    schedules = [
        schedule_status(scheduler, ecs_client, cluster, family, job, made, now)
        for job, made in (outputs.get("agendamentos") or {}).items()
    ]
    reasons += [
        f"the schedule {job['name']} runs {job['task_definition'].rsplit('/', 1)[-1]}, not the web's revision "
        "(deploy_ecs points it)"
        for job in schedules
        if job["task_definition"] != live["taskDefinition"]
    ]
    return ServiceStatus(
        environment=environment.name,
        service=name,
        url=service_url(outputs),
        image=image,
        image_tags=EcrApi(session.client("ecr")).image_tags(repository_uri.partition("/")[2], digest) if digest else [],
        task_definition=live["taskDefinition"],
        desired=desired,
        running=running,
        pending=pending,
        min_tasks=bounds[0] if bounds else None,
        max_tasks=bounds[1] if bounds else None,
        deployments=deployments,
        targets=targets,
        events=[f"{_age(e.get('createdAt'), now)} ago: {e.get('message', '')}" for e in live.get("events", [])[:10]],
        database=database,
        storage=storage_summary(session, outputs),
        processes=processes,
        queues=queues,
        schedules=schedules,
        configuration_pending=undeployed_changes(
            config_store(environment, session), definition, environment.ecs.container
        ),
        monthly_cost_usd=monthly_cost(
            running, int(definition.get("cpu", 256)), int(definition.get("memory", 512)), database
        ),
        cost_basis=f"on-demand list prices of {PRICES['region']} as of {PRICES['as_of']}: ecr_deploy.workflows.status.PRICES",
        steady=not reasons,
        not_steady_because=reasons,
    )
