"""Every ECR_DEPLOY key with its default, and the validation of a user's dict against them. No Django import:
this module is tested alone, and the image's runtime reads the one key it needs through it."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ecr_deploy.schedules import expression_problem

#: Every key of ``settings.ECR_DEPLOY`` with its default (relative paths are taken from BASE_DIR); KEYS says each
#: one's type and meaning.
DEFAULTS: dict[str, Any] = {
    "REPOSITORY": "producao",
    "TAG": "V1",
    "CONTEXT_DIR": ".",
    "DOCKERFILE": "Dockerfile",
    "BASE_IMAGE": None,
    "BUILD_ARGS": {},
    "ALLOWED_HOSTS": ["*"],
    "FIXTURES": [],
    "TERRAFORM_DIR": "infra",
    "RELEASE_TERRAFORM_DIR": "infra/release",
    "TERRAFORM_BIN": "terraform",
    "TERRAFORM_VARS": {},
    "REGION": None,
    "PROFILE": None,
    "ACCOUNT": None,
    "PUSH_ATTEMPTS": 4,
    "RETRY_BACKOFF_SECONDS": 2.0,
    "LOCK_TIMEOUT_SECONDS": 120.0,
    "STATE": {"BACKEND": "local"},
    "ENVIRONMENTS": {},
    "ENVIRONMENT": None,
    "PROJECT": None,
    "ECS": {},
    "HEALTH_PATH": "/health/",
}

#: ECR_DEPLOY["ECS"], merged key by key with an environment's own "ECS".
ECS_DEFAULTS: dict[str, Any] = {
    "TERRAFORM_DIR": "infra/ecs",
    "SERVICE": None,
    "CONTAINER": "app",
    "ENVIRONMENT": {},
    "SECRETS": {},
    "DOMAINS": [],
    "HOSTED_ZONE": None,
    "CERTIFICATE_ARN": None,
    "HSTS_SECONDS": 31_536_000,
    "TERRAFORM_VARS": {},
    "TIMEOUT_SECONDS": 900,
    "MIGRATE": True,
    "DATABASE": "rds",
    "BAKE_SECONDS": 180,
    "ALARMS": [],
    "VARIABLES": {},
    "DATABASE_VARIABLES": "parts",
    "STORAGE": None,
    "PROCESSES": {},
    "QUEUES": [],
    "SCHEDULES": {},
}

#: One process of ECR_DEPLOY["ECS"]["PROCESSES"], merged with its own keys; "command" has no default. With a
#: "queue" (one of QUEUES), it scales on that queue's visible messages per task instead of its CPU.
PROCESS_DEFAULTS: dict[str, Any] = {
    "cpu": 256,
    "memory": 512,
    "min": 1,
    "max": 1,
    "health_check": [],
    "queue": None,
    "messages_per_task": 10,
}
#: A process's or a schedule's name: the end of its service's, family's or schedule's name, and a log stream prefix.
_PROCESS_NAME = re.compile(r"[a-z][a-z0-9-]{0,19}")
#: A queue's name, the end of its SQS name (SERVICE-NAME, and SERVICE-NAME-dlq): SQS takes letters, digits, - and _.
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
#: The variable that gives the tasks a queue's URL.
QUEUE_URL_VARIABLE = "SQS_QUEUE_URL_{name}"


def queue_variable(queue: str) -> str:
    """The variable of the queue's URL: SQS_QUEUE_URL_ and its name in capitals, - as _."""
    return QUEUE_URL_VARIABLE.format(name=queue.upper().replace("-", "_"))


#: One scheduled job of ECR_DEPLOY["ECS"]["SCHEDULES"]; "schedule" and "command" have no default.
SCHEDULE_DEFAULTS: dict[str, Any] = {"timezone": "UTC"}

#: ECR_DEPLOY["ECS"]["STORAGE"], when given: an S3 bucket for the service's files (None: no bucket).
STORAGE_DEFAULTS: dict[str, Any] = {"MEDIA": True, "STATIC": False, "BUCKET_VARIABLE": "AWS_STORAGE_BUCKET_NAME"}

