import json
from datetime import datetime, timezone

from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "Show the service's log lines from CloudWatch Logs, every task's interleaved in time and prefixed by its short "
        "task id (one-off tasks too: migrate, the fixtures, run_ecs). --follow polls for new lines until Ctrl-C."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--since", default="10m", help="From how long ago (30s, 10m, 1h, 2d) or an ISO time (default: 10m)."
        )
        parser.add_argument("--follow", action="store_true", help="Keep polling for new lines; Ctrl-C stops (exit 0).")
        parser.add_argument(
            "--filter", dest="pattern", default="", help="Only lines that match this CloudWatch Logs filter pattern."
        )
        parser.add_argument("--task", default="", help="Only this task's lines (its id, or the id's first characters).")
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--process",
            default=None,
            help="Only this process's tasks (a name of PROCESSES, or web; default: every task).",
        )
        which.add_argument(
            "--schedule", default=None, help="Only the runs of this scheduled job (a name of SCHEDULES)."
        )

    def handle(self, *args, env, since, follow, pattern, task, process, schedule, **options):
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.logs import LogQuery, parse_since, service_logs

        query = LogQuery(parse_since(since, datetime.now(timezone.utc)), follow, pattern, task, process, schedule)
        environment = resolve_environment(env)
        session, stack = self.service_session(environment)
        lines = []
        # Under --json: one record of every line, or with --follow one record per line as it comes (JSON lines).
        show = self.show_json if follow and self.as_json else lines.append if self.as_json else self.show_text
        try:
            service_logs(environment, session, stack, self.reporter(), query, show)
        except KeyboardInterrupt:
            return
        if self.as_json and not follow:
            self.emit_json({"environment": environment.name, "lines": [_record(line) for line in lines]})

    def show_text(self, line) -> None:
        self.stdout.write(f"{line.task_id[:8]} {line.time:%Y-%m-%dT%H:%M:%SZ} {line.message}")
        self.stdout.flush()

    def show_json(self, line) -> None:
        self.stdout.write(json.dumps(_record(line), sort_keys=True))
        self.stdout.flush()


def _record(line) -> dict:
    return {
        "task": line.task_id,
        "stream": line.stream,
        "time": line.time.isoformat(),
        "message": line.message,
    }
