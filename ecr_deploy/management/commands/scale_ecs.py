from ecr_deploy.management.commands._base import EcrDeployCommand, check_timeout


class Command(EcrDeployCommand):
    help = (
        "Change the service's autoscaling bounds and desired task count through the API, then wait until it is "
        "steady. --min and --max default to the settings' tarefas_min and tarefas_max, and must equal them (the next "
        "provision_ecs applies those): write the settings first. More than one task needs a database (not the "
        "image's SQLite)."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--min", type=int, dest="least", help="Fewest tasks autoscaling keeps (tarefas_min).")
        parser.add_argument("--max", type=int, dest="most", help="Most tasks autoscaling runs (tarefas_max).")
        parser.add_argument("--desired", type=int, help="Tasks to run now (default: the current count, within bounds).")
        parser.add_argument("--timeout", type=float, help="Seconds to wait until the service is steady.")
        parser.add_argument("--process", default=None, help="Scale this process of PROCESSES (default: the web).")

    def handle(self, *args, env, least, most, desired, timeout, process, **options):
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.scale import scale_service

        check_timeout(timeout)
        environment = resolve_environment(env)
        session, stack = self.service_session(environment)
        result = scale_service(
            environment,
            session,
            stack,
            self.reporter(),
            least=least,
            most=most,
            desired=desired,
            timeout_seconds=timeout or environment.ecs.timeout_seconds,
            process=process,
        )
        if self.as_json:
            self.emit_json(result)
        else:
            self.stdout.write(
                f"{result.service}: {result.running} of {result.desired} tasks running; autoscaling between "
                f"{result.min_tasks} and {result.max_tasks}."
            )
