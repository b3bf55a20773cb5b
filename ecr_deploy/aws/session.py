"""The AWS side's one way in: a checked boto3 session, and boto3 calls whose failures become AwsError."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecr_deploy.common import write_atomically
from ecr_deploy.errors import AwsError
from ecr_deploy.names import validate_region

_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)
_REFUSALS = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
    }
)


def aws_error(err: Exception, action: str) -> AwsError:
    """A botocore error as a sentence that says what to do."""
    import botocore.exceptions as bce

    if isinstance(err, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return AwsError(
            f"No AWS credentials to {action}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile."
        )
    if isinstance(err, bce.ProfileNotFound):
        return AwsError(f"{err}; name a profile from ~/.aws/config.")
    if isinstance(err, bce.NoRegionError):
        return AwsError("No AWS region: pass --region, set AWS_DEFAULT_REGION or ECR_DEPLOY['REGION'].")
    if isinstance(err, (bce.EndpointConnectionError, bce.ConnectTimeoutError, bce.ReadTimeoutError)):
        return AwsError(f"Cannot reach the AWS API to {action}: {err}. Check the network or AWS_ENDPOINT_URL.")
    if isinstance(err, bce.ClientError):
        error = err.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        # Some services answer a denial as a bare HTTP 403: no body (S3's HEAD), or an XML body as the message.
        if code == "403":
            found = _XML_MESSAGE.search(message)
            code, message = "AccessDenied", found[1] if found else message
        if code in _REFUSALS:
            return AwsError(
                f"AWS refused to {action} ({err.operation_name}: {code}): "
                f"{message}. Check the credentials and their permissions (the policy must allow this call)."
            )
        return AwsError(f"AWS failed to {action} ({code}): {message}")
    return AwsError(f"AWS failed to {action}: {err}")


def aws_call(action: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """method(**kwargs), a boto3 client call, with its failure turned into an AwsError that says what to do."""
    import botocore.exceptions

    try:
        return method(**kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
        raise aws_error(err, action) from err


def aws_call_or_none(action: str, absent_code: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """Like aws_call, but None when AWS answers absent_code (what it says of a thing that is not there)."""
    import botocore.exceptions

    try:
        return method(**kwargs)
    except botocore.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") == absent_code:
            return None
        raise aws_error(err, action) from err
    except botocore.exceptions.BotoCoreError as err:
        raise aws_error(err, action) from err


@functools.cache
def _service_models() -> Any:
    """botocore's reader of the service models, one per process: each session's own would parse the same large JSON
    files again (0.2 s of CPU for a command's eight clients, 0.04 s with this one)."""
    import botocore.loaders

    return botocore.loaders.create_loader()


def aws_session(region: str | None, profile: str | None) -> Any:
    """A boto3 session from the usual chain, checked to have a region and credentials; its clients read the models
    that the process has read already."""
    import boto3
    import botocore.exceptions
    import botocore.session

    core = botocore.session.get_session()
    try:
        session = boto3.Session(botocore_session=core, profile_name=profile, region_name=region)
    except botocore.exceptions.BotoCoreError as err:
        raise aws_error(err, "start an AWS session") from err
    # After boto3's set-up, which adds its resource models' folder to the session's own reader (no client reads it).
    core.register_component("data_loader", _service_models())
    if not session.region_name:
        raise AwsError("No AWS region: pass --region, set AWS_DEFAULT_REGION or ECR_DEPLOY['REGION'].")
    validate_region(session.region_name)
    if session.get_credentials() is None:
        raise AwsError("No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile.")
    return session


def account_id(session: Any, known: Path | None = None) -> str:
    """The AWS account the session's credentials act in: one STS GetCallerIdentity call, or none when the file known
    has seen these credentials (an access key belongs to one account for good; the file keeps only its digest)."""
    credentials = session.get_credentials()
    key = hashlib.sha256(credentials.get_frozen_credentials().access_key.encode()).hexdigest() if credentials else ""
    seen = _read_json(known) if known and key else {}
    if key in seen:
        return seen[key]
    account = aws_call("identify the AWS account", session.client("sts").get_caller_identity)["Account"]
    if known and key:
        known.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(known, json.dumps({**seen, key: account}, sort_keys=True).encode())
    return account


def _read_json(path: Path) -> dict[str, str]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class LazyClient:
    """A boto3 client made on first use: a deploy with nothing to do never pays for the ones it does not call."""

    def __init__(self, session: Any, service: str) -> None:
        self._session = session
        self._service = service
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._session.client(self._service)
        return getattr(self._client, name)
