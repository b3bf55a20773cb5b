from django.core.management.base import CommandError

from ecr_deploy import conf
from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = "Create the ECR repository with the Terraform in infra/ and push the image that build_image made."
    json_flag = True
    env_flag = True
    terraform_flags = True
    # A no-op publish should take well under a second; ECR_DEPLOY is validated when it is read (conf.get).
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--repository", help="ECR repository and local image name (default from ECR_DEPLOY: producao)."
        )
        parser.add_argument("--tag", help="Image tag (default from ECR_DEPLOY: V1).")
        parser.add_argument("--region", help="AWS region (default: ECR_DEPLOY['REGION'], then the usual AWS chain).")
        parser.add_argument("--profile", help="AWS profile from ~/.aws/config.")
        parser.add_argument(
            "--plan",
            action="store_true",
            help="Show what terraform would change and what would be pushed; change nothing.",
        )
        parser.add_argument(
            "--skip-terraform", action="store_true", help="Push to an existing repository without running terraform."
        )
        parser.add_argument(
            "--adopt",
            action="store_true",
            help="Import an existing repository that this environment's state does not manage and that lacks its tags.",
        )

    def handle(self, *args, env, plan, skip_terraform, force_terraform, adopt, allow_destroy, **options):
        from ecr_deploy.aws.session import aws_session
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.image.engine import engine
        from ecr_deploy.workflows.publish import Publisher, PublishRequest, Reporter, stack_for

        if skip_terraform and (force_terraform or adopt or allow_destroy):
            raise CommandError(
                "--skip-terraform runs no terraform: drop --force-terraform, --adopt and --allow-destroy."
            )
        request = PublishRequest.for_environment(
            resolve_environment(env),
            repository=options["repository"],
            tag=options["tag"],
            region=options["region"] or None,
            profile=options["profile"] or None,
            terraform_dir=conf.path("TERRAFORM_DIR"),
            terraform_bin=conf.get("TERRAFORM_BIN"),
            plan=plan,
            skip_terraform=skip_terraform,
            force_terraform=force_terraform,
            adopt=adopt,
            allow_destroy=allow_destroy,
            push_attempts=conf.get("PUSH_ATTEMPTS"),
            retry_backoff_seconds=conf.get("RETRY_BACKOFF_SECONDS"),
            lock_timeout_seconds=conf.get("LOCK_TIMEOUT_SECONDS"),
        )
        self.layers: dict[str, str] = {}
        self.redrawing = False
        reporter = Reporter(
            heading=self.heading,
            summary=lambda text: self.progress(text, ending=""),
            line=lambda text: self.progress(text, level=2, ending=""),
            layer=self.render_layer,
        )
        session = aws_session(request.region, request.profile)
        publisher = Publisher(
            request, reporter, session=session, docker_client=engine(), stack=stack_for(request, session)
        )
        try:
            result = publisher.run()
        finally:
            self.end_redraw()
        if self.as_json:
            self.emit_json(result)
        elif plan:
            for step in result.planned:
                self.progress(f"Plan: {step}")
        else:
            self.progress(self.style.SUCCESS(result.reference))

    def heading(self, text: str) -> None:
        self.end_redraw()
        self.progress(self.style.MIGRATE_HEADING(text))

    def end_redraw(self) -> None:
        """Finish the line that layer progress was redrawing, so that the next output starts on its own."""
        if self.redrawing:
            self.progress("")
            self.redrawing = False

    def render_layer(self, layer: str, status: str, current: int, total: int) -> None:
        """Per-layer progress: redrawn in place on a terminal, one line per state change otherwise."""
        if self.live:
            self.layers[layer] = f"{status} {current * 100 // total}%" if total else status
            summary = "  ".join(f"{lid[:12]} {state}" for lid, state in self.layers.items())
            self.progress(f"\r{summary[-160:]}\x1b[K", ending="")
            self.redrawing = True
        elif self.layers.get(layer) != status:
            self.layers[layer] = status
            self.progress(f"  {layer[:12]}: {status}")
