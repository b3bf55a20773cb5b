from ecr_deploy.management.commands._base import EcrDeployCommand
from ecr_deploy.names import validate_tag


class Command(EcrDeployCommand):
    help = (
        "Apply the service's Terraform (ECS cluster and Fargate service, load balancer, roles, logs, secrets, "
        "autoscaling) for one environment, with the first task definition on the published image."
    )
    json_flag = True
    env_flag = True
    terraform_flags = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--tag", help="The published tag of the first task definition (default: the environment's)."
        )
        parser.add_argument("--plan", action="store_true", help="Show terraform's plan; change nothing.")
        parser.add_argument(
            "--from-snapshot",
            metavar="SNAPSHOT",
            help="Make the database from this DB snapshot (e.g. destroy_ecs's final one) instead of an empty one.",
        )

    def handle(self, *args, env, tag, plan, from_snapshot, force_terraform, allow_destroy, **options):
        from ecr_deploy.aws.ecr import EcrApi
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.provision import ServiceProvisioner

        if tag is not None:
            validate_tag(tag)
        environment = resolve_environment(env)
        session, stack = self.service_session(environment)
        provisioner = ServiceProvisioner(
            environment,
            stack,
            session,
            EcrApi(session.client("ecr")),
            self.reporter(),
            tag=tag or environment.tag,
            plan=plan,
            force_terraform=force_terraform,
            allow_destroy=allow_destroy,
            from_snapshot=from_snapshot,
        )
        result = provisioner.run()
        if self.as_json:
            self.emit_json(result)
        elif not plan:
            self.progress(self.style.SUCCESS(f"{result.service} ({environment.name}): {result.service_url}"))
