"""destroy_ecs: a plan of what goes, what it costs now and what stays; then the service's stack destroyed, with
deletion protection turned off first. The database is taken out of Terraform before the destroy: it always gets a
snapshot named with the date, and is deleted only when asked (by the API, with that snapshot as its final one);
otherwise it is kept with its subnet group, security group and secret. The storage bucket is kept with its files
unless asked; config_ecs's variables go unless asked to stay. Secrets go after a recovery window. The ECR
repository goes only when asked, with its images only when asked too. The state's objects stay (the bucket is
versioned)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ecr_deploy.aws.ec2 import revoke_ingress_from
from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.aws.ecs import EcsService, deregister_family, one_off_tasks, stop_tasks
from ecr_deploy.aws.elb import disable_deletion_protection
from ecr_deploy.aws.ownership import existing_resource
from ecr_deploy.aws.parameters import ParameterStore, configuration_path
from ecr_deploy.aws.rds import db_instance, delete_instance, snapshot_instance
from ecr_deploy.aws.secrets import schedule_deletion
from ecr_deploy.aws.session import account_id, aws_call
from ecr_deploy.aws.storage import bucket_tags, bucket_usage, empty_bucket, storage_bucket_name
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError, DeployError, EcrDeployError
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.terraform.state import instance_attributes, output_values
from ecr_deploy.workflows.provision import named_resources, service_variables
from ecr_deploy.workflows.service import Progress, service_outputs
from ecr_deploy.workflows.stacks import owned_by
from ecr_deploy.workflows.status import database_monthly_cost, database_summary, monthly_cost

#: Days a deleted secret can still be restored (`aws secretsmanager restore-secret`); AWS allows 7 to 30.
RECOVERY_DAYS = 7
#: The database and what it needs to be reached again, by Terraform type, as infra/ecs/banco.tf names them.
DATABASE_PARTS = {
    "aws_db_instance": "aws_db_instance.banco[0]",
    "aws_db_subnet_group": "aws_db_subnet_group.banco[0]",
    "aws_security_group": "aws_security_group.banco[0]",
    "aws_secretsmanager_secret": "aws_secretsmanager_secret.banco[0]",
}
DATABASE_SECRET_VERSION = "aws_secretsmanager_secret_version.banco[0]"
#: The storage bucket and its settings (infra/ecs/armazenamento.tf): out of Terraform before the destroy, so that a
#: kept bucket keeps them; the task role's policy on it goes with the role.
STORAGE_PARTS = tuple(
    f"aws_s3_bucket{part}.arquivos[0]"
    for part in (
        "",
        "_ownership_controls",
        "_public_access_block",
        "_server_side_encryption_configuration",
        "_versioning",
        "_lifecycle_configuration",
        "_policy",
    )
)


@dataclass(frozen=True)
class DestroyOptions:
    delete_database: bool = False
    delete_storage: bool = False
    keep_config: bool = False
    with_repository: bool = False
    delete_images: bool = False
    timeout_seconds: float = 1800


@dataclass
class DestroyPlan:
    environment: str
    service: str
    #: The addresses that terraform destroys; the secrets (name: ARN) scheduled for deletion, and their addresses.
    destroy: list[str]
    secrets: dict[str, str]
    secret_addresses: list[str]
    #: The database: its identifier, the snapshot it gets, whether it is deleted, and the names of its parts.
    database: dict[str, Any] | None
    #: The storage bucket: its name, files and size, and whether it is deleted.
    storage: dict[str, Any] | None
    #: config_ecs's variables removed with the service: their path and keys (empty when kept or none).
    config: dict[str, Any] | None
    #: The ECR repository deleted (with how many images), when asked.
    repository: dict[str, Any] | None
    keep: list[str]
    #: The task-definition family whose revisions are deregistered (deploy_ecs's are not Terraform's).
    family: str
    #: The families of the service's other processes, deregistered too.
    process_families: list[str]
    monthly_cost_usd: float
    kept_monthly_cost_usd: float
    #: The one-off tasks (run_ecs, a deploy's migrate) still running in the cluster: stopped first, since AWS keeps a
    #: cluster and a security group that tasks still use.
    tasks: list[str] = field(default_factory=list)
    recovery_days: int = RECOVERY_DAYS
    done: list[str] = field(default_factory=list)

    @property
    def nothing_left(self) -> bool:
        return (
            not self.tasks
            and not self.destroy
            and not self.secrets
            and self.repository is None
            and not self.deletes_database
            and not (self.storage and self.storage["delete"])
            and not self.config
        )

    @property
    def deletes_database(self) -> bool:
        return bool(self.database and self.database["delete"])


def plan_destroy(
    environment: Environment, session: Any, stack: Stack, progress: Progress, options: DestroyOptions
) -> DestroyPlan:
    """What destroy_ecs would do, read from the state and AWS; refused before anything changes when the repository
    is not this environment's, or holds images without --delete-images."""
    name = environment.ecs.service
    stack.check(progress.heading)
    document = stack.state_document() or {}
    addresses = sorted(address for address in stack.managed_resources() if not address.startswith("data."))
    in_state = {kind: address for kind, address in DATABASE_PARTS.items() if address in addresses}
    database = _database(environment, session, name, in_state, options)
    storage = _storage(environment, session, document, addresses, options)
    # never terraform's to destroy: see above
    database_parts = {*DATABASE_PARTS.values(), DATABASE_SECRET_VERSION, *STORAGE_PARTS}
    secrets = {
        attributes["name"]: attributes["arn"]
        for address in addresses
        if address.startswith("aws_secretsmanager_secret.") and address not in database_parts
        for attributes in [instance_attributes(document, address)]
        if attributes
    }
    own = [address for address in addresses if address not in database_parts]
    secret_addresses = [address for address in own if address.startswith("aws_secretsmanager_secret")]
    destroy = [address for address in own if address not in secret_addresses]
    repository = _repository(environment, session, options)
    keep = []
    kept_cost = 0.0
    if database and not database["delete"]:
        kept_cost = database_monthly_cost(database["summary"])
        keep.append(
            f"the database {database['identifier']} ({database['summary']['class']}, "
            f"{database['summary']['storage_gb']} GB; about USD {kept_cost:.2f} a month), its subnet group, security "
            f"group and secret {name}/database (destroy_ecs --delete-database deletes them)"
        )
    if database and (destroy or secrets or repository or database["delete"]):
        keep.append(f"the snapshot {database['snapshot']} of the database")
    if storage and not storage["delete"]:
        keep.append(
            f"the storage bucket {storage['bucket']} and its {storage['files']} files "
            f"({storage['size_bytes'] / 1e6:.1f} MB; S3 bills them by the GB; destroy_ecs --delete-storage deletes it)"
        )
    config = _config(environment, session, options)
    if options.keep_config:
        keep.append(
            f"the config_ecs variables under {configuration_path(name, environment.name)} (standard parameters are free)"
        )
    if not options.with_repository:
        keep.append(f"the ECR repository {environment.repository} and its images (--with-repository deletes it)")
    versioned = " (its bucket is versioned)" if environment.state.backend == "s3" else ""
    keep.append(f"the Terraform state {stack.location.description}{versioned}")
    return DestroyPlan(
        environment=environment.name,
        service=name,
        destroy=destroy,
        secrets=secrets,
        secret_addresses=secret_addresses,
        database=database,
        storage=storage,
        config=config,
        repository=repository,
        keep=keep,
        family=instance_attributes(document, "aws_ecs_task_definition.app").get("family", ""),
        process_families=[process["familia"] for process in (output_values(document).get("processos") or {}).values()],
        tasks=one_off_tasks(session.client("ecs"), instance_attributes(document, "aws_ecs_cluster.app").get("name")),
        monthly_cost_usd=_running_cost(session, document, database) if destroy else round(kept_cost, 2),
        kept_monthly_cost_usd=round(kept_cost, 2),
    )


