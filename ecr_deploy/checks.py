"""System checks: `manage.py check` reports a bad ECR_DEPLOY, a missing Dockerfile or fixture."""

from pathlib import Path

from django.apps import apps
from django.core.checks import Error, Warning, register

from ecr_deploy import conf


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