#: The settings whose variables deploy_ecs sets, with the names it sets them under.
SETTING_VARIABLES = {
    "SECRET_KEY": "DJANGO_SECRET_KEY",
    "ALLOWED_HOSTS": "DJANGO_ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT": "DJANGO_SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS": "DJANGO_SECURE_HSTS_SECONDS",
    "CSRF_TRUSTED_ORIGINS": "DJANGO_CSRF_TRUSTED_ORIGINS",
}
#: The database's variables for each DATABASE_VARIABLES, in this order: host, port, name, user, password.
DATABASE_VARIABLE_NAMES = {
    "parts": ("DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"),
    "url": ("DATABASE_URL",),
    "postgres": ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"),
}
#: The django-storages settings deploy_ecs sets with STORAGE, besides the bucket's: the region under its own name,
#: and the access keys empty under the project's names only (django-storages then takes the task role's credentials).
STORAGE_SETTING_VARIABLES = {
    "AWS_S3_REGION_NAME": "AWS_S3_REGION_NAME",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
}
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: ECR_DEPLOY["STATE"]: where the Terraform states live.
STATE_DEFAULTS: dict[str, Any] = {
    "BACKEND": "local",
    "BUCKET": "",
    "KEY_PREFIX": "ecr_deploy/",
    "REGION": None,
    "LOCK_TABLE": None,
    "USE_LOCKFILE": True,
}