def _database(
    environment: Environment, session: Any, name: str, in_state: dict[str, str], options: DestroyOptions
) -> dict[str, Any] | None:
    """The service's DB instance: in the state, or kept by an earlier destroy_ecs (then only with this
    environment's tags); None when there is none."""
    instance = db_instance(session.client("rds"), name)
    if instance is None:
        return None
    if "aws_db_instance" not in in_state:
        tags = {tag["Key"]: tag["Value"] for tag in instance.get("TagList", [])}
        if not owned_by(tags, environment.project, environment.name):
            return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return {
        "identifier": name,
        "snapshot": f"{name}-final-{stamp}",
        "delete": options.delete_database,
        "summary": database_summary(instance),
    }


def _storage(
    environment: Environment, session: Any, document: dict[str, Any], addresses: list[str], options: DestroyOptions
) -> dict[str, Any] | None:
    """The service's storage bucket: in the state, or kept by an earlier destroy_ecs (then only with this
    environment's tags); None when there is none."""
    name = instance_attributes(document, STORAGE_PARTS[0]).get("bucket") if STORAGE_PARTS[0] in addresses else None
    s3 = session.client("s3")
    if name is None:
        name = storage_bucket_name(environment.ecs.service, session.region_name, account_id(session))
        tags = bucket_tags(s3, name)
        if tags is None or not owned_by(tags, environment.project, environment.name):
            return None
    usage = bucket_usage(s3, name)
    return {"bucket": name, "files": usage.files, "size_bytes": usage.size_bytes, "delete": options.delete_storage}


