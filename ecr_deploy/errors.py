"""One exception family: every error a user can fix, with a message that says how."""


class EcrDeployError(Exception):
    """Base of every error ecr_deploy raises on purpose; commands turn it into CommandError. Its message says what
    went wrong and what to do; hint is the general remedy of its kind, for --json's error record."""

    hint = ""


class ConfigurationError(EcrDeployError):
    """A bad ECR_DEPLOY value, flag or name."""

    hint = "Fix ECR_DEPLOY or the flags; `python manage.py check` lists every problem of ECR_DEPLOY."


class SettingsPatchError(EcrDeployError):
    """The settings file cannot be patched safely."""


class DockerEngineError(EcrDeployError):
    """The Docker engine cannot be reached or refused a request."""

    hint = "Start dockerd, or set DOCKER_HOST to an engine that answers."


class BuildError(EcrDeployError):
    """A Dockerfile step failed."""


class ImageNotFoundError(EcrDeployError):
    """The local image to publish does not exist."""


class InfraError(EcrDeployError):
    """infra/ is malformed or incomplete."""

    hint = "Fix the Terraform folder (ECR_DEPLOY['TERRAFORM_DIR']) as the message says."


class TerraformError(EcrDeployError):
    """terraform is missing or failed."""

    hint = "Read terraform's own message above; fix the cause and run again."


class AwsError(EcrDeployError):
    """The AWS API refused or could not be reached."""

    hint = "Check the AWS credentials, region and permissions, or AWS_ENDPOINT_URL."


class RegistryError(EcrDeployError):
    """The registry refused the login or the push."""


class LockError(EcrDeployError):
    """Another publish holds the project's lock."""

    hint = "Wait for the other run to finish, then run again."


class StateError(EcrDeployError):
    """The Terraform state cannot be used as asked: no bucket, a destroy, a repository that another state owns."""


class WrongAccountError(StateError):
    """The credentials act in another AWS account or region than the one that the state was applied in."""

    hint = (
        "Use an environment per account: ECR_DEPLOY['ENVIRONMENTS'][NAME] with its own PROFILE, and ACCOUNT to pin it."
    )


class DeployError(EcrDeployError):
    """A deploy to ECS stopped: a missing image or service, a failed migrate task, a failed or slow rollout."""


class MissingDependencyError(EcrDeployError):
    """An optional dependency of the deploy side (boto3, docker-py, python-hcl2) is not installed."""

    hint = "pip install 'django-ecr-deploy[deploy]'"
