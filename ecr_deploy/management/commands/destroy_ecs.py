import sys

from django.core.management.base import CommandError

from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "Destroy the environment's service: first the plan (what goes, what it costs now, what stays), then a "
        "confirmation (type the service's name on a terminal, or --yes). The database always gets a snapshot named "
        "with the date and is kept unless --delete-database; the storage bucket is kept with its files unless "
        "--delete-storage; config_ecs's variables go unless --keep-config; the ECR repository goes only with "
        "--with-repository (its images only with --delete-images); secrets go after a 7-day recovery window; the "
        "state stays."
    )
    json_flag = True
    env_flag = True
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="Destroy without asking (for scripts).")
        parser.add_argument(
            "--delete-database", action="store_true", help="Delete the database too (after its final snapshot)."
        )
        parser.add_argument(
            "--delete-storage",
            action="store_true",
            help="Delete the storage bucket too, with every file and every old version of one.",
        )
        parser.add_argument(
            "--keep-config", action="store_true", help="Keep config_ecs's variables (they go with the service)."
        )
        parser.add_argument("--with-repository", action="store_true", help="Delete the ECR repository too.")
        parser.add_argument(
            "--delete-images",
            action="store_true",
            help="With --with-repository: delete a repository that holds images.",
        )
        parser.add_argument(
            "--process",
            default=None,
            help="Destroy only this process (one that PROCESSES no longer names): its service, scaling and revisions.",
        )

    def handle(
        self,
        *args,
        env,
        yes,
        delete_database,
        delete_storage,
        keep_config,
        with_repository,
        delete_images,
        process,
        **options,
    ):
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.destroy import DestroyOptions, destroy_service, plan_destroy

        if process is not None:
            if delete_database or delete_storage or keep_config or with_repository or delete_images:
                raise CommandError(
                    "--process destroys one process alone: it takes no --delete-database, --delete-storage, "
                    "--keep-config, --with-repository or --delete-images. Nothing was changed."
                )
            return self.destroy_one_process(env, process, yes)
        if delete_images and not with_repository:
            raise CommandError("--delete-images deletes the repository's images with it: add --with-repository.")
        environment = resolve_environment(env)
        session, stack = self.service_session(environment)
        choices = DestroyOptions(
            delete_database=delete_database,
            delete_storage=delete_storage,
            keep_config=keep_config,
            with_repository=with_repository,
            delete_images=delete_images,
            timeout_seconds=max(environment.ecs.timeout_seconds, 1800),
        )
        reporter = self.reporter()
        plan = plan_destroy(environment, session, stack, reporter, choices)
        if plan.nothing_left:
            self.progress(f"Nothing left to destroy of {plan.service} in environment {plan.environment}.")
            self.show_kept(plan)
            return self.emit_json(plan) if self.as_json else None
        self.show_plan(plan)
        self.confirm(plan.service, yes)
        destroy_service(environment, session, stack, reporter, plan, choices)
        for step in plan.done:
            self.progress(f"Done: {step}")
        self.show_kept(plan)
        if self.as_json:
            self.emit_json(plan)

    def destroy_one_process(self, env, process: str, yes: bool) -> None:
        from ecr_deploy.environments import resolve_environment
        from ecr_deploy.workflows.destroy import destroy_process, plan_process_destroy

        environment = resolve_environment(env)
        session, stack = self.service_session(environment)
        reporter = self.reporter()
        plan = plan_process_destroy(environment, stack, reporter, process)
        self.progress(
            self.style.MIGRATE_HEADING(
                f"destroy_ecs: environment {plan.environment}, the process {plan.process} of {plan.service}"
            )
        )
        for address in plan.destroy:
            self.progress(f"  destroy  {address}")
        self.progress(f"  deregister every revision of the task definition {plan.family}")
        self.progress(f"  keep     {plan.service}, its other processes, queues, schedules and everything else")
        self.confirm(plan.process_service, yes)
        destroy_process(environment, session, stack, reporter, plan)
        for step in plan.done:
            self.progress(f"Done: {step}")
        if self.as_json:
            self.emit_json(plan)

    def show_plan(self, plan) -> None:
        self.progress(
            self.style.MIGRATE_HEADING(f"destroy_ecs: environment {plan.environment}, service {plan.service}")
        )
        for task in plan.tasks:
            self.progress(f"  stop     the one-off task {task}, still running")
        for address in plan.destroy:
            self.progress(f"  destroy  {address}")
        for family in filter(None, [plan.family, *plan.process_families]):
            self.progress(f"  deregister every revision of the task definition {family}")
        for name in plan.secrets:
            self.progress(f"  delete   the secret {name}, after a {plan.recovery_days}-day recovery window")
        if plan.database:
            verb = "delete" if plan.database["delete"] else "keep"
            self.progress(
                f"  {verb:<8} the database {plan.database['identifier']}, after a snapshot {plan.database['snapshot']}"
            )
        if plan.storage and plan.storage["delete"]:
            self.progress(
                f"  delete   the storage bucket {plan.storage['bucket']}, its {plan.storage['files']} files and every "
                "old version of them"
            )
        if plan.config:
            self.progress(
                f"  delete   the config_ecs variables under {plan.config['path']}: {', '.join(plan.config['keys'])}"
            )
        if plan.repository:
            self.progress(
                f"  delete   the ECR repository {plan.repository['name']} and its {plan.repository['images']} images"
            )
        self.progress(
            f"It costs about USD {plan.monthly_cost_usd:.2f} a month now; what is kept, about USD "
            f"{plan.kept_monthly_cost_usd:.2f} a month (status_ecs's prices; snapshots and storage in ECR and S3 aside)."
        )

    def show_kept(self, plan) -> None:
        for kept in plan.keep:
            self.progress(f"  keep     {kept}")

    def confirm(self, service: str, yes: bool) -> None:
        """--yes, or the service's name typed on a terminal; anything else changes nothing."""
        if yes:
            return
        if not sys.stdin.isatty():
            raise CommandError(
                "destroy_ecs asks for confirmation on a terminal; with none, pass --yes. Nothing was changed."
            )
        self.progress_stream.write(f"Type the service's name ({service}) to destroy it: ", ending="")
        self.progress_stream.flush()
        if sys.stdin.readline().strip() != service:
            raise CommandError("That is not the service's name; nothing was changed.")