def _config(environment: Environment, session: Any, options: DestroyOptions) -> dict[str, Any] | None:
    """config_ecs's variables of the environment, removed with the service unless kept; None when none is set."""
    if options.keep_config:
        return None
    path = configuration_path(environment.ecs.service, environment.name)
    keys = [parameter.key for parameter in ParameterStore(session, path).parameters()]
    return {"path": path, "keys": keys} if keys else None


def _repository(environment: Environment, session: Any, options: DestroyOptions) -> dict[str, Any] | None:
    if not options.with_repository:
        return None
    ecr = EcrApi(session.client("ecr"))
    described = ecr.repository(environment.repository)
    if described is None:
        return None
    if not owned_by(ecr.tags(described["repositoryArn"]), environment.project, environment.name):
        raise ConfigurationError(
            f"The ECR repository {environment.repository} does not carry the tags of project {environment.project}, "
            f"environment {environment.name}: it was not made by this environment, so destroy_ecs leaves it. "
            "Nothing was changed."
        )
    images = ecr.image_count(environment.repository)
    if images and not options.delete_images:
        raise ConfigurationError(
            f"The ECR repository {environment.repository} holds {images} image(s): add --delete-images to delete them "
            "with it, or drop --with-repository. Nothing was changed."
        )
    return {"name": environment.repository, "images": images}


def _running_cost(session: Any, document: dict[str, Any], database: dict[str, Any] | None) -> float:
    """What the service costs per month now, at status_ecs's prices: its running tasks, the load balancer and the
    database."""
    service = instance_attributes(document, "aws_ecs_service.app")
    running, cpu, memory = 0, 256, 512
    if service:
        ecs = EcsService(session.client("ecs"), None, service["cluster"].rsplit("/", 1)[-1], service["name"])
        try:
            live = ecs.describe()
            definition = ecs.task_definition(live["taskDefinition"])
            running, cpu, memory = live.get("runningCount", 0), int(definition["cpu"]), int(definition["memory"])
        except (EcrDeployError, KeyError, ValueError):
            pass  # a service already gone costs nothing
    return monthly_cost(running, cpu, memory, database["summary"] if database else None)


