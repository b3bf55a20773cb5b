from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "Create an environment's Terraform state bucket (versioned, encrypted, not public) and, when "
        "STATE['LOCK_TABLE'] is set, its DynamoDB lock table; what exists is kept."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--region", help="AWS region (default: the environment's, then the usual AWS chain).")
        parser.add_argument("--profile", help="AWS profile from ~/.aws/config.")

    def handle(self, *args, env, region, profile, **options):
        from ecr_deploy.aws.session import aws_session
        from ecr_deploy.aws.state import bootstrap_state
        from ecr_deploy.environments import resolve_environment

        environment = resolve_environment(env)
        if environment.state.backend == "local":
            message = f"Environment {environment.name} keeps its Terraform state locally; there is nothing to create."
            if self.as_json:
                self.emit_json({"environment": environment.name, "bucket": None, "done": []})
            else:
                self.progress(message)
            return
        session = aws_session(region or environment.region, profile or environment.profile)
        self.progress(self.style.MIGRATE_HEADING(f"State of environment {environment.name}:"))
        done = bootstrap_state(environment.state, session, lambda line: self.progress(f"  {line}"))
        if self.as_json:
            self.emit_json({"environment": environment.name, "bucket": environment.state.bucket, "done": done})