#: Each key's type and meaning, by its path (ECS.SERVICE is ECR_DEPLOY["ECS"]["SERVICE"]): the settings reference
#: of the documentation is made from these and the defaults, and refuses a key without its line here.
KEYS: dict[str, tuple[str, str]] = {
    "REPOSITORY": ("str", "The local image's name and the ECR repository's (the course's `producao`)."),
    "TAG": ("str", "The image's tag (the course's `V1`)."),
    "CONTEXT_DIR": ("path", "The Docker build's context folder."),
    "DOCKERFILE": ("path", "The Dockerfile, inside the context folder."),
    "BASE_IMAGE": ("str | None", "The base image, given to the Dockerfile's `BASE_IMAGE` argument (None: its own)."),
    "BUILD_ARGS": ("dict[str, str]", "More build arguments."),
    "ALLOWED_HOSTS": ("list[str]", "The hosts `prepare_image` writes into the image's ALLOWED_HOSTS at build."),
    "FIXTURES": ("list[str]", "Fixtures loaded at build (the image's own SQLite) and at a service's first deploy."),
    "TERRAFORM_DIR": ("path", "The ECR repository's Terraform folder (`publish_ecr`)."),
    "RELEASE_TERRAFORM_DIR": ("path", "The Terraform folder of the role that CI assumes (`release_role`)."),
    "TERRAFORM_BIN": ("str", "The terraform binary."),
    "TERRAFORM_VARS": ("dict", "More variables for the repository's Terraform (`infra/`)."),
    "REGION": ("str | None", "The AWS region (None: the usual chain: `AWS_DEFAULT_REGION`, the profile's)."),
    "PROFILE": ("str | None", "The AWS profile (None: the usual chain)."),
    "ACCOUNT": (
        "str | None",
        (
            "The AWS account id the states must be applied in (None: the one they were first applied in); terraform's "
            "provider gets it as `allowed_account_ids`."
        ),
    ),
    "PUSH_ATTEMPTS": ("int", "Attempts of a registry push on a transient failure."),
    "RETRY_BACKOFF_SECONDS": ("float", "The first backoff delay between push attempts, doubled each time."),
    "LOCK_TIMEOUT_SECONDS": (
        "float",
        "How long a terraform run waits for another run in the same Terraform folder, and for the state's lock.",
    ),
    "STATE": ("dict", "Where the Terraform states live: `local` (a file per environment and repository) or `s3`."),
    "ENVIRONMENTS": ("dict[str, dict]", 'Named environments (`{"prod": {"REPOSITORY": ..., "STATE": ...}}`).'),
    "ENVIRONMENT": ("str | None", "The environment used without `--env`."),
    "PROJECT": (
        "str | None",
        "The `ecr_deploy:project` tag on what this project creates (None: ROOT_URLCONF's package).",
    ),
    "ECS": ("dict", "The ECS Fargate service (`provision_ecs`, `deploy_ecs`), merged with an environment's own."),
    "HEALTH_PATH": ("str", "The path HealthCheckMiddleware answers, inside the image."),
    "ECS.TERRAFORM_DIR": ("path", "The service's Terraform folder."),
    "ECS.SERVICE": ("str | None", "The service's name (None: the repository's, its separators as `-`, cut to 26)."),
    "ECS.CONTAINER": ("str", "The container's name in the task definition."),
    "ECS.ENVIRONMENT": ("dict[str, str]", "Plain environment values for the tasks."),
    "ECS.SECRETS": (
        "dict[str, str]",
        "Secrets for the tasks: a variable's name to the ARN of a Secrets Manager secret or an SSM parameter.",
    ),
    "ECS.DOMAINS": ("list[str]", "The service's own host names (the load balancer's is always allowed)."),
    "ECS.HOSTED_ZONE": (
        "str | None",
        (
            "A Route 53 hosted zone (name or id): a new ACM certificate for DOMAINS is validated in it, and the domains "
            "point at the load balancer."
        ),
    ),
    "ECS.CERTIFICATE_ARN": ("str | None", "The ARN of a certificate for DOMAINS made elsewhere."),
    "ECS.HSTS_SECONDS": ("int", "The HSTS max-age sent over HTTPS."),
    "ECS.TERRAFORM_VARS": ("dict", "More variables for the service's Terraform (see the Terraform reference)."),
    "ECS.TIMEOUT_SECONDS": ("int", "How long a deploy waits for its rollout."),
    "ECS.MIGRATE": ("bool", "Whether a deploy runs migrate as a one-off task of the release."),
    "ECS.DATABASE": (
        "str | dict",
        (
            '`rds` (PostgreSQL on RDS, made by provision_ecs), `{"SECRET_ARN": ARN}` (your own, its DATABASE_URL in a '
            "secret) or `none` (each task's own SQLite from the image: one task at most, its writes lost at each deploy)."
        ),
    ),
    "ECS.BAKE_SECONDS": (
        "int",
        "How long deploy_ecs watches the service's alarms after a rollout; one in ALARM rolls back. 0: no bake.",
    ),
    "ECS.ALARMS": ("list[str]", "More CloudWatch alarm names the bake watches."),
    "ECS.VARIABLES": (
        "dict[str, str]",
        (
            "A Django setting of those deploy_ecs sets to the variable the project's settings read it from, when not "
            "deploy_ecs's own name (`ecr_deploy_init` finds them)."
        ),
    ),
    "ECS.DATABASE_VARIABLES": (
        "str",
        (
            "How the database reaches the tasks: `parts` (DATABASE_HOST and its companions), `url` (a DATABASE_URL "
            "secret: django-environ, dj-database-url) or `postgres` (POSTGRES_HOST and its companions)."
        ),
    ),
    "ECS.STORAGE": (
        "dict | None",
        (
            "An S3 bucket for the service's files, made by provision_ecs (None: none): "
            '`{"MEDIA": True, "STATIC": False, "BUCKET_VARIABLE": "AWS_STORAGE_BUCKET_NAME"}`.'
        ),
    ),
    "ECS.STORAGE.MEDIA": ("bool", "The uploads (`STORAGES['default']`) go to the bucket, under `media/`."),
    "ECS.STORAGE.STATIC": (
        "bool",
        "The static files go to the bucket too: deploy_ecs runs collectstatic as a one-off task of the release.",
    ),
    "ECS.STORAGE.BUCKET_VARIABLE": ("str", "The variable that gives the tasks the bucket's name."),
    "ECS.PROCESSES": (
        "dict[str, dict]",
        (
            "The service's other processes (a Celery worker), each an ECS service of its own from the same image, "
            'deployed with the web: `{"worker": {"command": ["celery", "-A", "proj", "worker"], "cpu": 256, '
            '"memory": 512, "min": 1, "max": 4, "health_check": [...]}}`. With `"queue": "default"` it scales on '
            'that queue\'s visible messages per task (`"messages_per_task"`, 10) instead of its CPU.'
        ),
    ),
    "ECS.QUEUES": (
        "list[str]",
        (
            "SQS queues made by provision_ecs, each encrypted and with a dead-letter queue; the task role may use them "
            "and the tasks get each one's URL as `SQS_QUEUE_URL_<NAME>`."
        ),
    ),
    "ECS.SCHEDULES": (
        "dict[str, dict]",
        (
            "Scheduled jobs, each a one-off task of the deployed revision run by EventBridge Scheduler: "
            '`{"limpeza": {"schedule": "cron(0 3 * * ? *)", "command": ["python", "manage.py", "clearsessions"], '
            '"timezone": "America/Sao_Paulo"}}` (`rate(...)` and `at(...)` too; timezone UTC by default).'
        ),
    ),
    "STATE.BACKEND": ("str", "`local` or `s3`."),
    "STATE.BUCKET": ("str", "The S3 bucket of the states (`s3`)."),
    "STATE.KEY_PREFIX": ("str", "The prefix of the states' keys in the bucket."),
    "STATE.REGION": ("str | None", "The bucket's and its lock table's region (None: the bucket's, by HeadBucket)."),
    "STATE.LOCK_TABLE": ("str | None", "A DynamoDB lock table, for terraform before 1.10."),
    "STATE.USE_LOCKFILE": ("bool", "S3's native locking (terraform 1.10 and later)."),
}

