import argparse

from django.core.management.base import CommandError

from ecr_deploy.management.commands._base import EcrDeployCommand, check_timeout

#: What run_ecs exits with when --timeout passes first (as timeout(1) does); the task goes on.
TIMED_OUT_EXIT = 124


class Command(EcrDeployCommand):
    help = (
        "Run a one-off command as a Fargate task of the revision the service runs, with its network, environment and "
        "secrets, e.g. `run_ecs -- python manage.py createsuperuser --noinput`. Shows its log as it comes and exits "
        f"with the container's exit code; {TIMED_OUT_EXIT} when --timeout passes first (the task is left running)."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--env-var",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A plain value added to the task's environment (repeatable); never a secret.",
        )
        parser.add_argument(
            "--timeout", type=float, help="Seconds to wait (default: ECR_DEPLOY['ECS']['TIMEOUT_SECONDS'])."
        )
        parser.add_argument(
            "--process",
            default=None,
            help="Run it from this process's revision (a name of PROCESSES; default: the web).",
        )
        parser.add_argument("command", nargs=argparse.REMAINDER, help="The command, after --.")

    def handle(self, *args, env, env_var, timeout, process, command, **options):
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.run import run_command

        command = command[1:] if command[:1] == ["--"] else command
        check_timeout(timeout)
        environment = resolve_environment(env)
        session, stack = self.service_session(environment)
        lines = []
        show = lines.append if self.as_json else self.show_line
        waits = timeout or environment.ecs.timeout_seconds
        outcome = run_command(environment, session, stack, self.reporter(), command, env_var, waits, show, process)
        task = outcome.task_arn.rsplit("/", 1)[-1]
        if self.as_json:
            self.emit_json(
                {
                    "task_arn": outcome.task_arn,
                    "status": outcome.last_status,
                    "exit_code": outcome.exit_code,
                    "stop_code": outcome.stop_code,
                    "stopped_reason": outcome.stopped_reason,
                    "log": [line.message for line in lines],
                }
            )
        if outcome.still_running:
            self.stderr.write(
                f"Task {task} is still {outcome.last_status} after {waits:g}s; it goes on. Follow it with "
                f"`python manage.py logs_ecs --follow --task {task}`, or stop it with `aws ecs stop-task --cluster "
                f"{outcome.task_arn.split('/')[-2]} --task {task}`."
            )
            raise SystemExit(TIMED_OUT_EXIT)
        if outcome.exit_code is None:
            raise CommandError(
                f"Task {task} stopped without an exit code ({outcome.stop_code or 'no stop code'}: "
                f"{outcome.stopped_reason or 'no reason given'}): the container never ran the command."
            )
        self.progress(f"Task {task}: exited {outcome.exit_code}")
        if outcome.exit_code:
            raise SystemExit(outcome.exit_code)

    def show_line(self, line) -> None:
        self.stdout.write(f"{line.time:%H:%M:%SZ} {line.message}")
        self.stdout.flush()
