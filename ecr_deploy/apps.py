from django.apps import AppConfig


class EcrDeployConfig(AppConfig):
    name = "ecr_deploy"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "ECR deploy"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from ecr_deploy import checks  # noqa: F401  (registers the system checks)
        from ecr_deploy.runtime.migrations import report_irreversible

        post_migrate.connect(report_irreversible, dispatch_uid="ecr_deploy.report_irreversible")