#: The keys an environment of ECR_DEPLOY["ENVIRONMENTS"] may override.
ENVIRONMENT_KEYS = frozenset({"REPOSITORY", "TAG", "REGION", "PROFILE", "ACCOUNT", "TERRAFORM_VARS", "STATE", "ECS"})
#: The environment of a project that configures none: the course's single repository, local state.
DEFAULT_ENVIRONMENT = "default"
BACKENDS = ("local", "s3")

_TYPES: dict[str, tuple[type, ...]] = {
    "REPOSITORY": (str,),
    "TAG": (str,),
    "CONTEXT_DIR": (str, Path),
    "DOCKERFILE": (str, Path),
    "BASE_IMAGE": (str, type(None)),
    "BUILD_ARGS": (dict,),
    "ALLOWED_HOSTS": (list, tuple),
    "FIXTURES": (list, tuple),
    "TERRAFORM_DIR": (str, Path),
    "RELEASE_TERRAFORM_DIR": (str, Path),
    "TERRAFORM_BIN": (str,),
    "TERRAFORM_VARS": (dict,),
    "REGION": (str, type(None)),
    "PROFILE": (str, type(None)),
    "ACCOUNT": (str, type(None)),
    "PUSH_ATTEMPTS": (int,),
    "RETRY_BACKOFF_SECONDS": (int, float),
    "LOCK_TIMEOUT_SECONDS": (int, float),
    "STATE": (dict,),
    "ENVIRONMENTS": (dict,),
    "ENVIRONMENT": (str, type(None)),
    "PROJECT": (str, type(None)),
    "ECS": (dict,),
    "HEALTH_PATH": (str,),
}
#: The service's Terraform variables that ECR_DEPLOY["ECS"]["DATABASE"] sets.
DATABASE_VARIABLES = ("banco_rds", "database_url_secret_arn")
#: The service's Terraform variables that DOMAINS, HOSTED_ZONE and CERTIFICATE_ARN set.
DOMAIN_VARIABLES = ("dominios", "zona_dns", "certificado_arn")
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+")
_HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
#: The ARN of a Secrets Manager secret or an SSM parameter (what ECS reads a task's secret from).
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+|ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+)"
)
#: Fargate's task sizes: memory (MiB) by cpu units (ECS developer guide, "Task CPU and memory"); infra/ecs's defaults.
FARGATE_MEMORY: dict[int, range | tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
    8192: range(16384, 61441, 4096),
    16384: range(32768, 122881, 8192),
}
FARGATE_DEFAULT_SIZE = {"cpu": 256, "memoria": 512}
_ENVIRONMENT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ACCOUNT = re.compile(r"[0-9]{12}")


def problems(raw: Any) -> list[str]:
    """Every problem of an ECR_DEPLOY value, as sentences; empty when it is valid."""
    if not isinstance(raw, dict):
        return [f"ECR_DEPLOY must be a dict, not {type(raw).__name__}"]
    found = [f"unknown key ECR_DEPLOY[{key!r}]" for key in raw if key not in DEFAULTS]
    for key, value in raw.items():
        if key in _TYPES and (problem := _type_problem(value, _TYPES[key])):
            found.append(f"ECR_DEPLOY[{key!r}] {problem}")
    if isinstance(raw.get("PUSH_ATTEMPTS"), int) and raw["PUSH_ATTEMPTS"] < 1:
        found.append("ECR_DEPLOY['PUSH_ATTEMPTS'] must be at least 1")
    if isinstance(raw.get("HEALTH_PATH"), str):
        try:
            health_path(raw)
        except ValueError as err:
            found.append(str(err))
    for key in ("ALLOWED_HOSTS", "FIXTURES"):
        if isinstance(raw.get(key), (list, tuple)) and not all(isinstance(v, str) and v for v in raw[key]):
            found.append(f"ECR_DEPLOY[{key!r}] must hold non-empty strings")
    return found or _environment_problems(raw)


def health_path(raw: Any) -> str:
    """ECR_DEPLOY['HEALTH_PATH'], validated alone: the web process reads only this key, so that a bad value of a
    deploy-side key can never keep it from booting."""
    value = raw.get("HEALTH_PATH", DEFAULTS["HEALTH_PATH"]) if isinstance(raw, dict) else DEFAULTS["HEALTH_PATH"]
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"ECR_DEPLOY['HEALTH_PATH'] must be a path starting with /, not {value!r}")
    return value


