from django.apps import AppConfig


class EcrDeployConfig(AppConfig):
    name = "ecr_deploy"
    verbose_name = "ECR deploy"

    def ready(self) -> None:
        from ecr_deploy import checks  # noqa: F401  (registers the system checks)
