"""provision_ecs: Terraform makes the service's long-lived pieces (skipped when nothing it reads changed), the
values of its secrets written through write-only arguments, never into the state."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from ecr_deploy.aws.ec2 import subnet_zones
from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.aws.ownership import existing_resource
from ecr_deploy.aws.parameters import configuration_path
from ecr_deploy.aws.rds import db_instance, db_snapshot, pending_changes
from ecr_deploy.aws.secrets import (
    current_version,
    policy_resources,
    put_database_url,
    restore,
    scheduled_for_deletion,
)
from ecr_deploy.aws.session import account_id
from ecr_deploy.aws.storage import storage_bucket_name
from ecr_deploy.common import timed
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError, StateError
from ecr_deploy.terraform.cli import AlreadyExistsError, RetriedRuleCallError
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.terraform.state import instance_attributes
from ecr_deploy.workflows.service import (
    PLAIN_HTTP_WARNING,
    Progress,
    ServiceResult,
    planned_variable,
    published_image,
    serves_https,
    service_url,
)
from ecr_deploy.workflows.stacks import account_pin, owned_by, ownership_tags

#: What provision_ecs never destroys or replaces without --allow-destroy.
SERVICE_RESOURCES = frozenset(
    {
        "aws_ecs_cluster",
        "aws_ecs_service",
        "aws_lb",
        "aws_secretsmanager_secret",
        "aws_cloudwatch_log_group",
        "aws_db_instance",
        "aws_s3_bucket",
    }
)


def service_variables(environment: Environment, region: str, image: str) -> dict[str, Any]:
    """The variables of the service's Terraform for the environment: its TERRAFORM_VARS, and what ecr_deploy sets."""
    ecs = environment.ecs
    ownership = ownership_tags(environment.project, environment.name)
    return {
        **ecs.terraform_vars,
        "nome": ecs.service,
        "regiao": region,
        "imagem": image,
        "container": ecs.container,
        "etiquetas": {**ecs.terraform_vars.get("etiquetas", {}), **ownership},
        "banco_rds": ecs.database == "rds",
        "banco_variaveis": ecs.database_variables,
        "segredos_arns": sorted(
            {resource for value_from in ecs.read_secrets for resource in policy_resources(value_from)}
        ),
        "database_url_secret_arn": ecs.database_secret_arn,
        "configuracao_caminho": configuration_path(ecs.service, environment.name),
        "armazenamento": ecs.storage is not None,
        "processos": {
            name: {
                "comando": process.command,
                "cpu": process.cpu,
                "memoria": process.memory,
                "min": process.min,
                "max": process.max,
                "verificacao": process.health_check,
                "fila": process.queue or "",
                "mensagens_por_tarefa": process.messages_per_task,
            }
            for name, process in ecs.processes.items()
        },
        "filas": ecs.queues,
        "agendamentos": {
            name: {"expressao": job.schedule, "fuso": job.timezone, "comando": job.command}
            for name, job in ecs.schedules.items()
        },
        "dominios": ecs.domains,
        "zona_dns": ecs.hosted_zone,
        "certificado_arn": ecs.certificate_arn,
        **account_pin(environment.account),
    }


#: How many times an apply may find this environment's resources already there, import them and go on.
IMPORT_ROUNDS = 3
#: The secrets of infra/ecs, after "SERVICE/".
SECRET_SUFFIXES = ("DJANGO_SECRET_KEY", "database")
SECRET_KEY_ADDRESS = "aws_secretsmanager_secret.secret_key"
SECRET_KEY_VALUE_ADDRESS = "aws_secretsmanager_secret_version.secret_key"


STORAGE_ADDRESS = "aws_s3_bucket.arquivos[0]"


