from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "Show the environment's ECS service: URL, image and its tags, revision, task counts and autoscaling bounds, "
        "deployments, target health, the last events, the database, and a monthly cost estimate. Exits 0 when the "
        "service is steady, 3 when it is not (a script can wait on it)."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def handle(self, *args, env, **options):
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.status import NOT_STEADY_EXIT, service_status

        environment = resolve_environment(env)
        session, stack = self.service_session(environment)
        status = service_status(environment, session, stack, self.reporter())
        if self.as_json:
            self.emit_json(status)
        else:
            self.show(status)
        if not status.steady:
            raise SystemExit(NOT_STEADY_EXIT)

    def show(self, status) -> None:
        """On a terminal, an aligned table; otherwise one `key: value` line each, for grep."""
        rows = [
            ("service", f"{status.service} ({status.environment})"),
            ("url", status.url),
            ("image", status.image),
            ("tags", ", ".join(status.image_tags) or "none"),
            ("revision", status.task_definition),
            ("tasks", f"{status.running} running, {status.pending} pending, {status.desired} desired"),
            ("autoscaling", "none" if status.min_tasks is None else f"min {status.min_tasks}, max {status.max_tasks}"),
            *(("deployment", _deployment(d)) for d in status.deployments),
            *(("target", f"{t['target']} {t['state']} {t['reason']}".rstrip()) for t in status.targets),
            *(("process", _process(process)) for process in status.processes),
            *(("queue", _queue(queue)) for queue in status.queues),
            *(("schedule", _schedule(job)) for job in status.schedules),
            ("database", _database(status.database)),
            ("storage", _storage(status.storage)),
            *(("config", change) for change in status.configuration_pending),
            ("cost", f"about USD {status.monthly_cost_usd:.2f} a month ({status.cost_basis})"),
            ("state", "steady" if status.steady else f"not steady: {'; '.join(status.not_steady_because)}"),
            *(("event", event) for event in status.events),
        ]
        table = self.stdout.isatty()
        width = max(len(key) for key, _ in rows)
        for key, value in rows:
            self.stdout.write(f"{key:<{width}}  {value}" if table else f"{key}: {value}")


def _deployment(deployment) -> str:
    revision = deployment["task_definition"].rsplit("/", 1)[-1]
    return (
        f"{deployment['id']} {deployment['status']} {deployment['rollout_state']} "
        f"{deployment['running']}/{deployment['desired']} tasks, {deployment['age']} old, {revision}"
    )


def _process(process) -> str:
    revision = process["task_definition"].rsplit("/", 1)[-1]
    return f"{process['name']}: {revision}, {process['running']}/{process['desired']} tasks, {process['rollout_state']}"


def _queue(queue) -> str:
    return (
        f"{queue['name']}: {queue['waiting']} waiting, {queue['in_flight']} in flight, "
        f"{queue['dead_letters']} dead letters"
    )


def _schedule(job) -> str:
    revision = job["task_definition"].rsplit("/", 1)[-1]
    last = job["last_run"]
    ran = (
        "no run listed"
        if last is None
        else f"last run {last['started']} {last['status']}, exit code "
        + ("unknown" if last["exit_code"] is None else str(last["exit_code"]))
    )
    upcoming = job["next_run"] or "not computed"
    return f"{job['name']}: {job['expression']} ({job['timezone']}), next {upcoming}, {revision}, {ran}"


def _storage(storage) -> str:
    if not storage:
        return "none"
    return f"s3://{storage['bucket']}, {storage['files']} files, {storage['size_bytes'] / 1e6:.1f} MB"


def _database(database) -> str:
    if not database:
        return "none"
    return (
        f"{database['engine']} {database['class']} {database['status']}, "
        f"{database['storage_gb']} GB {database['storage_type']}"
    )
