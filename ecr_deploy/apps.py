from django.apps import AppConfig


class EcrDeployConfig(AppConfig):
    name = "ecr_deploy"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "ECR deploy"

    def ready(self) -> None:
        from ecr_deploy import checks  # noqa: F401  (registers the system checks)
