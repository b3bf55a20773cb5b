"""One exception family: every error a user can fix, with a message that says how."""


class EcrDeployError(Exception):
    """Base of every error ecr_deploy raises on purpose; commands turn it into CommandError."""


class ConfigurationError(EcrDeployError):
    """A bad ECR_DEPLOY value, flag or name."""


class SettingsPatchError(EcrDeployError):
    """The settings file cannot be patched safely."""


class DockerEngineError(EcrDeployError):
    """The Docker engine cannot be reached or refused a request."""


class BuildError(EcrDeployError):
    """A Dockerfile step failed."""


class ImageNotFoundError(EcrDeployError):
    """The local image to publish does not exist."""


class InfraError(EcrDeployError):
    """infra/ is malformed or incomplete."""


class TerraformError(EcrDeployError):
    """terraform is missing or failed."""


class AwsError(EcrDeployError):
    """The AWS API refused or could not be reached."""


class RegistryError(EcrDeployError):
    """The registry refused the login or the push."""


class LockError(EcrDeployError):
    """Another publish holds the project's lock."""


class StateError(EcrDeployError):
    """The Terraform state cannot be used as asked: no bucket, a destroy, a repository that another state owns."""


class DeployError(EcrDeployError):
    """A deploy to ECS stopped: a missing image or service, a failed migrate task, a failed or slow rollout."""
