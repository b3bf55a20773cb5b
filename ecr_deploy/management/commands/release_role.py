from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "Make (or update) the IAM role that CI assumes to run publish_ecr and deploy_ecs for one environment: "
        "GitHub Actions' OIDC provider, a role only OWNER/REPO's branch may assume, and a policy of exactly their "
        "calls on this environment's repository, service, roles, logs, alarms and state. Prints the role's ARN."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--github", required=True, metavar="OWNER/REPO", help="The repository whose workflows run.")
        parser.add_argument("--branch", default="main", help="The only branch that may assume the role (main).")

    def handle(self, *args, env, github, branch, **options):
        from ecr_deploy import conf
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.release import apply_release_role, check_github, release_stack

        check_github(github, branch)
        environment = resolve_environment(env)
        session, service_stack = self.service_session(environment)
        stack = release_stack(
            environment,
            conf.path("RELEASE_TERRAFORM_DIR"),
            session,
            conf.get("TERRAFORM_BIN"),
            conf.get("LOCK_TIMEOUT_SECONDS"),
        )
        result = apply_release_role(
            environment, session, service_stack, stack, self.reporter(), github=github, branch=branch
        )
        if self.as_json:
            self.emit_json(result)
        else:
            self.progress(self.style.SUCCESS(f"{result.role_arn} (assumed by {github} on {branch})"))
