"""The ECR side: the authorization token from the ECR API, and login, push and digest checks through the Docker engine."""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from urllib.parse import urlparse

import docker.errors

from ecr_deploy.common import LayerOutput, Output, first_line
from ecr_deploy.docker_engine import ENGINE_FAILURES
from ecr_deploy.errors import AwsError, DockerEngineError, RegistryError
from ecr_deploy.names import validate_region

T = TypeVar("T")

#: The distribution spec's error codes, as docker renders them ("unauthorized: ..."), with their HTTP status.
SPEC_CODES: dict[str, int] = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 404,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "MANIFEST_UNVERIFIED": 400,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "TAG_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "RANGE_INVALID": 416,
    "PAGINATION_NUMBER_INVALID": 400,
    "UNKNOWN": 500,
    "UNAVAILABLE": 503,
}
_SPEC_CODE = re.compile(
    r"(?:^|[\s:])("
    + "|".join(sorted((code.lower().replace("_", " ") for code in SPEC_CODES), key=len, reverse=True))
    + r"): ",
)
_HTTP_STATUS = re.compile(r"\b(?:HTTP status|status code|status|HTTP)[:=]?\s*([1-5]\d\d)\b", re.IGNORECASE)
# Go's net errors, as dockerd passes them on when the registry cannot be reached or drops the connection.
_CONNECTION_FAILURE = re.compile(
    r"connect: connection refused|connection reset by peer|broken pipe|i/o timeout|TLS handshake timeout"
    r"|no such host|network is unreachable|server misbehaving|unexpected EOF|(?:^|: )EOF$",
)
_RETRY_AFTER = re.compile(r"retry[- ]after:?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class RegistryFailure:
    """A registry error read from its code: retry it, refetch the token once, or fail at once."""

    action: str  # "retry", "reauthenticate" or "fail"
    code: str = ""
    status: int | None = None
    retry_after: float | None = None


def classify_registry_error(message: str) -> RegistryFailure:
    """5xx (but 501), 429 and connection failures are retried; 401 refetches the token; any other 4xx fails."""
    retry_after = float(match[1]) if (match := _RETRY_AFTER.search(message)) else None
    if match := _SPEC_CODE.search(message):
        code = match[1].upper().replace(" ", "_")
        status = SPEC_CODES[code]
    elif match := _HTTP_STATUS.search(message):
        code, status = "", int(match[1])
    elif _CONNECTION_FAILURE.search(message.strip()):
        return RegistryFailure("retry", code="CONNECTION", retry_after=retry_after)
    else:
        return RegistryFailure("fail")
    if status == 401:
        return RegistryFailure("reauthenticate", code, status)
    if status == 429 or (status >= 500 and status != 501):
        return RegistryFailure("retry", code, status, retry_after)
    return RegistryFailure("fail", code, status)


def backoff_delay(attempt: int, base_seconds: float, retry_after: float | None = None) -> float:
    """Exponential backoff with equal jitter after the given failed attempt; never shorter than Retry-After."""
    ceiling = base_seconds * 2 ** (attempt - 1)
    return max(ceiling / 2 + random.uniform(0, ceiling / 2), retry_after or 0.0)


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: str = field(repr=False)
    endpoint: str
    expires_at: datetime

    @property
    def host(self) -> str:
        return urlparse(self.endpoint).hostname or self.endpoint

    @property
    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "serveraddress": self.endpoint}

    def is_stale(self) -> bool:
        """Expiring within 5 minutes, by the token's own expiresAt."""
        return self.expires_at - datetime.now(timezone.utc) < timedelta(minutes=5)

    def scrub(self, text: str) -> str:
        """text with the password and its base64 token replaced, for messages that leave this module."""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return text.replace(token, "***").replace(self.password, "***")


@dataclass
class PushReport:
    digest: str = ""
    bytes_pushed: int = 0
    layers_pushed: int = 0
    layers_existing: int = 0
    attempts: int = 0


