"""System checks: `manage.py check` reports a bad ECR_DEPLOY, a missing Dockerfile or fixture, and a service name
that AWS would refuse."""

from pathlib import Path

from django.apps import apps
from django.core.checks import Error, Warning, register

from ecr_deploy import conf
from ecr_deploy.environments import check_service_name, environment_names, resolve_environment
from ecr_deploy.errors import ConfigurationError


@register()
def check_ecr_deploy_settings(app_configs=None, **kwargs):
    found = conf.problems()
    if found:
        return [
            Error(
                problem,
                hint="See DEFAULTS in ecr_deploy/defaults.py for the keys and their types.",
                id="ecr_deploy.E001",
            )
            for problem in found
        ]
    messages = []
    dockerfile = conf.path("CONTEXT_DIR") / conf.get("DOCKERFILE")
    if not dockerfile.is_file():
        messages.append(
            Warning(
                f"Dockerfile not found: {dockerfile}",
                hint="Set ECR_DEPLOY['DOCKERFILE'] or CONTEXT_DIR.",
                id="ecr_deploy.W001",
            )
        )
    for fixture in conf.get("FIXTURES"):
        if not (conf.base_dir() / fixture).is_file() and not _in_app_fixtures(fixture):
            messages.append(
                Warning(f"Fixture not found: {fixture}", hint="Fix ECR_DEPLOY['FIXTURES'].", id="ecr_deploy.W002")
            )
    return messages


def _in_app_fixtures(fixture: str) -> bool:
    return any((Path(config.path) / "fixtures" / fixture).is_file() for config in apps.get_app_configs())


@register()
def check_service_names(app_configs=None, **kwargs):
    """A service name that AWS would refuse, found before any ECS command runs (publish_ecr does not need one)."""
    if conf.problems():
        return []
    messages = []
    for name in environment_names():
        try:
            check_service_name(resolve_environment(name))
        except ConfigurationError as err:
            messages.append(
                Warning(str(err), hint="provision_ecs and the other ECS commands refuse it.", id="ecr_deploy.W003")
            )
    return messages
