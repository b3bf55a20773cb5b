"""The S3 side of a Terraform state: whether its bucket exists and the state object's version, read without
terraform; and the bootstrap that makes the bucket and the DynamoDB lock table."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_deploy.aws.session import aws_error
from ecr_deploy.common import Output
from ecr_deploy.environments import StateConfig
from ecr_deploy.errors import StateError

#: What S3 answers for a bucket or an object that is not there.
_NOT_FOUND = frozenset({"404", "NotFound", "NoSuchBucket", "NoSuchKey"})


def _not_found(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in _NOT_FOUND


class S3State:
    """One state object in S3 and the objects beside it, read with boto3: terraform need not start to know whether
    the state changed, or which account it was applied in."""

    def __init__(self, session: Any, *, bucket: str, key: str, region: str, environment: str) -> None:
        self.s3 = session.client("s3", region_name=region)
        self.bucket = bucket
        self.key = key
        self.environment = environment

    @property
    def description(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def version(self) -> str:
        """What changes whenever anyone writes the state: the object's ETag and version, 'absent' before the first
        apply."""
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError as err:
            if _not_found(err):
                return "absent"
            raise aws_error(err, f"read the state {self.description}") from err
        except BotoCoreError as err:
            raise aws_error(err, f"read the state {self.description}") from err
        return f"{head.get('ETag', '')}/{head.get('VersionId', '')}"

    def read(self, suffix: str = "") -> bytes | None:
        """The state object (suffix ""), or the object of that suffix beside it; None when absent."""
        key = f"{self.key}{suffix}"
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            if _not_found(err):
                return None
            raise aws_error(err, f"read s3://{self.bucket}/{key}") from err
        except BotoCoreError as err:
            raise aws_error(err, f"read s3://{self.bucket}/{key}") from err

    def write(self, suffix: str, body: bytes) -> None:
        key = f"{self.key}{suffix}"
        try:
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", ServerSideEncryption="AES256"
            )
        except (ClientError, BotoCoreError) as err:
            raise aws_error(err, f"write s3://{self.bucket}/{key}") from err

    def delete(self, suffix: str) -> None:
        key = f"{self.key}{suffix}"
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as err:
            raise aws_error(err, f"remove s3://{self.bucket}/{key}") from err

    def check_ready(self) -> None:
        """Refuse a missing bucket before terraform init would write anything."""
        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except ClientError as err:
            if _not_found(err):
                raise StateError(
                    f"The state bucket {self.bucket} of environment {self.environment} does not exist; create it "
                    f"with `python manage.py bootstrap_state --env {self.environment}`."
                ) from err
            raise aws_error(err, f"reach the state bucket {self.bucket}") from err
        except BotoCoreError as err:
            raise aws_error(err, f"reach the state bucket {self.bucket}") from err


def bucket_region(session: Any, bucket: str, default: str) -> str:
    """The region a state bucket is in, where terraform's S3 backend must address it (it follows no redirect);
    default for a bucket not made yet (bootstrap_state makes it there)."""
    s3 = session.client("s3", region_name=default)
    try:
        answer = s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        if _not_found(err):
            return default
        raise aws_error(err, f"find the region of the state bucket {bucket}") from err
    except BotoCoreError as err:
        raise aws_error(err, f"find the region of the state bucket {bucket}") from err
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return answer.get("BucketRegion") or headers.get("x-amz-bucket-region") or default


def bootstrap_state(config: StateConfig, session: Any, report: Output) -> list[str]:
    """Create the S3 bucket (versioned, encrypted, not public) and the lock table when configured, in the bucket's
    region (where terraform's backend looks for both); each step says whether it created or found. Returns those
    lines."""
    region = config.region or bucket_region(session, config.bucket, session.region_name)
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