def destroy_service(
    environment: Environment, session: Any, stack: Stack, progress: Progress, plan: DestroyPlan, options: DestroyOptions
) -> DestroyPlan:
    """Carry out the plan; each step says what it did in plan.done."""
    heading, done = progress.heading, plan.done
    with stack.held_by("destroy_ecs", heading):
        stack.prepare(heading, progress.line)
        document = stack.state_document() or {}
        balancer = instance_attributes(document, "aws_lb.app")
        if balancer and disable_deletion_protection(session.client("elbv2"), balancer["arn"]):
            done.append(f"turned off the deletion protection of the load balancer {balancer['name']}")
        if plan.database:
            _take_out_database(environment, session, stack, document, plan, options, progress)
        if plan.storage:
            _take_out_storage(session, stack, plan, progress)
        if plan.tasks:
            cluster = instance_attributes(document, "aws_ecs_cluster.app")["name"]
            stop_tasks(session.client("ecs"), cluster, plan.tasks, options.timeout_seconds)
            done.append(f"stopped {len(plan.tasks)} one-off task(s) still running: {', '.join(plan.tasks)}")
        if plan.secrets:
            secrets = session.client("secretsmanager")
            for name, arn in plan.secrets.items():
                when = schedule_deletion(secrets, arn, RECOVERY_DAYS)
                done.append(f"scheduled the secret {name} for deletion on {when} ({RECOVERY_DAYS}-day recovery window)")
            stack.terraform.forget(plan.secret_addresses, progress.line)
        if plan.destroy:
            heading(f"Terraform: destroy the service {plan.service} ({stack.location.description})")
            variables = service_variables(environment, session.region_name, "destroyed")
            stack.terraform.destroy(variables, progress.line, progress.summary)
            done.append(f"destroyed {len(plan.destroy)} resources of the service's Terraform")
        for family in filter(None, [plan.family, *plan.process_families]):
            revisions = deregister_family(session.client("ecs"), family)
            done.append(f"deregistered the {len(revisions)} other revision(s) of {family}")
    if plan.config:
        ParameterStore(session, plan.config["path"]).delete(plan.config["keys"])
        done.append(f"removed the config_ecs variables under {plan.config['path']}: {', '.join(plan.config['keys'])}")
    if plan.repository:
        EcrApi(session.client("ecr")).delete_repository(plan.repository["name"], with_images=options.delete_images)
        done.append(f"deleted the ECR repository {plan.repository['name']} ({plan.repository['images']} images)")
    return plan


def _take_out_storage(session: Any, stack: Stack, plan: DestroyPlan, progress: Progress) -> None:
    """The bucket out of Terraform; kept with its files, or emptied of every version and deleted."""
    storage, done = plan.storage, plan.done
    assert storage is not None
    managed = stack.managed_resources()
    stack.terraform.forget([part for part in STORAGE_PARTS if part in managed], progress.line)
    if not storage["delete"]:
        done.append(f"kept the storage bucket {storage['bucket']} and its {storage['files']} files")
        return
    progress.heading(f"Storage: empty the bucket {storage['bucket']} of every version, then delete it")
    s3 = session.client("s3")
    versions = empty_bucket(s3, storage["bucket"])
    aws_call(f"delete the bucket {storage['bucket']}", s3.delete_bucket, Bucket=storage["bucket"])
    done.append(f"deleted the storage bucket {storage['bucket']} and its {versions} file versions")


def _take_out_database(
    environment: Environment,
    session: Any,
    stack: Stack,
    document: dict[str, Any],
    plan: DestroyPlan,
    options: DestroyOptions,
    progress: Progress,
) -> None:
    """The database out of Terraform, unreachable from the tasks about to go; then snapshotted and kept, or deleted
    with that snapshot as its final one, with its subnet group, security group and secret."""
    database, done, name = plan.database, plan.done, plan.service
    assert database is not None
    group = instance_attributes(document, DATABASE_PARTS["aws_security_group"])
    tasks = instance_attributes(document, "aws_security_group.servico")
    if group and tasks and revoke_ingress_from(session.client("ec2"), group["id"], tasks["id"]):
        done.append(f"removed the tasks' access to the database's security group {group['name']}")
    managed = stack.managed_resources()
    stack.terraform.forget(
        [part for part in [*DATABASE_PARTS.values(), DATABASE_SECRET_VERSION] if part in managed], progress.line
    )
    rds = session.client("rds")
    if not database["delete"]:
        progress.heading(f"Database: snapshot {database['snapshot']}, then keep {name}")
        snapshot_instance(rds, name, database["snapshot"], options.timeout_seconds)
        done.append(f"took the snapshot {database['snapshot']}; kept the database {name} and its parts")
        return
    progress.heading(f"Database: delete {name}, with the final snapshot {database['snapshot']}")
    delete_instance(rds, name, database["snapshot"], options.timeout_seconds)
    done.append(f"deleted the database {name} (deletion protection off first), final snapshot {database['snapshot']}")
    parts = {
        address.split(".")[0]: part
        for address, part in named_resources(name, database=True).items()
        if address in DATABASE_PARTS.values() and not address.startswith("aws_db_instance")
    }
    for kind, part in parts.items():
        found = existing_resource(session, kind, part)
        if found is None or not owned_by(found.tags, environment.project, environment.name):
            continue
        if kind == "aws_db_subnet_group":
            aws_call(f"delete the DB subnet group {part}", rds.delete_db_subnet_group, DBSubnetGroupName=part)
            done.append(f"deleted the DB subnet group {part}")
        elif kind == "aws_security_group":
            ec2 = session.client("ec2")
            aws_call(f"delete the security group {part}", ec2.delete_security_group, GroupId=found.import_id)
            done.append(f"deleted the security group {part}")
        else:
            when = schedule_deletion(session.client("secretsmanager"), found.import_id, RECOVERY_DAYS)
            done.append(f"scheduled the secret {part} for deletion on {when} ({RECOVERY_DAYS}-day recovery window)")


