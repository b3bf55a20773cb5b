"""deploy_ecs: resolve the published image by digest, register a revision, run migrate (and the fixtures, once per
database) as one-off tasks, roll the service and wait on its own deployment, then watch its alarms for a bake time
and roll back when one fires; or roll back to the revision before."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn

from ecr_deploy.aws.cloudwatch import AlarmState, alarm_states
from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.aws.ecs import EcsService, TaskOutcome, named_container, task_definition_diff, with_image
from ecr_deploy.aws.iam import secrets_refused
from ecr_deploy.aws.parameters import Parameter, ParameterStore, configuration_path
from ecr_deploy.aws.scheduler import point_schedule
from ecr_deploy.aws.session import LazyClient
from ecr_deploy.common import timed
from ecr_deploy.defaults import (
    DATABASE_VARIABLE_NAMES,
    SETTING_VARIABLES,
    STORAGE_SETTING_VARIABLES,
    queue_variable,
)
from ecr_deploy.environments import Environment
from ecr_deploy.errors import AwsError, DeployError
from ecr_deploy.runtime.migrations import IRREVERSIBLE_MARK
from ecr_deploy.terraform.stack import Stack
from ecr_deploy.workflows.config import undeployed_changes
from ecr_deploy.workflows.service import (
    PLAIN_HTTP_WARNING,
    Progress,
    ServiceResult,
    published_image,
    serves_https,
    service_outputs,
    service_url,
    uses_image_sqlite,
)

MIGRATE_COMMAND = ["python", "manage.py", "migrate", "--noinput"]
COLLECTSTATIC_COMMAND = ["python", "manage.py", "collectstatic", "--noinput"]
#: Followed by the fixtures' names: loads what this database has never been given (ecr_deploy.runtime.fixtures).
FIXTURES_COMMAND = ["python", "manage.py", "load_fixtures_once"]
#: The tags deploy_ecs keeps on the image an environment runs and on the one before it; infra/ecr.tf's lifecycle
#: policy never expires an image that carries one (ECR's rules do not know what ECS runs).
RUNNING_MARK = "ecr-deploy-{environment}-running"
PREVIOUS_MARK = "ecr-deploy-{environment}-previous"
SQLITE_WARNING = (
    "Database 'none': each task keeps the SQLite file of its image; every write is lost at the next deploy "
    "(ECR_DEPLOY['ECS']['DATABASE'] 'rds' keeps them)."
)


@dataclass(frozen=True)
class DeployOptions:
    tag: str | None = None
    digest: str | None = None
    plan: bool = False
    migrate: bool = True
    rollback: bool = False
    timeout_seconds: float = 900
    #: ECR_DEPLOY["FIXTURES"]: loaded after migrate into a database that never had them.
    fixtures: tuple[str, ...] = ()
    #: Seconds to watch the alarms after the rollout completes (0: no bake), and whether a bake whose alarms could
    #: not be read keeps the new revision instead of rolling back.
    bake_seconds: float = 0
    keep_on_bake_error: bool = False


@dataclass
class ProcessRelease:
    """One of the service's other processes in a release: its service, the revision it runs, and the one made for
    it from its Terraform shape with the release's image."""

    name: str
    service: EcsService
    running: str
    desired: dict[str, Any]
    diff: str
    task_definition: str = ""


