"""ECR_DEPLOY settings: the user's dict merged over documented defaults, read when used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings

from ecr_deploy.errors import ConfigurationError

#: Every key of ``settings.ECR_DEPLOY`` with its default; relative paths are taken from BASE_DIR.
DEFAULTS: dict[str, Any] = {
    # Local image name and tag (the course's ``docker build . -t producao:V1``); also the ECR repository.
    "REPOSITORY": "producao",
    "TAG": "V1",
    # Docker build: context folder, Dockerfile inside it, base image (None: the Dockerfile's default).
    "CONTEXT_DIR": ".",
    "DOCKERFILE": "Dockerfile",
    "BASE_IMAGE": None,
    "BUILD_ARGS": {},
    # prepare_image: the hosts written into ALLOWED_HOSTS and the fixtures loaded at build time.
    "ALLOWED_HOSTS": ["*"],
    "FIXTURES": [],
    # publish_ecr: the Terraform folder, binary, extra variables; AWS region and profile (None: the usual chain).
    "TERRAFORM_DIR": "infra",
    "TERRAFORM_BIN": "terraform",
    "TERRAFORM_VARS": {},
    "REGION": None,
    "PROFILE": None,
    # Registry pushes: attempts for transient failures and the first backoff delay in seconds.
    "PUSH_ATTEMPTS": 4,
    "RETRY_BACKOFF_SECONDS": 2.0,
    # Seconds a publish waits for another publish of this checkout, and for terraform's state lock.
    "LOCK_TIMEOUT_SECONDS": 120.0,
    # Terraform state: "local" (a file per environment and repository under TERRAFORM_DIR) or "s3", with
    # BUCKET, KEY_PREFIX, REGION (the bucket's; default: the environment's), LOCK_TABLE (DynamoDB, for
    # terraform < 1.10) and USE_LOCKFILE (S3 native locking, terraform >= 1.10). See environments.py.
    "STATE": {"BACKEND": "local"},
    # Named environments ({"prod": {"REPOSITORY": ..., "STATE": {...}}, ...}) and the one used without --env.
    "ENVIRONMENTS": {},
    "ENVIRONMENT": None,
    # The ecr_deploy:project tag on repositories this project creates (None: ROOT_URLCONF's package).
    "PROJECT": None,
    # ECS Fargate (provision_ecs, deploy_ecs), merged key by key with an environment's own "ECS": the Terraform
    # folder of the service, its name (None: the repository's), the container, plain environment values and
    # secrets (name: ARN of a Secrets Manager secret or SSM parameter) for the task, extra host names (the ALB's
    # is always allowed), Terraform variables, how long a deploy waits, and whether it runs migrate first.
    "ECS": {},
    # Inside the image: the path HealthCheckMiddleware answers, and gunicorn's defaults for `manage.py serve`.
    "HEALTH_PATH": "/health/",
}

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
    "TERRAFORM_BIN": (str,),
    "TERRAFORM_VARS": (dict,),
    "REGION": (str, type(None)),
    "PROFILE": (str, type(None)),
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


def user_settings() -> dict[str, Any]:
    value = getattr(settings, "ECR_DEPLOY", {})
    return value if isinstance(value, dict) else {}


def problems() -> list[str]:
    """Every problem of settings.ECR_DEPLOY, as sentences; empty when it is valid."""
    raw = getattr(settings, "ECR_DEPLOY", {})
    if not isinstance(raw, dict):
        return [f"ECR_DEPLOY must be a dict, not {type(raw).__name__}"]
    found = [f"unknown key ECR_DEPLOY[{key!r}]" for key in raw if key not in DEFAULTS]
    for key, value in raw.items():
        expected = _TYPES.get(key)
        if expected and (not isinstance(value, expected) or isinstance(value, bool) and bool not in expected):
            names = " or ".join("None" if t is type(None) else t.__name__ for t in expected)
            found.append(f"ECR_DEPLOY[{key!r}] must be {names}, not {type(value).__name__}")
    if isinstance(raw.get("PUSH_ATTEMPTS"), int) and raw["PUSH_ATTEMPTS"] < 1:
        found.append("ECR_DEPLOY['PUSH_ATTEMPTS'] must be at least 1")
    for key in ("ALLOWED_HOSTS", "FIXTURES"):
        if isinstance(raw.get(key), (list, tuple)) and not all(isinstance(v, str) and v for v in raw[key]):
            found.append(f"ECR_DEPLOY[{key!r}] must hold non-empty strings")
    if not found:
        from ecr_deploy.environments import environment_problems

        found += environment_problems(raw)
    return found


def get(key: str) -> Any:
    """The current value of one key; raises ConfigurationError when ECR_DEPLOY is invalid."""
    found = problems()
    if found:
        raise ConfigurationError("; ".join(found) + ". Fix ECR_DEPLOY in your settings (see `manage.py check`).")
    return user_settings().get(key, DEFAULTS[key])


def settings_module() -> str:
    """The dotted name of the active settings module (also while tests override settings)."""
    module = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE")
    if not module:
        raise ConfigurationError("No settings module: set DJANGO_SETTINGS_MODULE or pass --settings.")
    return module


def base_dir() -> Path:
    return Path(getattr(settings, "BASE_DIR", Path.cwd()))


def path(key: str) -> Path:
    """A path setting resolved against BASE_DIR."""
    return (base_dir() / get(key)).resolve()


def project_default() -> str:
    """The project's name when ECR_DEPLOY['PROJECT'] is unset: the package of ROOT_URLCONF ('setup')."""
    return str(getattr(settings, "ROOT_URLCONF", "") or "project").split(".")[0]