#: The resources of one process in infra/ecs/processos.tf, by resource name.
PROCESS_RESOURCES = (
    "aws_ecs_service.processo",
    "aws_ecs_task_definition.processo",
    "terraform_data.forma_do_processo",
    "aws_appautoscaling_target.processo",
    "aws_appautoscaling_policy.processo_cpu",
    "aws_appautoscaling_policy.processo_fila",
)


@dataclass
class ProcessDestroyPlan:
    """One process taken out of the service: its resources in the state, and its family's revisions."""

    environment: str
    service: str
    process: str
    process_service: str
    destroy: list[str]
    family: str
    done: list[str] = field(default_factory=list)


def plan_process_destroy(environment: Environment, stack: Stack, progress: Progress, name: str) -> ProcessDestroyPlan:
    """destroy_ecs --process NAME: refused while the settings still name it (the next provision_ecs would make it
    again) or when the applied service has no such process; else its resources, and nothing of the rest."""
    if name in ("web", environment.ecs.container):
        raise ConfigurationError(f"--process {name} is the web: destroy_ecs without --process destroys the service.")
    if name in environment.ecs.processes:
        raise ConfigurationError(
            f"--process {name}: ECR_DEPLOY['ECS']['PROCESSES'] still names it, and the next provision_ecs would make it "
            "again. Remove it from the settings first. Nothing was changed."
        )
    outputs = service_outputs(stack, progress)
    made = (outputs.get("processos") or {}).get(name)
    if made is None:
        known = ", ".join(outputs.get("processos") or {}) or "none"
        raise DeployError(f"--process {name}: the applied service has no such process (it has {known}).")
    document = stack.state_document() or {}
    addresses = [
        f'{resource["type"]}.{resource["name"]}["{name}"]'
        for resource in document.get("resources", [])
        if f"{resource['type']}.{resource['name']}" in PROCESS_RESOURCES
        and any(instance.get("index_key") == name for instance in resource.get("instances", []))
    ]
    return ProcessDestroyPlan(environment.name, outputs["servico"], name, made["servico"], addresses, made["familia"])


def destroy_process(
    environment: Environment, session: Any, stack: Stack, progress: Progress, plan: ProcessDestroyPlan
) -> ProcessDestroyPlan:
    """Destroy the process's resources alone (a targeted terraform destroy), then deregister its family."""
    with stack.held_by("destroy_ecs", progress.heading):
        stack.prepare(progress.heading, progress.line)
        progress.heading(f"Terraform: destroy the process {plan.process} ({stack.location.description})")
        variables = service_variables(environment, session.region_name, "destroyed")
        stack.terraform.destroy(variables, progress.line, progress.summary, targets=plan.destroy)
        plan.done.append(f"destroyed {len(plan.destroy)} resources of the process {plan.process}")
        revisions = deregister_family(session.client("ecs"), plan.family)
        plan.done.append(f"deregistered the {len(revisions)} other revision(s) of {plan.family}")
    return plan