class Deployer:
    """One deploy of the published image to the environment's service and its processes, each step with one outside
    effect."""

    def __init__(
        self,
        environment: Environment,
        outputs: dict[str, Any],
        service: EcsService,
        ecr: EcrApi,
        progress: Progress,
        options: DeployOptions,
        alarms: Callable[[list[str]], list[AlarmState]],
        iam: Any,
        resolving: Future[str] | None = None,
        configuration: list[Parameter] | None = None,
        processes: dict[str, EcsService] | None = None,
        scheduler: Any = None,
    ) -> None:
        self.environment = environment
        #: EventBridge Scheduler's client: each release points the service's schedules at the web's revision.
        self.scheduler = scheduler
        #: The services of ECR_DEPLOY["ECS"]["PROCESSES"], by name: rolled with the web in each release.
        self.processes = processes or {}
        self.releases: list[ProcessRelease] = []
        #: config_ecs's variables, by the ARN of each parameter: the tasks read them all as secrets when they start.
        self.configuration = {parameter.key: parameter.arn for parameter in configuration or []}
        #: When the last of them changed: a revision registered before then runs an older value.
        self.configuration_changed = max((parameter.changed for parameter in configuration or []), default=None)
        self.iam = iam
        self.alarms = alarms
        self.resolving = resolving
        self.outputs = outputs
        self.service = service
        self.ecr = ecr
        self.progress = progress
        self.options = options
        self.result = ServiceResult(
            environment=environment.name,
            service=outputs["servico"],
            service_url=service_url(outputs),
            https=serves_https(outputs),
        )

    def run(self) -> ServiceResult:
        if self.options.rollback:
            return self.roll_back()
        options, result, heading = self.options, self.result, self.progress.heading
        if self.uses_image_sqlite:
            heading(SQLITE_WARNING)
        if not result.https:
            heading(PLAIN_HTTP_WARNING)
        with timed(result.timings, "resolve"), ThreadPoolExecutor(max_workers=1) as pool:
            shape_arn = self.outputs.get("primeira_revisao")
            shaping = pool.submit(self.service.task_definition, shape_arn) if shape_arn else None
            live = self.service.describe()
            current = self.service.task_definition(live["taskDefinition"])
            result.previous_task_definition = live["taskDefinition"]
            image = result.image = self.resolving.result() if self.resolving else self.resolve_image()
            # Terraform owns the shape (cpu, memory, port, roles, logs, health check): a release is made from its
            # last revision, read beside the live one.
            shape = shaping.result() if shaping and shape_arn != live["taskDefinition"] else current
            values, secrets = self.environment_values(), self.secrets()
            desired = with_image(shape, self.environment.ecs.container, image, values, secrets)
            result.diff = task_definition_diff(current, desired)
            self.releases = [
                self.process_release(name, service, image, values, secrets) for name, service in self.processes.items()
            ]
            result.diff += "".join(f"# the process {r.name}\n{r.diff}" for r in self.releases if r.diff)
        # Nothing to do when the service runs this already, with no other deployment under way, from a revision
        # that a deploy made (Terraform's first revision never had its migrate and fixtures run).
        deployed_before = live["taskDefinition"] != self.outputs.get("primeira_revisao")
        if not result.diff and self.configuration_newer_than(current):
            heading(f"Configuration: changed since {live['taskDefinition']} was registered; the tasks read it anew.")
        elif not result.diff and len(live.get("deployments", [])) <= 1 and deployed_before:
            heading(f"Service {result.service} already runs {image} ({live['taskDefinition']}); nothing to deploy.")
            result.skipped.append("deploy (already running)")
            result.task_definition = live["taskDefinition"]
            if not options.plan:  # a schedule made since the last deploy runs Terraform's first revision
                self.point_schedules(live["taskDefinition"])
            return result
        self.check_secrets_readable(desired)
        if options.plan:
            also = "".join(f", and {release.name} onto one of its own" for release in self.releases)
            jobs = ", ".join(self.outputs.get("agendamentos") or {})
            also += f"; point the schedules {jobs} at it" if jobs else ""
            heading(f"Plan: register a new revision of {current['family']} and roll {result.service} onto it{also}.")
            return result
        watched, firing_before = self.alarms_to_watch()
        with timed(result.timings, "register"):
            result.task_definition = self.service.register(desired)
            heading(f"Task definition: registered {result.task_definition}")
            for release in self.releases:
                release.task_definition = self.service.register(release.desired)
                heading(f"Task definition: registered {release.task_definition} ({release.name})")
        try:
            with timed(result.timings, "migrate"):
                self.migrate(live)
            with timed(result.timings, "fixtures"):
                self.load_fixtures(live)
            with timed(result.timings, "collectstatic"):
                self.collect_static(live)
        except DeployError:
            for arn in [result.task_definition, *(release.task_definition for release in self.releases)]:
                self.service.deregister(arn)
            raise
        self.roll_release()
        self.point_schedules(result.task_definition)
        with timed(result.timings, "bake"):
            self.bake(watched, firing_before)
        self.mark({RUNNING_MARK: image, PREVIOUS_MARK: self.image_of(current)})
        return result

    def process_release(
        self, name: str, service: EcsService, image: str, values: dict[str, str], secrets: dict[str, str]
    ) -> ProcessRelease:
        """The process's revision for this release: its Terraform shape (its last revision) with the image, and
        the web's values and secrets."""
        running = service.describe()["taskDefinition"]
        shape_arn = self.outputs["processos"][name]["primeira_revisao"]
        current = service.task_definition(running)
        shape = current if shape_arn == running else service.task_definition(shape_arn)
        container = self.environment.ecs.container
        desired = with_image(shape, container, image, values, secrets)
        diff = task_definition_diff(current, desired) or ("" if running != shape_arn else "(its first deploy)\n")
        return ProcessRelease(name, service, running, desired, diff)

    def roll_release(self) -> None:
        """Every service of the release onto its new revision, each rollout waited on; when one fails, those already
        moved go back to the revision they ran, and the deploy fails naming it."""
        result = self.result
        self.roll_to(result.task_definition)
        moved: list[ProcessRelease] = []
        for release in self.releases:
            try:
                self.roll_process(release, release.task_definition)
            except DeployError as err:
                self.progress.heading(f"Release: {release.name} failed; every service goes back to what it ran.")
                for back in [*moved, release]:
                    self.roll_process(back, back.running)
                self.roll_to(result.previous_task_definition)
                raise DeployError(
                    f"The process {release.name} did not roll out: {err} The release was rolled back: "
                    f"{result.service} runs {result.previous_task_definition} again"
                    + "".join(f", {back.name} {back.running}" for back in [*moved, release])
                    + "."
                ) from err
            moved.append(release)
            result.processes[release.name] = {
                "task_definition": release.task_definition,
                "previous_task_definition": release.running,
            }

    def point_schedules(self, task_definition: str) -> None:
        """Every scheduled job onto the web's revision: a job never runs code older than the web, nor newer."""
        for name, made in (self.outputs.get("agendamentos") or {}).items():
            if point_schedule(self.scheduler, made["grupo"], made["nome"], task_definition) != task_definition:
                self.progress.heading(f"Schedule {name}: runs {task_definition.rsplit('/', 1)[-1]} now")
            self.result.schedules[name] = task_definition

    def roll_process(self, release: ProcessRelease, task_definition: str) -> None:
        with timed(self.result.timings, f"rollout {release.name}"):
            deployment_id = release.service.update(task_definition)
            self.progress.heading(f"Service {release.service.service}: deployment {deployment_id} started")
            release.service.wait_for_rollout(deployment_id, self.options.timeout_seconds, self.progress.heading)

    def configuration_newer_than(self, definition: dict[str, Any]) -> bool:
        registered = definition.get("registeredAt")
        return bool(self.configuration_changed and registered and self.configuration_changed > registered)

    def resolve_image(self) -> str:
        options = self.options
        return published_image(
            self.ecr, self.environment.repository, options.tag or self.environment.tag, options.digest
        )

    @property
    def uses_image_sqlite(self) -> bool:
        return uses_image_sqlite(self.environment, self.outputs)

    def environment_values(self) -> dict[str, str]:
        """Plain values: the hosts, Django's HTTPS switches (off on plain HTTP: a setting that defaults to on would
        redirect every request to a port the load balancer does not have), and where the RDS database is (its user
        and password come as secrets), each also under the name the project's settings read it from."""
        ecs = self.environment.ecs
        hosts = [self.outputs["alb_dns"], *ecs.domains]
        secure = (
            {
                "DJANGO_SECURE_SSL_REDIRECT": "1",
                "DJANGO_SECURE_HSTS_SECONDS": str(ecs.hsts_seconds),
                "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(f"https://{domain}" for domain in ecs.domains),
            }
            if self.result.https
            else {"DJANGO_SECURE_SSL_REDIRECT": "0"}
        )
        database = self.outputs.get("banco") or {}
        location = {}
        if database and ecs.database_variables != "url":
            host, port, name, _, _ = DATABASE_VARIABLE_NAMES[ecs.database_variables]
            location = {host: database["host"], port: str(database["port"]), name: database["name"]}
        plain = {key: value for key, value in ecs.environment.items() if key not in self.configuration}
        return self.aliased(
            {
                **plain,
                **secure,
                **location,
                **self.storage_values(),
                **self.queue_values(),
                "DJANGO_ALLOWED_HOSTS": ",".join(hosts),
            }
        )

    def queue_values(self) -> dict[str, str]:
        """Each queue's URL, as SQS_QUEUE_URL_<NAME> (Celery's SQS broker reads them as predefined queues)."""
        queues, made = self.environment.ecs.queues, self.outputs.get("filas") or {}
        if missing := [queue for queue in queues if queue not in made]:
            raise DeployError(
                f"ECR_DEPLOY['ECS']['QUEUES'] names {', '.join(missing)}, which the service has no queue for yet: run "
                "`python manage.py provision_ecs` (it makes them), then deploy. Nothing was changed."
            )
        return {queue_variable(queue): made[queue]["url"] for queue in queues}

    def storage_values(self) -> dict[str, str]:
        """The storage bucket's name and region; the access keys' variables empty where the settings read them (the
        task role's credentials then sign every request)."""
        storage, bucket = self.environment.ecs.storage, self.outputs.get("armazenamento")
        if storage is None:
            return {}
        if not bucket:
            raise DeployError(
                "ECR_DEPLOY['ECS']['STORAGE'] is on, and the service has no bucket yet: run "
                "`python manage.py provision_ecs` (it makes the bucket), then deploy. Nothing was changed."
            )
        keys = {
            self.environment.ecs.variables[setting]: ""
            for setting, own in STORAGE_SETTING_VARIABLES.items()
            if not own and setting in self.environment.ecs.variables
        }
        return {storage.bucket_variable: bucket["bucket"], "AWS_S3_REGION_NAME": bucket["regiao"], **keys}

    def secrets(self) -> dict[str, str]:
        """ECS reads these by ARN when a task starts: the RDS user and password are JSON keys of its secret, or its
        DATABASE_URL a secret of its own; DJANGO_SECRET_KEY, Terraform's, also under the project's name."""
        ecs = self.environment.ecs
        database = self.outputs.get("banco") or {}
        arn = database.get("secret_arn")
        credentials = {}
        if database and ecs.database_variables == "url":
            credentials = {"DATABASE_URL": self.database_url_arn(database)}
        elif database:
            *_, user, password = DATABASE_VARIABLE_NAMES[ecs.database_variables]
            credentials = {user: f"{arn}:username::", password: f"{arn}:password::"}
        secret_key = self.outputs.get("secret_key_arn")
        own = {"DJANGO_SECRET_KEY": secret_key} if secret_key else {}
        return self.aliased({**ecs.secrets, **self.configuration, **own, **credentials})

    @staticmethod
    def database_url_arn(database: dict[str, Any]) -> str:
        if not database.get("url_arn"):
            raise DeployError(
                "ECR_DEPLOY['ECS']['DATABASE_VARIABLES'] is 'url', and the service has no DATABASE_URL secret yet: run "
                "`python manage.py provision_ecs` (it makes the secret and puts its value), then deploy. Nothing was changed."
            )
        return database["url_arn"]

    def aliased(self, values: dict[str, str]) -> dict[str, str]:
        """values, each of deploy_ecs's own names also under the name the project's settings read (VARIABLES)."""
        own_names = SETTING_VARIABLES | STORAGE_SETTING_VARIABLES
        aliases = {own_names[setting]: name for setting, name in self.environment.ecs.variables.items()}
        return values | {aliases[name]: value for name, value in values.items() if name in aliases}

    def image_of(self, task_definition: dict[str, Any]) -> str:
        return named_container(task_definition, self.environment.ecs.container)["image"]

    def mark(self, images: dict[str, str]) -> None:
        """Tag each image (URI@sha256:...) of this environment's repository with its mark, so that no lifecycle rule
        expires what runs or what a rollback returns to."""
        for mark, image in images.items():
            name, _, digest = image.partition("@")
            if not digest or name.split("/", 1)[-1] != self.environment.repository:
                continue  # not an image of this repository (Terraform's first revision may name another)
            tag = mark.format(environment=self.environment.name)
            if self.ecr.tag_image(self.environment.repository, digest, tag):
                self.result.marks[tag] = digest
            else:
                self.progress.heading(
                    f"Marks: {tag} is on another image and the repository's tags are IMMUTABLE; a lifecycle rule that "
                    "keeps the last images may expire this one."
                )
        if self.result.marks:
            listed = ", ".join(f"{tag} on {digest[:19]}" for tag, digest in self.result.marks.items())
            self.progress.heading(f"Marks: {listed} (the lifecycle policy keeps them)")

    def check_secrets_readable(self, desired: dict[str, Any]) -> None:
        """Refuse, before any change, a revision whose execution role may not read one of its secrets: on Fargate
        every task of it would stop at its start (ResourceInitializationError)."""
        refused = secrets_refused(self.iam, desired, named_container(desired, self.environment.ecs.container))
        if refused:
            raise DeployError(
                f"The execution role {desired['executionRoleArn']} may not read every secret of the new revision: "
                f"{refused}. Run "
                "`python manage.py provision_ecs` (it grants the role the secrets of ECR_DEPLOY['ECS']['SECRETS'] and "
                "DATABASE, and the KMS keys of segredos_kms_chaves), then deploy. Nothing was changed."
            )

    def migrate(self, live: dict[str, Any]) -> None:
        """migrate --noinput as a one-off task of the new revision; skipped for the image's own SQLite."""
        if not self.options.migrate:
            self.result.skipped.append("migrate (--no-migrate)")
            return
        if self.uses_image_sqlite:
            self.result.skipped.append("migrate (the image's SQLite: each task migrates its own)")
            return
        outcome = self.one_off("Migrate", MIGRATE_COMMAND, live)
        self.result.migrated = True
        marked = [line for line in outcome.log_tail if line.startswith(IRREVERSIBLE_MARK)]
        self.result.irreversible_migrations = [
            name.strip() for line in marked for name in line.removeprefix(IRREVERSIBLE_MARK).split(",") if name.strip()
        ]

    def load_fixtures(self, live: dict[str, Any]) -> None:
        """The fixtures as a one-off task after migrate: loaded into a database that never had them, never again."""
        if not self.options.fixtures or not self.result.migrated:
            return
        self.one_off("Fixtures", [*FIXTURES_COMMAND, *self.options.fixtures], live)
        self.result.fixtures_checked = True

    def collect_static(self, live: dict[str, Any]) -> None:
        """collectstatic as a one-off task of the new revision, when the static files live in the storage bucket:
        the new files are there before any task of the release serves a page that names them."""
        storage = self.environment.ecs.storage
        if storage is None or not storage.static:
            return
        self.one_off("Collectstatic", COLLECTSTATIC_COMMAND, live)
        self.result.static_collected = True

    def one_off(self, step: str, command: list[str], live: dict[str, Any]) -> TaskOutcome:
        """command as a one-off task of the new revision, on the service's network; a failure names its exit code
        and the end of its log."""
        self.progress.heading(f"{step}: `{' '.join(command)}` as a one-off task")
        outcome = self.service.run_one_off(
            self.result.task_definition,
            self.environment.ecs.container,
            command,
            {"awsvpcConfiguration": live["networkConfiguration"]["awsvpcConfiguration"]},
            self.options.timeout_seconds,
            self.outputs["grupo_logs"],
            self.progress.heading,
        )
        if outcome.still_running:
            raise DeployError(
                f"The task `{' '.join(command)}` ({outcome.task_arn}) is still {outcome.last_status} after "
                f"{self.options.timeout_seconds:g}s; nothing was deployed. Stop it or wait, then deploy again."
            )
        if not outcome.succeeded:
            tail = "\n".join(outcome.log_tail[-20:]) or "(no log lines)"
            raise DeployError(
                f"The {step.lower()} task {outcome.task_arn} failed (exit code {outcome.exit_code}, stop code "
                f"{outcome.stop_code or 'none'}: {outcome.stopped_reason or 'no reason given'}); the service was "
                f"not updated and the new revision was deregistered. The end of its log:\n{tail}"
            )
        return outcome

    def alarms_to_watch(self) -> tuple[list[str], set[str]]:
        """The alarms the bake will watch, read once before anything changes (a missing one stops the deploy here),
        and those already in ALARM, which the bake cannot blame on this release."""
        if not self.options.bake_seconds:
            return [], set()
        watched = [*self.outputs.get("alarmes", []), *self.environment.ecs.alarms]
        firing = {alarm.name for alarm in self.alarms(watched) if alarm.firing} if watched else set()
        for name in sorted(firing):
            self.progress.heading(f"Bake: {name} is in ALARM before this deploy; the bake does not judge it.")
        return watched, firing

    def bake(self, watched: list[str], firing_before: set[str]) -> None:
        """Watch the alarms for bake_seconds after the rollout: one that goes into ALARM rolls the service back to
        the revision before (with the same waits), and the deploy fails naming it."""
        seconds, heading = self.options.bake_seconds, self.progress.heading
        if not seconds or not watched:
            reason = "--bake 0" if not seconds else "no alarms to watch"
            heading(f"Bake: skipped ({reason}).")
            self.result.bake = {"seconds": 0, "verdict": "skipped", "reason": reason}
            return
        poll = min(10.0, max(1.0, seconds / 10))
        ends = time.monotonic() + seconds
        while True:
            left = max(0.0, ends - time.monotonic())
            try:
                states = self.alarms(watched)
            except (AwsError, DeployError) as err:
                why = f"the alarms could not be read: {err}"
                if self.options.keep_on_bake_error:
                    heading(f"Bake: {why}; the new revision stays (--keep-on-bake-error).")
                    self.result.bake = {"seconds": seconds, "verdict": "unjudged, kept", "reason": why}
                    return
                self.fail_bake(seconds, why)
            heading(f"Bake: {left:.0f}s left; " + ", ".join(f"{alarm.name} {alarm.state}" for alarm in states))
            fired = [alarm for alarm in states if alarm.firing and alarm.name not in firing_before]
            if fired:
                self.fail_bake(seconds, f"{fired[0].name} went into ALARM ({fired[0].reason or 'no reason given'})")
            if not left:
                heading(f"Bake: passed ({seconds:g}s, no alarm fired).")
                self.result.bake = {"seconds": seconds, "verdict": "passed", "alarms": watched}
                return
            time.sleep(min(poll, left))

    def fail_bake(self, seconds: float, why: str) -> NoReturn:
        """Roll back to the revision before, then fail; after migrations that cannot run backwards, fail without
        the rollback."""
        result = self.result
        failed = result.task_definition
        if result.irreversible_migrations:
            result.bake = {"seconds": seconds, "verdict": "failed, not rolled back", "reason": why}
            raise DeployError(
                f"The bake of {failed} failed: {why}. It was not rolled back: this release applied migrations that "
                f"cannot run backwards ({', '.join(result.irreversible_migrations)}), so the previous revision may not "
                "work with the schema. Fix forward with a new deploy, or `deploy_ecs --rollback` once you know that "
                "the previous revision works with it."
            )
        self.progress.heading(f"Bake: {why}; rolling {result.service} back to {result.previous_task_definition}")
        self.roll_to(result.previous_task_definition)
        for release in self.releases:
            self.roll_process(release, release.running)
        self.point_schedules(result.previous_task_definition)
        result.bake = {"seconds": seconds, "verdict": "rolled back", "reason": why}
        schema = (
            " The migrations it ran stay applied: the schema is at the new version, which the previous revision "
            "must work with (docs/how-to/deploy.md: expand, then contract)."
            if result.migrated
            else ""
        )
        raise DeployError(
            f"The bake of {failed} failed: {why}. {result.service} was rolled back and runs "
            f"{result.previous_task_definition} again.{schema}"
        )

    def roll_to(self, task_definition: str) -> None:
        with timed(self.result.timings, "rollout"):
            deployment_id = self.service.update(task_definition)
            self.result.deployment_id = deployment_id
            self.progress.heading(f"Service {self.result.service}: deployment {deployment_id} started")
            deployment = self.service.wait_for_rollout(
                deployment_id, self.options.timeout_seconds, self.progress.heading
            )
            self.result.rollout_state = deployment["rolloutState"]
            running = self.service.describe()["taskDefinition"]
            if running != task_definition:
                raise DeployError(
                    f"The rollout completed, but {self.result.service} now runs {running}: another deploy?"
                )

    def roll_back(self) -> ServiceResult:
        """Redeploy the revision before the running one, with the same waits."""
        live = self.service.describe()
        current = self.service.task_definition(live["taskDefinition"])
        previous = self.service.previous_revision(current["family"], live["taskDefinition"])
        if previous is None:
            raise DeployError(
                f"{self.result.service} runs {live['taskDefinition']}, and {current['family']} has no earlier "
                "active revision to roll back to."
            )
        self.result.previous_task_definition = live["taskDefinition"]
        self.result.task_definition = previous
        containers = self.service.task_definition(previous)["containerDefinitions"]
        self.result.image = next((c["image"] for c in containers if c["name"] == self.environment.ecs.container), "")
        if self.options.plan:
            self.progress.heading(f"Plan: roll {self.result.service} back to {previous}.")
            return self.result
        self.progress.heading(f"Rollback: {self.result.service} from {live['taskDefinition']} to {previous}")
        self.roll_to(previous)
        for name, service in self.processes.items():
            running = service.describe()["taskDefinition"]
            before = service.previous_revision(self.outputs["processos"][name]["familia"], running)
            if before is None:
                continue
            self.progress.heading(f"Rollback: {service.service} from {running} to {before}")
            self.roll_process(ProcessRelease(name, service, running, {}, ""), before)
            self.result.processes[name] = {"task_definition": before, "previous_task_definition": running}
        self.point_schedules(previous)
        self.mark({RUNNING_MARK: self.result.image, PREVIOUS_MARK: self.image_of(current)})
        return self.result


