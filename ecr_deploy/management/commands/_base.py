"""Shared behaviour of the ecr_deploy commands (the underscore keeps this from being a command)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ecr_deploy.errors import EcrDeployError, MissingDependencyError

#: The deploy side's optional dependencies, by the module name that fails to import, and their PyPI names.
DEPLOY_EXTRA = {"boto3": "boto3", "botocore": "boto3", "docker": "docker", "hcl2": "python-hcl2", "lark": "python-hcl2"}


def _unstyled(text: str) -> str:
    return text


def missing_dependency(err: ModuleNotFoundError) -> MissingDependencyError | None:
    """A missing module of the deploy extra as an error that says what to install; None for any other module."""
    top = (err.name or "").split(".")[0]
    if top not in DEPLOY_EXTRA:
        return None
    return MissingDependencyError(
        f"This command needs {DEPLOY_EXTRA[top]}, which is not installed: pip install 'django-ecr-deploy[deploy]' "
        "(the deploy side's extra: boto3, docker, python-hcl2)."
    )


def check_timeout(seconds: float | None) -> None:
    """--timeout, when given, is a positive, finite number of seconds."""
    if seconds is not None and not 0 < seconds < float("inf"):
        raise CommandError(f"--timeout must be a positive number of seconds, not {seconds:g}.")


class EcrDeployCommand(BaseCommand):
    """Turns EcrDeployError into CommandError and offers --json, --env, terraform's flags and a progress stream."""

    json_flag = False
    env_flag = False
    terraform_flags = False
    #: The command's output is its own: the project's LOGGING (a root logger at INFO prints botocore's and docker's
    #: lines) is silenced while it runs. The commands that run inside the image keep the project's logging.
    own_output = True

    def add_arguments(self, parser) -> None:
        if self.json_flag:
            parser.add_argument(
                "--json", action="store_true", help="Print one JSON result on stdout; progress goes to stderr."
            )
        if self.env_flag:
            parser.add_argument(
                "--env", help="Environment from ECR_DEPLOY['ENVIRONMENTS'] (default: ECR_DEPLOY['ENVIRONMENT'])."
            )
        if self.terraform_flags:
            parser.add_argument(
                "--force-terraform", action="store_true", help="Plan and apply even when nothing seems to have changed."
            )
            parser.add_argument(
                "--allow-destroy",
                action="store_true",
                help="Apply a plan that destroys or replaces what must be kept (the repository, the service's pieces).",
            )

    def execute(self, *args, **options):
        self.as_json = options.get("json", False)
        self.verbosity = options.get("verbosity", 1)
        self.no_color = options.get("no_color", False)
        silenced = logging.root.manager.disable
        if self.own_output:
            logging.disable(logging.CRITICAL)
        try:
            try:
                return super().execute(*args, **options)
            except ModuleNotFoundError as err:
                if (missing := missing_dependency(err)) is None:
                    raise
                raise missing from err
        except EcrDeployError as err:
            self.emit_error(type(err).__name__, str(err), err.hint)
            raise CommandError(str(err)) from err
        except CommandError as err:
            self.emit_error(type(err).__name__, str(err), "")
            raise
        finally:
            logging.disable(silenced)

    def emit_error(self, kind: str, message: str, hint: str) -> None:
        """Under --json, a failure is one JSON record on stdout too, so that a script can parse it."""
        if self.as_json:
            record = {"error": {"type": kind, "message": message, "hint": hint}}
            self.stdout.write(json.dumps(record, indent=2, sort_keys=True))

    @property
    def progress_stream(self):
        """Where progress lines go: stdout, or stderr when stdout carries --json."""
        return self.stderr if self.as_json else self.stdout

    @property
    def live(self) -> bool:
        """True when progress may redraw lines in place: a colour terminal, not CI."""
        return (
            self.progress_stream.isatty()
            and not self.no_color
            and os.environ.get("CI", "").lower() not in {"1", "true"}
        )

    def progress(self, text: str, *, level: int = 1, ending: str = "\n") -> None:
        """A progress line at the given verbosity; on stderr it keeps its own style, not Django's error colour."""
        if self.verbosity >= level:
            self.progress_stream.write(text, style_func=_unstyled, ending=ending)
            self.progress_stream.flush()

    def reporter(self):
        """Progress for provision_ecs and deploy_ecs: headings at verbosity 1, terraform's summary lines at 1
        and every other terraform line at 2."""
        from ecr_deploy.workflows.service import Progress

        return Progress(
            heading=lambda text: self.progress(self.style.MIGRATE_HEADING(text)),
            summary=lambda text: self.progress(text, ending=""),
            line=lambda text: self.progress(text, level=2, ending=""),
        )

    def service_session(self, environment: Any) -> tuple[Any, Any]:
        """The AWS session and the service's stack of an environment, for the commands on its ECS service; a service
        name that AWS would refuse stops them here, before any call."""
        from ecr_deploy import conf
        from ecr_deploy.aws.session import aws_session
        from ecr_deploy.environments import check_service_name
        from ecr_deploy.workflows.service import service_stack

        check_service_name(environment)
        session = aws_session(environment.region, environment.profile)
        stack = service_stack(
            environment, conf.base_dir(), session, conf.get("TERRAFORM_BIN"), conf.get("LOCK_TIMEOUT_SECONDS")
        )
        return session, stack

    def emit_json(self, result: Any) -> None:
        data = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result
        self.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=True))