def named_resources(service: str, *, database: bool, bucket: str | None = None) -> dict[str, str]:
    """The resources of infra/ecs that can outlive their state (kept by destroy_ecs, or made by a create whose answer
    was lost), by address, with the name infra/ecs gives them."""
    named = {SECRET_KEY_ADDRESS: f"{service}/DJANGO_SECRET_KEY"}
    if bucket:
        named[STORAGE_ADDRESS] = bucket
    if database:
        named |= {
            "aws_secretsmanager_secret.banco[0]": f"{service}/database",
            "aws_db_instance.banco[0]": service,
            "aws_db_subnet_group.banco[0]": service,
            "aws_security_group.banco[0]": f"{service}-banco",
        }
    return named


class ServiceProvisioner:
    """Applies the service's Terraform for one environment, skipped when nothing it reads changed."""

    def __init__(
        self,
        environment: Environment,
        stack: Stack,
        session: Any,
        ecr: EcrApi,
        progress: Progress,
        *,
        tag: str,
        plan: bool = False,
        force_terraform: bool = False,
        allow_destroy: bool = False,
        from_snapshot: str | None = None,
    ) -> None:
        self.environment = environment
        self.from_snapshot = from_snapshot
        self.stack = stack
        self.session = session
        self.ecr = ecr
        self.progress = progress
        self.tag = tag
        self.plan = plan
        self.force_terraform = force_terraform
        self.allow_destroy = allow_destroy

    def variables(self, image: str) -> dict[str, Any]:
        variables = service_variables(self.environment, self.session.region_name, image)
        if self.from_snapshot:
            variables["banco_snapshot"] = self.from_snapshot
        return {**variables, **self.existing_database_names(), **self.global_names_suffix()}

    def global_names_suffix(self) -> dict[str, Any]:
        """The region in the names that IAM and S3 keep account-wide, for a service made now; a service made before
        keeps the names it has (new ones would replace its roles under its running tasks)."""
        region = self.session.region_name
        role = instance_attributes(self.stack.state_document() or {}, "aws_iam_role.execucao").get("name", "")
        return {} if role and not role.endswith(f"-{region}-execucao") else {"sufixo_global": region}

    def existing_database_names(self) -> dict[str, Any]:
        """The names of the database there is, or of the snapshot it is made from: a snapshot of another service keeps
        that service's database and master user, which the secret must then name."""
        if self.environment.ecs.database != "rds":
            return {}
        if self.from_snapshot:
            found = self.snapshot
        else:
            found = db_instance(self.session.client("rds"), self.environment.ecs.service)
        own = self.environment.ecs.service.replace("-", "_")  # infra/ecs's names, left out to keep the fingerprint
        names = {"usuario": (found or {}).get("MasterUsername"), "nome": (found or {}).get("DBName")}
        differing = {key: value for key, value in names.items() if value and value != own}
        return {"banco_existente": differing} if differing else {}

    def run(self) -> ServiceResult:
        environment, stack, progress = self.environment, self.stack, self.progress
        result = ServiceResult(environment=environment.name, service=environment.ecs.service)
        self.check_certificate_region()
        self.check_subnets()
        self.check_database()
        if self.from_snapshot and environment.ecs.database != "rds":
            raise ConfigurationError(
                "--from-snapshot makes the RDS database: ECR_DEPLOY['ECS']['DATABASE'] must be 'rds'. Nothing was applied."
            )
        stack.check_target()
        self.check_snapshot()
        image = published_image(self.ecr, environment.repository, self.tag, None)
        variables = self.variables(image)
        with stack.held_by("provision_ecs", progress.heading), timed(result.timings, "terraform"):
            if not (self.plan or self.force_terraform) and stack.unchanged_since_last_apply(variables):
                progress.heading(
                    f"Terraform: nothing changed since the last apply ({stack.location.description}); skipped."
                )
                result.skipped.append("terraform (unchanged)")
                result.terraform_changes = False
                outputs = stack.recorded_outputs()
            else:
                stack.prepare(progress.heading, progress.line)
                if self.plan:
                    planned = stack.terraform.plan(
                        variables, progress.line, progress.summary, guarded=SERVICE_RESOURCES
                    )
                    stack.terraform.discard_plan()
                    result.terraform_changes = planned.changes
                    return result
                self.restore_own_secrets()
                self.import_kept(variables)
                self.import_secret_key_value(variables)
                shape_before = stack.recorded_outputs().get("primeira_revisao")
                result.terraform_changes = self.apply_importing_own(variables)
                outputs = stack.record(variables)
                if shape_before and outputs["primeira_revisao"] != shape_before:
                    progress.heading(
                        f"Task definition: Terraform registered {outputs['primeira_revisao']} (a new cpu, memory, port, "
                        "health check, logs or roles); it reaches the service at the next deploy_ecs."
                    )
        self.put_database_url(outputs)
        self.report_database(outputs)
        result.service_url, result.https = service_url(outputs), serves_https(outputs)
        if not result.https:
            self.progress.heading(PLAIN_HTTP_WARNING)
        result.image = image
        return result

    def apply_importing_own(self, variables: dict[str, Any]) -> bool:
        """apply; a resource that it finds already there with this environment's tags (a lost answer, or what
        destroy_ecs kept) is imported, a security group whose rules a retried call found as asked is kept, and the
        apply runs again. A few rounds: what depends on an imported resource is only tried in the next one."""
        for _ in range(IMPORT_ROUNDS):
            try:
                return self.apply(variables)
            except AlreadyExistsError as err:
                self.import_own(err, variables)
            except RetriedRuleCallError as err:
                self.keep_groups(err)
        return self.apply(variables)

    def keep_groups(self, err: RetriedRuleCallError) -> None:
        """The groups whose rules a call had changed before its answer was lost: kept as they are (a failed create
        leaves a group tainted, to be replaced), so that the next apply reads their rules and changes only the rest."""
        for address in err.addresses:
            self.progress.heading(
                f"Terraform: a rule of {address} was already as asked (an answer lost, and the call retried); "
                "keeping the group and applying again."
            )
            self.stack.terraform.untaint(address, self.progress.line)

    def restore_own_secrets(self) -> None:
        """The service's secrets that destroy_ecs scheduled for deletion, taken back while in their recovery window
        (a secret's name cannot be used again until then); only with this environment's tags."""
        environment, client = self.environment, self.session.client("secretsmanager")
        for name in (f"{environment.ecs.service}/{suffix}" for suffix in SECRET_SUFFIXES):
            tags = scheduled_for_deletion(client, name)
            if tags is not None and owned_by(tags, environment.project, environment.name):
                restore(client, name)
                self.progress.heading(
                    f"Secrets Manager: {name} was scheduled for deletion; restored, to be used again."
                )

    def import_secret_key_value(self, variables: dict[str, Any]) -> None:
        """The value DJANGO_SECRET_KEY already holds (put by an older provision_ecs, or kept by destroy_ecs), imported
        as the secret's version: the apply then keeps it, where it would put a new one and sign every session out."""
        managed = self.stack.managed_resources()
        if SECRET_KEY_ADDRESS not in managed or SECRET_KEY_VALUE_ADDRESS in managed:
            return
        name = f"{self.environment.ecs.service}/DJANGO_SECRET_KEY"
        version = current_version(self.session.client("secretsmanager"), name)
        if version is not None:
            self.progress.heading(
                f"Terraform: {name} holds a value; importing it as {SECRET_KEY_VALUE_ADDRESS} (kept)."
            )
            self.stack.terraform.import_resource(SECRET_KEY_VALUE_ADDRESS, version, variables, self.progress.line)

    def import_kept(self, variables: dict[str, Any]) -> None:
        """Import, before the apply, what a destroy_ecs kept with this environment's tags (the database, its parts and
        secrets): one apply then sets the database's password and its secret together (the ephemeral password is
        made once per run)."""
        environment, stack = self.environment, self.stack
        managed = stack.managed_resources()
        named = named_resources(
            environment.ecs.service, database=environment.ecs.database == "rds", bucket=self.kept_bucket_name()
        )
        for address, name in named.items():
            if address in managed:
                continue
            found = existing_resource(self.session, address.split(".")[0], name)
            if found is not None and owned_by(found.tags, environment.project, environment.name):
                self.progress.heading(
                    f"Terraform: {name} is there with this environment's tags; importing it as {address}."
                )
                stack.terraform.import_resource(address, found.import_id, variables, self.progress.line)

    def kept_bucket_name(self) -> str | None:
        """The storage bucket's name, when STORAGE is on and the state holds none: one that destroy_ecs kept."""
        if self.environment.ecs.storage is None or STORAGE_ADDRESS in self.stack.managed_resources():
            return None
        return storage_bucket_name(self.environment.ecs.service, self.session.region_name, account_id(self.session))

    @cached_property
    def snapshot(self) -> dict[str, Any] | None:
        """DescribeDBSnapshots' description of --from-snapshot's snapshot, read once for the checks and the names."""
        return db_snapshot(self.session.client("rds"), self.from_snapshot) if self.from_snapshot else None

    def check_snapshot(self) -> None:
        """--from-snapshot makes a new database from an existing snapshot, never over one that exists."""
        if not self.from_snapshot:
            return
        name, snapshot, found = self.environment.ecs.service, self.from_snapshot, self.snapshot
        if found is None:
            raise ConfigurationError(f"No DB snapshot {snapshot} in this account and region. Nothing was applied.")
        if not found.get("Encrypted") and planned_variable(self.environment, self.stack, "banco_criptografado", True):
            raise ConfigurationError(
                f"The DB snapshot {snapshot} is not encrypted, and the service's database is (banco_criptografado): "
                "RDS would restore it unencrypted, and every later provision_ecs would plan to replace it. Copy it "
                f"encrypted (`aws rds copy-db-snapshot --source-db-snapshot-identifier {snapshot} "
                f"--target-db-snapshot-identifier {snapshot}-cifrado --kms-key-id alias/aws/rds`) and restore that copy, "
                "or set banco_criptografado to false. Nothing was applied."
            )
        if db_instance(self.session.client("rds"), name) is not None:
            raise ConfigurationError(
                f"The database {name} exists: --from-snapshot only makes a new one. provision_ecs without it takes a "
                "kept database back; to replace it, destroy_ecs --delete-database first (it takes a final snapshot)."
            )

    def apply(self, variables: dict[str, Any]) -> bool:
        progress = self.progress
        return self.stack.apply(
            variables,
            guarded=SERVICE_RESOURCES,
            allow_destroy=self.allow_destroy,
            what=f"the service {self.environment.ecs.service}",
            heading=progress.heading,
            line=progress.line,
            summary=progress.summary,
        )

    def import_own(self, err: AlreadyExistsError, variables: dict[str, Any]) -> None:
        """After an apply whose creates found resources there (made by a create whose answer was lost, or by an
        interrupted apply): import each one that carries this environment's tags, so that one more apply converges;
        anything else stops the run, since another stack may own it."""
        environment, stack = self.environment, self.stack
        if not err.found:
            raise err
        tags = ownership_tags(environment.project, environment.name)
        for address, name in err.found.items():
            found = existing_resource(self.session, address.split(".")[-2], name)
            if found is None or not owned_by(found.tags, environment.project, environment.name):
                raise StateError(
                    f"The apply found {address} ({name}) already there, without this project's tags "
                    f"({', '.join(f'{key}={value}' for key, value in tags.items())}): another stack may own it. "
                    "Remove it, name this service otherwise (ECR_DEPLOY['ECS']['SERVICE']), or, if it is this "
                    f"environment's, import it with `terraform import {address} ID`; then provision again."
                ) from err
            self.progress.heading(
                f"Terraform: the apply found {address} ({name}) already there, with this environment's tags; "
                "importing it and applying again."
            )
            stack.terraform.import_resource(address, found.import_id, variables, self.progress.line)

    def check_certificate_region(self) -> None:
        """A load balancer's listener takes a certificate of its own region only (ACM: a certificate is regional)."""
        arn, region = self.environment.ecs.certificate_arn, self.session.region_name
        if arn and arn.split(":")[3] != region:
            raise ConfigurationError(
                f"ECR_DEPLOY['ECS']['CERTIFICATE_ARN'] is a certificate of {arn.split(':')[3]}, but the service runs in "
                f"{region}: a load balancer takes a certificate of its own region. Request or import it in {region} "
                "(or leave CERTIFICATE_ARN out and name HOSTED_ZONE to have one made). Nothing was applied."
            )

    def check_subnets(self) -> None:
        """sub_redes as a load balancer takes them: one per Availability Zone, in two zones at least (ELBv2
        CreateLoadBalancer), refused before terraform, which would make half the stack first."""
        named = self.environment.ecs.terraform_vars.get("sub_redes") or []
        if not named:
            return
        by_zone: dict[str, list[str]] = {}
        for subnet, zone in sorted(subnet_zones(self.session.client("ec2"), named).items()):
            by_zone.setdefault(zone, []).append(subnet)
        crowded = {zone: subnets for zone, subnets in by_zone.items() if len(subnets) > 1}
        if crowded or len(by_zone) < 2:
            detail = "; ".join(f"{' and '.join(subnets)} are both in {zone}" for zone, subnets in crowded.items())
            detail = detail or f"all are in {', '.join(by_zone)}"
            raise ConfigurationError(
                f"ECR_DEPLOY['ECS']['TERRAFORM_VARS']['sub_redes']: a load balancer takes one subnet per Availability "
                f"Zone, in two zones at least; {detail}. Name one subnet of each zone (a public one). Nothing was applied."
            )

    def check_database(self) -> None:
        """The image's SQLite is each task's own: with DATABASE 'none', more than one task would split the writes."""
        ecs = self.environment.ecs
        if ecs.database != "none":
            return
        most = planned_variable(self.environment, self.stack, "tarefas_max", 1)
        if isinstance(most, (int, float)) and most > 1:
            raise ConfigurationError(
                f"ECR_DEPLOY['ECS']['DATABASE'] is 'none': each task keeps its own SQLite, so with tarefas_max {most} "
                "a record written through one task is missing from the others. Set ECR_DEPLOY['ECS']['TERRAFORM_VARS']"
                "['tarefas_max'] = 1 (and tarefas_min, tarefas_desejadas), or use DATABASE 'rds'. Nothing was applied."
            )

    def put_database_url(self, outputs: dict[str, Any]) -> None:
        """The DATABASE_URL secret's value, put through the API from the master user's secret (never in the state),
        when the settings read the database from DATABASE_URL."""
        database = outputs.get("banco") or {}
        if not database.get("url_arn"):
            return
        client = self.session.client("secretsmanager")
        if put_database_url(client, database["url_arn"], database["secret_arn"], database):
            self.progress.heading(
                f"Secrets Manager: DATABASE_URL put in {database['url_arn']} (its value is never shown)"
            )

    def report_database(self, outputs: dict[str, Any]) -> None:
        """Where the database is, and the changes RDS holds for its maintenance window."""
        database = outputs.get("banco")
        if not database:
            return
        self.progress.heading(
            f"Database: PostgreSQL {database['name']} at {database['host']}:{database['port']} (user and password in "
            f"{database['secret_arn']}, never in the state)"
        )
        pending = pending_changes(self.session.client("rds"), self.environment.ecs.service)
        if pending:
            changes = ", ".join(f"{name} {value}" for name, value in pending.items())
            self.progress.heading(
                f"Database: RDS applies {changes} in the next maintenance window, not now (banco_aplicar_imediatamente "
                "is false)."
            )
