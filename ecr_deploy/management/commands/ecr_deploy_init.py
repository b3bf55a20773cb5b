from django.conf import settings

from ecr_deploy import conf
from ecr_deploy.image.init_project import HEALTH_MIDDLEWARE, plan, write_plan
from ecr_deploy.image.settings_patch import settings_file
from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = "Write the Dockerfile, .dockerignore and infra/ this project needs to be built and published to ECR."
    requires_system_checks = []  # they would warn about the very files this command writes

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Overwrite files that differ, showing each diff.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be written; write nothing.")
        parser.add_argument(
            "--ecs", action="store_true", help="Also write infra/ecs/: the ECS Fargate service for provision_ecs."
        )

    def handle(self, *args, force, dry_run, ecs, **options):
        base_dir = conf.base_dir()
        planned = plan(base_dir, settings, conf.settings_module(), list(conf.get("FIXTURES")), ecs=ecs)
        if dry_run:
            for item in planned:
                state = "unchanged" if not item.changed else "new" if item.existing is None else "changed"
                self.progress(self.style.MIGRATE_HEADING(f"{item.path.relative_to(base_dir)} ({state})"))
                self.progress(item.diff(base_dir) if item.existing is not None else item.content, ending="")
            return
        written = write_plan(planned, base_dir, force=force, output=lambda diff: self.progress(diff, ending=""))
        for path in written:
            self.progress(self.style.SUCCESS(f"Wrote {path.relative_to(base_dir)}"))
        requirements = next((item for item in planned if item.path == base_dir / "requirements.txt"), None)
        if requirements is not None and requirements.path in written:  # planned only when there was none
            pins = [line for line in requirements.content.splitlines() if line and not line.startswith("#")]
            self.progress(f"requirements.txt: there was none; it pins {', '.join(pins)}.")
        if not written:
            self.progress("Nothing to write: every file is already as ecr_deploy_init would write it.")
        missing = [
            line
            for present, line in (
                ("ecr_deploy" in settings.INSTALLED_APPS, "INSTALLED_APPS: add 'ecr_deploy'"),
                (
                    HEALTH_MIDDLEWARE in settings.MIDDLEWARE[:1],
                    (
                        f"MIDDLEWARE: put '{HEALTH_MIDDLEWARE}' first, for /health/ (load balancers, and a "
                        "HEALTHCHECK in the Dockerfile when you run this again)"
                    ),
                ),
                (
                    not ecs or "database_from_environment" in settings_file(conf.settings_module()).read_text(),
                    (
                        "DATABASES: after it, `DATABASES['default'] = database_from_environment(DATABASES['default'])` "
                        "(from ecr_deploy.runtime.database): the RDS database that provision_ecs makes"
                    ),
                ),
            )
            if not present
        ]
        if missing:
            self.progress(self.style.WARNING("Your settings need (ecr_deploy_init never edits them):"))
            for line in missing:
                self.progress(self.style.WARNING(f"  {line}"))
