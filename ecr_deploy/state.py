"""Where Terraform keeps an environment's state: a local file, or an S3 object locked by a lock file and/or a
DynamoDB table; and the bootstrap that makes the bucket and the table."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_deploy.common import Output
from ecr_deploy.ecr import aws_error
from ecr_deploy.environments import StateConfig
from ecr_deploy.errors import StateError
from ecr_deploy.terraform import REPOSITORY_RESOURCE

LOCAL_STATE_DIR = "terraform.tfstate.d"
#: The location of a state that infra/ configures with a backend block of its own.
DECLARED_BACKEND = "declared"
#: What S3 answers for a bucket or an object that is not there.
_NOT_FOUND = frozenset({"404", "NotFound", "NoSuchBucket", "NoSuchKey"})


def _not_found(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in _NOT_FOUND


def slug(repository: str) -> str:
    """A repository name as one path component ('team/app' -> 'team+app'; ECR names hold no '+')."""
    return repository.replace("/", "+")


@dataclass(frozen=True)
class StateLocation:
    """One state per environment and repository: a backend type and its -backend-config pairs."""

    backend: str
    config: dict[str, str]
    description: str


def state_location(config: StateConfig, environment: str, repository: str, region: str) -> StateLocation:
    if config.backend == "local":
        path = f"{LOCAL_STATE_DIR}/{environment}/{slug(repository)}.tfstate"
        return StateLocation("local", {"path": path}, path)
    key = f"{config.key_prefix}{environment}/{repository}.tfstate"
    backend = {"bucket": config.bucket, "key": key, "region": config.region or region, "encrypt": "true"}
    backend["use_lockfile"] = "true" if config.use_lockfile else "false"
    if config.lock_table:
        backend["dynamodb_table"] = config.lock_table
    return StateLocation("s3", backend, f"s3://{config.bucket}/{key}")


def migrate_legacy_state(directory: Path, report: Output) -> None:
    """Move a state from before environments (directory/terraform.tfstate, which would make terraform init stop to
    ask about a migration) to the default environment's file for the one repository it manages."""
    legacy = directory / "terraform.tfstate"
    if not legacy.is_file():
        return
    try:
        resources = json.loads(legacy.read_text() or "{}").get("resources", [])
    except ValueError as err:
        raise StateError(f"{legacy} is not a readable Terraform state ({err}); move it away or repair it.") from err
    repositories = [
        instance.get("attributes", {}).get("name", "")
        for resource in resources
        if resource.get("type") == REPOSITORY_RESOURCE
        for instance in resource.get("instances", [])
    ]
    if not resources:
        legacy.rename(legacy.with_name("terraform.tfstate.empty-before-environments"))
        report(f"State: {legacy} was empty; kept as terraform.tfstate.empty-before-environments.")
        return
    target = (
        directory / LOCAL_STATE_DIR / "default" / f"{slug(repositories[0])}.tfstate" if len(repositories) == 1 else None
    )
    if target is None or target.exists():
        raise StateError(
            f"{legacy} is a state from before environments (it manages {', '.join(repositories) or 'no repository'}), "
            "and it cannot be moved to one repository's state file. Move it by hand to "
            f"{LOCAL_STATE_DIR}/default/REPOSITORY.tfstate, or delete it if nothing it holds is still yours."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    legacy.rename(target)
    backup = legacy.with_name("terraform.tfstate.backup")
    if backup.is_file():
        backup.rename(target.with_name(f"{target.name}.backup"))
    report(f"State: moved {legacy.name} (from before environments) to {target.relative_to(directory)}.")


class StateStore:
    """Reads what a state's location holds, without terraform: whether the bucket exists and the state's version."""

    def __init__(self, location: StateLocation, terraform_dir: Path, session: Any, environment: str) -> None:
        self.location = location
        self.terraform_dir = terraform_dir
        self.session = session
        self.environment = environment

    def s3(self) -> Any:
        return self.session.client("s3", region_name=self.location.config["region"])

    def version(self) -> str | None:
        """What changes whenever anyone writes the state: the local file's digest, or the S3 object's ETag; None for
        a backend that infra/ declares, which only terraform reads."""
        if self.location.backend == DECLARED_BACKEND:
            return None
        if self.location.backend == "local":
            path = self.terraform_dir / self.location.config["path"]
            return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"
        try:
            head = self.s3().head_object(Bucket=self.location.config["bucket"], Key=self.location.config["key"])
        except ClientError as err:
            if _not_found(err):
                return "absent"
            raise aws_error(err, f"read the state {self.location.description}") from err
        except BotoCoreError as err:
            raise aws_error(err, f"read the state {self.location.description}") from err
        return f"{head.get('ETag', '')}/{head.get('VersionId', '')}"

    def check_ready(self) -> None:
        """Refuse a missing bucket before terraform init would write anything."""
        if self.location.backend != "s3":
            return
        bucket = self.location.config["bucket"]
        try:
            self.s3().head_bucket(Bucket=bucket)
        except ClientError as err:
            if _not_found(err):
                raise StateError(
                    f"The state bucket {bucket} of environment {self.environment} does not exist; create it with "
                    f"`python manage.py bootstrap_state --env {self.environment}`."
                ) from err
            raise aws_error(err, f"reach the state bucket {bucket}") from err
        except BotoCoreError as err:
            raise aws_error(err, f"reach the state bucket {bucket}") from err


def bootstrap_state(config: StateConfig, session: Any, report: Output) -> list[str]:
    """Create the S3 bucket (versioned, encrypted, not public) and the lock table when configured; each step says
    whether it created or found. Returns those lines."""
    region = config.region or session.region_name
    s3 = session.client("s3", region_name=region)
    done: list[str] = []

    def say(line: str) -> None:
        done.append(line)
        report(line)

    try:
        try:
            s3.head_bucket(Bucket=config.bucket)
            say(f"Bucket {config.bucket}: found")
        except ClientError as err:
            if not _not_found(err):
                raise
            location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=config.bucket, **location)
            say(f"Bucket {config.bucket}: created in {region}")
        s3.put_bucket_versioning(Bucket=config.bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=config.bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]
            },
        )
        s3.put_public_access_block(
            Bucket=config.bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        say(f"Bucket {config.bucket}: versioning on, default encryption AES256, public access blocked")
        if config.lock_table:
            _ensure_lock_table(session.client("dynamodb", region_name=region), config.lock_table, say)
    except (ClientError, BotoCoreError) as err:
        raise aws_error(err, "bootstrap the Terraform state") from err
    return done


def _ensure_lock_table(dynamodb: Any, table: str, say: Output) -> None:
    try:
        dynamodb.describe_table(TableName=table)
        say(f"Lock table {table}: found")
        return
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    say(f"Lock table {table}: created (key LockID)")