def _type_problem(value: Any, expected: tuple[type, ...]) -> str | None:
    if isinstance(value, expected) and not (isinstance(value, bool) and bool not in expected):
        return None
    names = " or ".join("None" if t is type(None) else t.__name__ for t in expected)
    return f"must be {names}, not {type(value).__name__}"


def terraform_value_problem(value: Any) -> str | None:
    """Why value cannot be a Terraform value, or None: strings, finite numbers, booleans, null, and lists and
    maps (with string keys) of them."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, (list, tuple)):
        return next((problem for item in value if (problem := terraform_value_problem(item))), None)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return "a map's keys must be strings"
        return next((problem for item in value.values() if (problem := terraform_value_problem(item))), None)
    return f"a {type(value).__name__} is not a Terraform value (use strings, numbers, booleans, lists or dicts)"


def _environment_problems(raw: dict[str, Any]) -> list[str]:
    """The problems of ENVIRONMENTS, ENVIRONMENT, STATE, ECS and every TERRAFORM_VARS, as sentences."""
    found = _vars_problems(raw.get("TERRAFORM_VARS", {}), "ECR_DEPLOY['TERRAFORM_VARS']")
    found += _account_problems(raw.get("ACCOUNT"), "ECR_DEPLOY['ACCOUNT']")
    found += _state_problems({**DEFAULTS["STATE"], **raw.get("STATE", {})}, "ECR_DEPLOY['STATE']")
    environments = raw.get("ENVIRONMENTS", {})
    for name, overrides in environments.items():
        where = f"ECR_DEPLOY['ENVIRONMENTS'][{name!r}]"
        if not isinstance(name, str) or not _ENVIRONMENT_NAME.fullmatch(name):
            found.append(f"{where}: an environment name is 1 to 32 lowercase letters, digits, - and _")
            continue
        if not isinstance(overrides, dict):
            found.append(f"{where} must be a dict, not {type(overrides).__name__}")
            continue
        found += [f"unknown key {where}[{key!r}]" for key in overrides if key not in ENVIRONMENT_KEYS]
        found += _vars_problems(overrides.get("TERRAFORM_VARS", {}), f"{where}['TERRAFORM_VARS']")
        found += _account_problems(overrides.get("ACCOUNT"), f"{where}['ACCOUNT']")
        state = overrides.get("STATE", {})
        if not isinstance(state, dict):
            found.append(f"{where}['STATE'] must be a dict")
        else:
            found += _state_problems({**DEFAULTS["STATE"], **raw.get("STATE", {}), **state}, f"{where}['STATE']")
        if "ECS" in overrides:
            found += _ecs_problems(overrides["ECS"], f"{where}['ECS']")
    found += _ecs_problems(raw.get("ECS", {}), "ECR_DEPLOY['ECS']")
    chosen = raw.get("ENVIRONMENT")
    if chosen is not None and chosen not in environments and not (chosen == DEFAULT_ENVIRONMENT and not environments):
        found.append(f"ECR_DEPLOY['ENVIRONMENT'] is {chosen!r}, which ECR_DEPLOY['ENVIRONMENTS'] does not define")
    return found


def _vars_problems(variables: Any, where: str) -> list[str]:
    if not isinstance(variables, dict):
        return [f"{where} must be a dict"]
    return [
        f"{where}[{name!r}]: {problem}"
        for name, value in variables.items()
        if (problem := terraform_value_problem(value))
    ]


def _account_problems(account: Any, where: str) -> list[str]:
    if account is None or (isinstance(account, str) and _ACCOUNT.fullmatch(account)):
        return []
    return [f"{where} must be an AWS account id of 12 digits, as a string, not {account!r}"]


def _ecs_problems(ecs: Any, where: str) -> list[str]:
    if not isinstance(ecs, dict):
        return [f"{where} must be a dict"]
    found = [f"unknown key {where}[{key!r}]" for key in ecs if key not in ECS_DEFAULTS]
    for key in ("ENVIRONMENT", "SECRETS"):
        value = ecs.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            found.append(f"{where}[{key!r}] must map names to strings")
    found += _domain_problems(ecs, where)
    found += _vars_problems(ecs.get("TERRAFORM_VARS", {}), f"{where}['TERRAFORM_VARS']")
    found += [
        f"{where}['TERRAFORM_VARS'][{name!r}] is set from {where}['{setting}']; set that instead"
        for names, setting in (
            (DATABASE_VARIABLES, "DATABASE"),
            (DOMAIN_VARIABLES, "DOMAINS"),
            (("armazenamento",), "STORAGE"),
            (("processos",), "PROCESSES"),
            (("filas",), "QUEUES"),
            (("agendamentos",), "SCHEDULES"),
        )
        for name in names
        if isinstance(ecs.get("TERRAFORM_VARS"), dict) and name in ecs["TERRAFORM_VARS"]
    ]
    found += _fargate_size_problems(ecs.get("TERRAFORM_VARS"), f"{where}['TERRAFORM_VARS']")
    bake = ecs.get("BAKE_SECONDS", ECS_DEFAULTS["BAKE_SECONDS"])
    if isinstance(bake, bool) or not isinstance(bake, (int, float)) or bake < 0:
        found.append(f"{where}['BAKE_SECONDS'] must be a number of seconds, 0 or more")
    alarms = ecs.get("ALARMS", [])
    if not isinstance(alarms, list) or not all(isinstance(name, str) and name for name in alarms):
        found.append(f"{where}['ALARMS'] must be a list of CloudWatch alarm names")
    timeout = ecs.get("TIMEOUT_SECONDS", ECS_DEFAULTS["TIMEOUT_SECONDS"])
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        found.append(f"{where}['TIMEOUT_SECONDS'] must be a positive number")
    found += _database_problems(ecs, where)
    found += _variables_problems(ecs, where)
    found += _storage_problems(ecs.get("STORAGE"), f"{where}['STORAGE']")
    queues = ecs.get("QUEUES", [])
    found += _queues_problems(queues, f"{where}['QUEUES']")
    found += _processes_problems(ecs.get("PROCESSES", {}), f"{where}['PROCESSES']", ecs.get("CONTAINER", "app"), queues)
    found += _schedules_problems(ecs.get("SCHEDULES", {}), f"{where}['SCHEDULES']")
    if "DJANGO_ALLOWED_HOSTS" in ecs.get("ENVIRONMENT", {}):
        found.append(f"{where}['ENVIRONMENT']: DJANGO_ALLOWED_HOSTS is set by deploy_ecs; list extra hosts in DOMAINS")
    return found


def _fargate_size_problems(variables: Any, where: str) -> list[str]:
    """A cpu and memoria that Fargate does not pair, refused before terraform (which would apply half of it)."""
    if not isinstance(variables, dict) or not {"cpu", "memoria"} & variables.keys():
        return []
    size = {**FARGATE_DEFAULT_SIZE, **{key: variables[key] for key in ("cpu", "memoria") if key in variables}}
    cpu, memory = size["cpu"], size["memoria"]
    if isinstance(cpu, int) and isinstance(memory, int) and memory in FARGATE_MEMORY.get(cpu, ()):
        return []
    pairs = "; ".join(f"{units}: {values[0]} to {values[-1]}" for units, values in FARGATE_MEMORY.items())
    return [f"{where}: Fargate runs no task of cpu {cpu!r} with memoria {memory!r}; the pairs are {pairs} (MiB)"]


def _domain_problems(ecs: dict[str, Any], where: str) -> list[str]:
    domains = ecs.get("DOMAINS", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and _HOST_NAME.fullmatch(d) for d in domains):
        return [f"{where}['DOMAINS'] must be a list of lowercase host names, e.g. ['api.example.com'], not {domains!r}"]
    found = []
    zone, certificate = ecs.get("HOSTED_ZONE"), ecs.get("CERTIFICATE_ARN")
    if zone is not None and not (isinstance(zone, str) and zone):
        found.append(f"{where}['HOSTED_ZONE'] must be a Route 53 hosted zone's name or id, not {zone!r}")
    if certificate is not None and not (isinstance(certificate, str) and _CERTIFICATE_ARN.fullmatch(certificate)):
        found.append(
            f"{where}['CERTIFICATE_ARN'] must be an ACM certificate's ARN "
            f"(arn:aws:acm:REGION:ACCOUNT:certificate/ID), not {certificate!r}"
        )
    if (zone or certificate) and not domains:
        found.append(f"{where}: HOSTED_ZONE and CERTIFICATE_ARN serve DOMAINS over HTTPS; list the domains there")
    hsts = ecs.get("HSTS_SECONDS", ECS_DEFAULTS["HSTS_SECONDS"])
    if isinstance(hsts, bool) or not isinstance(hsts, int) or hsts < 0:
        found.append(f"{where}['HSTS_SECONDS'] must be a whole number of seconds, 0 or more (0: no HSTS)")
    return found


def _database_problems(ecs: dict[str, Any], where: str) -> list[str]:
    database = ecs.get("DATABASE", ECS_DEFAULTS["DATABASE"])
    if isinstance(database, dict):
        arn = database.get("SECRET_ARN")
        if set(database) != {"SECRET_ARN"} or not isinstance(arn, str) or not _SECRET_ARN.fullmatch(arn):
            return [
                (
                    f"{where}['DATABASE'] = {database!r}: your own database is {{'SECRET_ARN': ARN}}, the ARN of a Secrets "
                    "Manager secret or SSM parameter holding its DATABASE_URL (arn:aws:secretsmanager:REGION:ACCOUNT:"
                    "secret:NAME)"
                )
            ]
        return []
    if database not in ("rds", "none"):
        return [
            (
                f"{where}['DATABASE'] = {database!r}: use 'rds' (PostgreSQL made by provision_ecs), "
                "{'SECRET_ARN': ARN} (your own) or 'none' (the image's SQLite, one task)"
            )
        ]
    if database == "rds" and "DATABASE_URL" in ecs.get("SECRETS", {}):
        return [
            (
                f"{where}: SECRETS['DATABASE_URL'] would win over the RDS database of DATABASE 'rds'; for your own "
                "database set DATABASE = {'SECRET_ARN': ARN} instead"
            )
        ]
    return []


def _processes_problems(processes: Any, where: str, container: Any, queues: Any) -> list[str]:
    if not isinstance(processes, dict):
        return [f"{where} must map process names to dicts such as {{'command': ['celery', ...]}}"]
    found = []
    for name, process in processes.items():
        at = f"{where}[{name!r}]"
        if not isinstance(name, str) or not _PROCESS_NAME.fullmatch(name):
            found.append(f"{at}: a process's name is 1 to 20 lowercase letters, digits and -, starting with a letter")
        elif name in ("web", "app", container):
            found.append(f"{at}: {name!r} is the web's name; call the process otherwise (worker, beat)")
        if not isinstance(process, dict):
            found.append(f"{at} must be a dict with a 'command'")
            continue
        found += [f"unknown key {at}[{key!r}]" for key in process if key not in {*PROCESS_DEFAULTS, "command"}]
        for key in ("command", "health_check"):
            if not _is_command(process.get(key, PROCESS_DEFAULTS.get(key)), empty=key == "health_check"):
                found.append(f"{at}[{key!r}] must be a list of strings, as ECS runs it: ['celery', '-A', 'proj', ...]")
        counts = {key: process.get(key, PROCESS_DEFAULTS[key]) for key in ("min", "max")}
        if not all(isinstance(value, int) and not isinstance(value, bool) and value >= 0 for value in counts.values()):
            found.append(f"{at}: min and max must be whole numbers of tasks, 0 or more")
        elif counts["min"] > counts["max"]:
            found.append(f"{at}: min {counts['min']} is above max {counts['max']}")
        size = {"cpu": process.get("cpu", 256), "memoria": process.get("memory", 512)}
        found += _fargate_size_problems(size, at)
        found += _queue_scaling_problems(process, at, queues)
    return found


def _is_command(value: Any, *, empty: bool = False) -> bool:
    """A command as ECS runs it: a list of non-empty strings (an empty list only where none is allowed)."""
    return isinstance(value, list) and (empty or bool(value)) and all(isinstance(p, str) and p for p in value)


def _queue_scaling_problems(process: dict, at: str, queues: Any) -> list[str]:
    queue, per_task = process.get("queue"), process.get("messages_per_task", PROCESS_DEFAULTS["messages_per_task"])
    if queue is None:
        return []
    if not isinstance(queues, list) or queue not in queues:
        return [f"{at}['queue']: {queue!r} is not one of QUEUES ({queues!r}); a process scales on a queue it reads"]
    found = []
    if isinstance(per_task, bool) or not isinstance(per_task, int) or per_task < 1:
        found.append(f"{at}['messages_per_task'] must be a whole number of messages, 1 or more")
    if process.get("min", PROCESS_DEFAULTS["min"]) == 0:
        # Messages per task has no value with no task running: target tracking would never scale out of 0.
        found.append(f"{at}: min must be 1 or more when it scales on its queue (no task, no messages per task)")
    return found


def _queues_problems(queues: Any, where: str) -> list[str]:
    if not isinstance(queues, list):
        return [f"{where} must be a list of queue names, e.g. ['default']"]
    found = [
        f"{where}: {queue!r} is not a name SQS takes here: 1 to 40 letters, digits, - and _ (no .fifo: standard "
        "queues only)"
        for queue in queues
        if not isinstance(queue, str) or not _QUEUE_NAME.fullmatch(queue)
    ]
    if len(set(map(str, queues))) != len(queues):
        found.append(f"{where} names a queue twice")
    return found


def _schedules_problems(schedules: Any, where: str) -> list[str]:
    if not isinstance(schedules, dict):
        return [f"{where} must map job names to dicts such as {{'schedule': 'cron(0 3 * * ? *)', 'command': [...]}}"]
    found = []
    for name, job in schedules.items():
        at = f"{where}[{name!r}]"
        if not isinstance(name, str) or not _PROCESS_NAME.fullmatch(name):
            found.append(f"{at}: a job's name is 1 to 20 lowercase letters, digits and -, starting with a letter")
        if not isinstance(job, dict):
            found.append(f"{at} must be a dict with a 'schedule' and a 'command'")
            continue
        found += [f"unknown key {at}[{key!r}]" for key in job if key not in {*SCHEDULE_DEFAULTS, "schedule", "command"}]
        if not _is_command(job.get("command")):
            found.append(f"{at}['command'] must be a list of strings, as ECS runs it: ['python', 'manage.py', ...]")
        if problem := expression_problem(job.get("schedule"), job.get("timezone", SCHEDULE_DEFAULTS["timezone"])):
            found.append(f"{at}: {problem}")
    return found


def _storage_problems(storage: Any, where: str) -> list[str]:
    if storage is None:
        return []
    if not isinstance(storage, dict):
        return [f"{where} must be a dict such as {STORAGE_DEFAULTS!r}, or None"]
    found = [f"unknown key {where}[{key!r}]" for key in storage if key not in STORAGE_DEFAULTS]
    found += [
        f"{where}[{key!r}] must be True or False"
        for key in ("MEDIA", "STATIC")
        if not isinstance(storage.get(key, STORAGE_DEFAULTS[key]), bool)
    ]
    name = storage.get("BUCKET_VARIABLE", STORAGE_DEFAULTS["BUCKET_VARIABLE"])
    if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
        found.append(f"{where}['BUCKET_VARIABLE'] must be an environment variable's name, not {name!r}")
    if storage.get("MEDIA") is False and storage.get("STATIC") is not True:
        found.append(f"{where}: MEDIA and STATIC are both off; turn one on, or set STORAGE to None")
    return found


def _variables_problems(ecs: dict[str, Any], where: str) -> list[str]:
    found = []
    variables = ecs.get("VARIABLES", {})
    if not isinstance(variables, dict):
        return [f"{where}['VARIABLES'] must map Django settings to variable names"]
    settable = [*SETTING_VARIABLES, *STORAGE_SETTING_VARIABLES]
    for setting, name in variables.items():
        if setting not in settable:
            found.append(f"{where}['VARIABLES'][{setting!r}]: deploy_ecs sets only {', '.join(settable)}")
        elif not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name):
            found.append(f"{where}['VARIABLES'][{setting!r}] must be an environment variable's name, not {name!r}")
    style = ecs.get("DATABASE_VARIABLES", ECS_DEFAULTS["DATABASE_VARIABLES"])
    if style not in DATABASE_VARIABLE_NAMES:
        found.append(
            f"{where}['DATABASE_VARIABLES'] = {style!r}: use 'parts' (DATABASE_HOST ...), 'url' (DATABASE_URL) or "
            "'postgres' (POSTGRES_HOST ...)"
        )
    return found


def _state_problems(state: dict[str, Any], where: str) -> list[str]:
    found = [f"unknown key {where}[{key!r}]" for key in state if key not in STATE_DEFAULTS]
    backend = state.get("BACKEND")
    if backend not in BACKENDS:
        return [*found, f"{where}['BACKEND'] must be 'local' or 's3', not {backend!r}"]
    if backend == "s3":
        if not isinstance(state.get("BUCKET"), str) or not state["BUCKET"]:
            found.append(f"{where}: an S3 state needs a BUCKET (create it with `manage.py bootstrap_state`)")
        prefix = state.get("KEY_PREFIX", STATE_DEFAULTS["KEY_PREFIX"])
        if not isinstance(prefix, str) or prefix.startswith("/") or "//" in prefix:
            found.append(f"{where}['KEY_PREFIX'] must be a string that neither starts with / nor holds //")
        if not state.get("USE_LOCKFILE", True) and not state.get("LOCK_TABLE"):
            found.append(f"{where}: an S3 state needs a lock: USE_LOCKFILE True, or a LOCK_TABLE")
    return found
