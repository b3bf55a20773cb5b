from django.conf import settings

from ecr_deploy import conf
from ecr_deploy.defaults import DATABASE_VARIABLE_NAMES
from ecr_deploy.image import project_scan
from ecr_deploy.image.init_project import (
    HEALTH_MIDDLEWARE,
    celery_lines,
    config_lines,
    on_s3,
    plan,
    read_project,
    settings_skeleton,
    storages_lines,
    write_plan,
)
from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "Write the Dockerfile, .dockerignore, .gitignore lines and infra/ this project needs to be built, published "
        "to ECR and deployed, from what the project is: its production settings, dependency files and Python."
    )
    requires_system_checks = []  # they would warn about the very files this command writes

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Overwrite files that differ, showing each diff.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be written; write nothing.")
        parser.add_argument(
            "--ecs", action="store_true", help="Also write infra/ecs/: the ECS Fargate service for provision_ecs."
        )
        parser.add_argument(
            "--storage",
            action="store_true",
            help=(
                "Keep the uploads in an S3 bucket that provision_ecs makes: django-storages in the image, and the "
                "settings lines to add (found on its own when the settings use S3 already)."
            ),
        )
        parser.add_argument(
            "--image-settings",
            metavar="MODULE",
            help=(
                "The settings module the image runs (default: the one --settings names, else a production or prod "
                "module beside manage.py's default, else that default)."
            ),
        )
        parser.add_argument(
            "--dockerfile",
            metavar="NAME",
            default="Dockerfile",
            help="Write the Dockerfile under this name (keeping yours), for ECR_DEPLOY['DOCKERFILE'].",
        )

    def handle(self, *args, force, dry_run, ecs, storage, image_settings, dockerfile, **options):
        base_dir = conf.base_dir()
        process_module = conf.settings_module()
        default = project_scan.manage_py_settings(base_dir)
        # `manage.py ecr_deploy_init --settings X` runs with X: a module of the project other than manage.py's default.
        named = default and process_module != default and project_scan.module_file(base_dir, process_module)
        chosen = image_settings or (process_module if named else None)
        reading = read_project(base_dir, settings, process_module, chosen, dockerfile=dockerfile, storage=storage)
        planned = plan(base_dir, reading, list(conf.get("FIXTURES")), ecs=ecs, force=force)
        self.report_reading(reading)
        if dry_run:
            for item in planned:
                if not item.changed:
                    continue
                state = "new" if item.existing is None else "lines added" if item.appended else "changed"
                self.progress(self.style.MIGRATE_HEADING(f"{item.path.relative_to(base_dir)} ({state})"))
                self.progress(item.diff(base_dir) if item.existing is not None else item.content, ending="")
            self.report_settings(reading, ecs)
            return
        written = write_plan(planned, base_dir, force=force, output=lambda diff: self.progress(diff, ending=""))
        for path in written:
            self.progress(self.style.SUCCESS(f"Wrote {path.relative_to(base_dir)}"))
        for item in planned:
            if item.kept:
                name = item.path.relative_to(base_dir)
                beside = (
                    " (build_image builds it); `--dockerfile Dockerfile.ecr_deploy` writes ours beside it"
                    if name.name == "Dockerfile"
                    else " (the build's context follows it)"
                )
                self.progress(f"{name}: yours, kept{beside}; --force replaces it.")
        if reading.dockerfile != "Dockerfile":
            self.progress(
                f"build_image uses Dockerfile unless your settings say ECR_DEPLOY['DOCKERFILE'] = {dockerfile!r}."
            )
        requirements = next((item for item in planned if item.path == base_dir / "requirements.txt"), None)
        if requirements is not None and requirements.path in written:  # planned only when there was none
            pins = [line for line in requirements.content.splitlines() if line and not line.startswith("#")]
            self.progress(f"requirements.txt: there was none; it pins {', '.join(pins)}.")
        if not written:
            self.progress("Nothing to write: every file is already as ecr_deploy_init would write it.")
        self.report_settings(reading, ecs)

    def report_reading(self, reading) -> None:
        """What was read: the settings module, how dependencies install, the Python, and any warning."""
        dependencies = reading.dependencies
        how = {
            "pip": f"pip install -r {dependencies.requirement}",
            "uv": "uv sync --frozen --no-dev",
            "poetry": "poetry install --only main",
            "": "none declared",
        }[dependencies.manager]
        self.progress(f"Settings for the image: {reading.settings_module}")
        self.progress(f"Dependencies: {how}; Python {reading.python}")
        if dependencies.compiled:
            self.progress(f"Compiled at build: {', '.join(dependencies.compiled)} (a build stage with a compiler)")
        if reading.node:
            self.progress(
                f"Front end: `npm run build` in a Node stage ({reading.node.install}), reading "
                f"{', '.join(reading.node.files)} and STATICFILES_DIRS; its output reaches collectstatic"
            )
        for warning in reading.warnings:
            self.progress(self.style.WARNING(f"Warning: {warning}."))

    def report_settings(self, reading, ecs: bool) -> None:
        """The settings lines still missing, and the variables a deploy must provide."""
        values = reading.values
        missing = [
            line
            for present, line in (
                ("ecr_deploy" in (values.get("INSTALLED_APPS") or []), "INSTALLED_APPS: add 'ecr_deploy'"),
                (
                    HEALTH_MIDDLEWARE in (values.get("MIDDLEWARE") or [])[:1],
                    (
                        f"MIDDLEWARE: put '{HEALTH_MIDDLEWARE}' first, for /health/ (load balancers, and a "
                        "HEALTHCHECK in the Dockerfile when you run this again)"
                    ),
                ),
                (
                    "django.contrib.staticfiles" not in (values.get("INSTALLED_APPS") or [])
                    or values.get("STATIC_ROOT"),
                    (
                        "STATIC_ROOT = BASE_DIR / 'staticfiles': where the build collects the static files the "
                        "image serves (the admin's among them); without it, pages come without their CSS"
                    ),
                ),
            )
            if not present
        ]
        if ecs and reading.database == "parts" and not reading.assembled:
            missing.append(
                "DATABASES: after it, `DATABASES['default'] = database_from_environment(DATABASES['default'])` "
                "(from ecr_deploy.runtime.database): the RDS database that provision_ecs makes"
            )
        if missing:
            self.progress(self.style.WARNING("Your settings need (ecr_deploy_init never edits them):"))
            for line in missing:
                self.progress(self.style.WARNING(f"  {line}"))
        if reading.deploy_sets:
            self.progress(f"deploy_ecs sets: {', '.join(reading.deploy_sets)}.")
        if reading.required:
            self.progress(
                f"Your settings read these with no default; a deploy must give them: {', '.join(reading.required)}."
            )
        if reading.storage is not None and not (on_s3(values, "default") or on_s3(values, "staticfiles")):
            self.progress(self.style.WARNING("  STORAGES: the uploads in the storage bucket when a deploy names it:"))
            self.progress(storages_lines(reading))
        if reading.processes and not str(values.get("CELERY_BROKER_URL") or "").startswith("sqs://"):
            self.progress(
                self.style.WARNING("  Celery: on the service's SQS queue when a deploy names it (add celery[sqs]):")
            )
            self.progress(celery_lines())
        if reading.required or reading.variables or reading.database != "parts" or reading.storage or reading.processes:
            database = ", ".join(DATABASE_VARIABLE_NAMES[reading.database])
            self.progress(f"The database reaches the tasks as {database}. In your settings:")
            repository = conf.get("REPOSITORY") if "REPOSITORY" in conf.ecr_settings.user else conf.base_dir().name
            self.progress(settings_skeleton(reading, repository.lower()))
        if reading.required:
            self.progress("Give each environment those values once (Parameter Store; the next deploy_ecs passes them):")
            for line in config_lines(reading.required):
                self.progress(f"  {line}")
