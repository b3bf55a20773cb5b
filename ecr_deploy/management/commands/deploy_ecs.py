from django.core.management.base import CommandError

from ecr_deploy import conf
from ecr_deploy.management.commands._base import EcrDeployCommand
from ecr_deploy.names import validate_digest, validate_tag


class Command(EcrDeployCommand):
    help = (
        "Deploy the published image to the environment's ECS Fargate service: pin it by digest in a new task "
        "definition revision, run migrate (then the fixtures, into a database that never had them) as one-off "
        "tasks, update the service, wait for its rollout, and watch its alarms for a bake time (rolled back when one "
        "fires)."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        image = parser.add_mutually_exclusive_group()
        image.add_argument("--tag", help="The published tag to deploy (default: the environment's).")
        image.add_argument("--digest", help="The published digest to deploy (sha256:..., as publish_ecr prints).")
        parser.add_argument("--plan", action="store_true", help="Print the task definition's diff; change nothing.")
        parser.add_argument("--timeout", type=float, help="Seconds to wait for the migrate task and the rollout.")
        parser.add_argument("--no-migrate", action="store_true", help="Skip the one-off `manage.py migrate` task.")
        parser.add_argument("--rollback", action="store_true", help="Redeploy the previous task definition revision.")
        parser.add_argument(
            "--bake",
            type=float,
            metavar="SECONDS",
            help="Watch the alarms this long after the rollout; one in ALARM rolls back (default: BAKE_SECONDS; 0: none).",
        )
        parser.add_argument(
            "--keep-on-bake-error",
            action="store_true",
            help="When the alarms cannot be read during the bake, keep the new revision instead of rolling back.",
        )

    def handle(self, *args, env, tag, digest, plan, timeout, no_migrate, rollback, bake, keep_on_bake_error, **options):
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.deploy import DeployOptions, deploy_service

        if rollback and (tag or digest):
            raise CommandError("--rollback redeploys the previous revision: drop --tag and --digest.")
        if timeout is not None and timeout <= 0:
            raise CommandError(f"--timeout must be a positive number of seconds, not {timeout:g}.")
        if tag is not None:
            validate_tag(tag)
        if digest is not None:
            validate_digest(digest)
        environment = resolve_environment(env)
        bake_seconds = environment.ecs.bake_seconds if bake is None else bake
        waits = timeout or environment.ecs.timeout_seconds
        if not 0 <= bake_seconds < float("inf"):
            raise CommandError(f"--bake must be a number of seconds, 0 or more, not {bake_seconds:g}.")
        if bake_seconds > waits:
            raise CommandError(
                f"--bake {bake_seconds:g} is longer than the deploy's timeout ({waits:g}s): give --timeout at least as "
                "much, or a shorter --bake."
            )
        session, stack = self.service_session(environment)
        options = DeployOptions(
            tag=tag,
            digest=digest,
            plan=plan,
            migrate=environment.ecs.migrate and not no_migrate,
            rollback=rollback,
            timeout_seconds=waits,
            fixtures=tuple(conf.get("FIXTURES")),
            bake_seconds=bake_seconds,
            keep_on_bake_error=keep_on_bake_error,
        )
        result = deploy_service(environment, session, stack, self.reporter(), options)
        if self.as_json:
            self.emit_json(result)
            return
        if plan and result.diff:
            self.progress(result.diff, ending="")
        if not plan:
            self.progress(self.style.SUCCESS(f"{result.service_url} runs {result.image}"))