def deploy_service(
    environment: Environment, session: Any, stack: Stack, progress: Progress, options: DeployOptions
) -> ServiceResult:
    """deploy_ecs's run: the image's digest is read from ECR while the service's outputs and live revision are read
    (the two do not depend on each other), then the Deployer's steps."""
    ecr = EcrApi(session.client("ecr"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        resolving = None
        if not options.rollback:
            tag = options.tag or environment.tag
            resolving = pool.submit(published_image, ecr, environment.repository, tag, options.digest)
        outputs = service_outputs(stack, progress)
        service = EcsService(session.client("ecs"), LazyClient(session, "logs"), outputs["cluster"], outputs["servico"])
        alarms = functools.partial(alarm_states, LazyClient(session, "cloudwatch"))
        iam = LazyClient(session, "iam")
        store = ParameterStore(session, configuration_path(environment.ecs.service, environment.name))
        configuration = [] if options.rollback else store.parameters()
        processes = {
            name: EcsService(session.client("ecs"), LazyClient(session, "logs"), outputs["cluster"], made["servico"])
            for name, made in (outputs.get("processos") or {}).items()
        }
        scheduler = LazyClient(session, "scheduler")
        result = Deployer(
            environment,
            outputs,
            service,
            ecr,
            progress,
            options,
            alarms,
            iam,
            resolving,
            configuration,
            processes,
            scheduler,
        ).run()
    if options.plan and not options.rollback:
        live = service.task_definition(result.previous_task_definition)
        result.configuration_pending = undeployed_changes(store, live, environment.ecs.container)
        for change in result.configuration_pending:
            progress.heading(f"Plan: configuration {change}")
    return result