class PushStreamError(Exception):
    """An `error` line of docker's push stream (internal: EcrRegistry turns it into RegistryError)."""


class PushLog:
    """Reads docker's push stream: reports layer progress, raises on any error line, keeps the digest."""

    def __init__(self, render: LayerOutput) -> None:
        self.render = render
        self.report = PushReport()
        self.totals: dict[str, int] = {}

    def feed(self, chunks: Iterable[dict[str, Any]]) -> PushReport:
        for chunk in chunks:
            self.read(chunk)
        if not self.report.digest:
            raise PushStreamError("the push ended without a digest")
        return self.report

    def read(self, chunk: dict[str, Any]) -> None:
        if "error" in chunk or "errorDetail" in chunk:
            raise PushStreamError(
                (chunk.get("errorDetail") or {}).get("message") or chunk.get("error") or "unknown error"
            )
        aux = chunk.get("aux") or {}
        if aux.get("Digest"):
            self.report.digest = aux["Digest"]
        layer, status = chunk.get("id", ""), chunk.get("status", "")
        detail = chunk.get("progressDetail") or {}
        if layer and detail.get("total"):
            self.totals[layer] = max(self.totals.get(layer, 0), detail["total"])
        if status == "Pushed":
            self.report.layers_pushed += 1
            self.report.bytes_pushed += self.totals.get(layer, 0)
        elif status == "Layer already exists":
            self.report.layers_existing += 1
        if layer:
            self.render(layer, status, detail.get("current", 0), detail.get("total", 0))


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
        if code in {
            "AccessDeniedException",
            "AccessDenied",
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "ExpiredTokenException",
        }:
            return AwsError(
                f"AWS refused to {action} ({code}): {message}. Check the credentials and their permissions."
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


def aws_session(region: str | None, profile: str | None) -> Any:
    """A boto3 session from the usual chain, checked to have a region and credentials."""
    import boto3
    import botocore.exceptions

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.BotoCoreError as err:
        raise aws_error(err, "start an AWS session") from err
    if not session.region_name:
        raise AwsError("No AWS region: pass --region, set AWS_DEFAULT_REGION or ECR_DEPLOY['REGION'].")
    validate_region(session.region_name)
    if session.get_credentials() is None:
        raise AwsError("No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile.")
    return session


class EcrRegistry:
    """One ECR registry, reached through boto3's ECR client and the Docker engine."""

    def __init__(self, ecr_client: Any, docker_client: Any, *, attempts: int = 4, backoff_seconds: float = 2.0) -> None:
        self.ecr = ecr_client
        self.docker = docker_client
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._auth: RegistryAuth | None = None

    def repository(self, name: str) -> dict[str, Any] | None:
        """The repository's description, or None when it does not exist."""
        import botocore.exceptions

        try:
            return self.ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
        except botocore.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
                return None
            raise aws_error(err, f"describe repository {name}") from err
        except botocore.exceptions.BotoCoreError as err:
            raise aws_error(err, f"describe repository {name}") from err

    def tags(self, arn: str) -> dict[str, str]:
        listed = aws_call("list the repository's tags", self.ecr.list_tags_for_resource, resourceArn=arn)
        return {tag["Key"]: tag["Value"] for tag in listed.get("tags", [])}

    def authorization(self, *, refresh: bool = False) -> RegistryAuth:
        """Registry credentials from GetAuthorizationToken, fetched again when they expire within 5 minutes."""
        if self._auth and not refresh and not self._auth.is_stale():
            return self._auth
        data = aws_call("get an ECR authorization token", self.ecr.get_authorization_token)["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        expires_at = data.get("expiresAt") or datetime.now(timezone.utc) + timedelta(hours=12)
        self._auth = RegistryAuth(
            username=username, password=password, endpoint=data["proxyEndpoint"], expires_at=expires_at
        )
        return self._auth

    def login(self, notice: Output = lambda _: None) -> RegistryAuth:
        """Log the engine in with fresh-enough credentials; a refusal says so without the token."""

        def login_once(auth: RegistryAuth) -> RegistryAuth:
            self.docker.login(username=auth.username, password=auth.password, registry=auth.endpoint, reauth=True)
            return auth

        return self._with_retries(f"login to {self.authorization().host}", login_once, notice)

    def remote_digest(self, repository_uri: str, tag: str, notice: Output = lambda _: None) -> str | None:
        """The digest the registry holds for repository_uri:tag (or @sha256:..., to check a digest is there), or
        None when it is absent."""
        reference = f"{repository_uri}@{tag}" if tag.startswith("sha256:") else f"{repository_uri}:{tag}"

        def inspect(auth: RegistryAuth) -> str | None:
            try:
                found = self.docker.api.inspect_distribution(reference, auth_config=auth.auth_config)
            except docker.errors.NotFound:
                return None
            except docker.errors.APIError as err:
                failure = classify_registry_error(first_line(err))
                if failure.code in {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"} or failure.status == 404:
                    return None
                raise _Refused(first_line(err), failure) from err
            return found["Descriptor"]["digest"]

        return self._with_retries(f"read of {reference}", inspect, notice)

    def push(self, repository_uri: str, tag: str, render: LayerOutput, notice: Output) -> PushReport:
        """Push repository_uri:tag; report the attempts it took."""
        attempts = 0

        def push_once(auth: RegistryAuth) -> PushReport:
            nonlocal attempts
            attempts += 1
            stream = self.docker.api.push(
                repository_uri, tag=tag, auth_config=auth.auth_config, stream=True, decode=True
            )
            try:
                report = PushLog(render).feed(stream)
            except PushStreamError as err:
                raise _Refused(str(err), classify_registry_error(str(err))) from err
            report.attempts = attempts
            return report

        return self._with_retries(f"push of {repository_uri}:{tag}", push_once, notice)

    def _with_retries(self, action: str, call: Callable[[RegistryAuth], T], notice: Output) -> T:
        """Run call with the current credentials: retry what the registry calls transient with backoff and
        jitter, fetch a new token once when it refuses the credentials, fail at once on anything else."""
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            auth = self.authorization()
            try:
                return call(auth)
            except _Refused as err:
                message, failure = auth.scrub(err.message), err.failure
            except docker.errors.APIError as err:
                message = auth.scrub(first_line(err))
                failure = classify_registry_error(message)
            except ENGINE_FAILURES as err:
                raise DockerEngineError(
                    f"The Docker engine stopped answering during the {action}: {auth.scrub(first_line(err))}. "
                    "Start it again and re-run: layers already pushed are not sent twice."
                ) from err
            if failure.action == "reauthenticate" and not reauthenticated:
                reauthenticated = True
                attempt -= 1
                notice("The registry refused the credentials; fetching a new authorization token.")
                self.authorization(refresh=True)
                continue
            if failure.action == "reauthenticate":
                raise RegistryError(
                    f"The registry {auth.host} refused the credentials from GetAuthorizationToken, twice: {message}. "
                    "Check the account, the region and the ECR permissions."
                )
            if failure.action == "fail" or attempt >= self.attempts:
                raise RegistryError(
                    f"The {action} failed" + (f" after {attempt} attempts" if attempt > 1 else "") + f": {message}"
                )
            delay = backoff_delay(attempt, self.backoff_seconds, failure.retry_after)
            notice(
                f"The {action} failed ({message}); retrying in {delay:.1f}s (attempt {attempt + 1} of {self.attempts})."
            )
            time.sleep(delay)


class _Refused(Exception):
    """A registry error already read from docker's answer (internal to EcrRegistry)."""

    def __init__(self, message: str, failure: RegistryFailure) -> None:
        super().__init__(message)
        self.message = message
        self.failure = failure


def account_id(session: Any) -> str:
    """The AWS account the session's credentials act in (one STS GetCallerIdentity call)."""
    return aws_call("identify the AWS account", session.client("sts").get_caller_identity)["Account"]
