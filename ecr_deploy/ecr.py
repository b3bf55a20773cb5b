"""The ECR side: the authorization token from the ECR API, and login, push and digest checks through the Docker engine."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

import docker.errors

from ecr_deploy.docker_build import ENGINE_FAILURES
from ecr_deploy.errors import AwsError, DockerEngineError, RegistryError

Output = Callable[[str], None]
TRANSIENT_MARKERS = (
    "timeout",
    "timed out",
    "connection reset",
    "connection refused",
    "broken pipe",
    "eof",
    "500 internal",
    "502 bad gateway",
    "503 service unavailable",
    "504 gateway",
    "status 50",
    "status: 50",
)
AUTH_MARKERS = ("unauthorized", "authentication required", "no basic auth credentials", "401")


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: str = field(repr=False)
    endpoint: str
    expires_at: datetime
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def host(self) -> str:
        return urlparse(self.endpoint).hostname or self.endpoint

    @property
    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "serveraddress": self.endpoint}

    def is_stale(self) -> bool:
        """Expiring within 5 minutes; a token that arrived already expired (clock skew, or moto's fixed
        2015 date) is kept for a minute rather than fetched again at every step."""
        now = datetime.now(timezone.utc)
        return self.expires_at - now < timedelta(minutes=5) and now - self.fetched_at > timedelta(minutes=1)

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


def is_transient(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS) and not is_auth_failure(message)


def is_auth_failure(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in AUTH_MARKERS)


class PushStreamError(Exception):
    """An `error` line of docker's push stream (internal: EcrRegistry turns it into RegistryError)."""


class PushLog:
    """Reads docker's push stream: reports layer progress, raises on any error line, keeps the digest."""

    def __init__(self, render: Callable[[str, str, int, int], None]) -> None:
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
        return AwsError(f"Cannot reach the ECR API to {action}: {err}. Check the network or AWS_ENDPOINT_URL.")
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
                f"AWS refused to {action} ({code}): {message}. Check the credentials and their ECR permissions."
            )
        return AwsError(f"AWS failed to {action} ({code}): {message}")
    return AwsError(f"AWS failed to {action}: {err}")


class EcrRegistry:
    """One ECR registry, reached through boto3's ECR client and the Docker engine."""

    def __init__(self, ecr_client: Any, docker_client: Any, *, attempts: int = 4, backoff_seconds: float = 2.0) -> None:
        self.ecr = ecr_client
        self.docker = docker_client
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._auth: RegistryAuth | None = None

    def _call(self, action: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        import botocore.exceptions

        try:
            return method(**kwargs)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
            raise aws_error(err, action) from None

    def repository(self, name: str) -> dict[str, Any] | None:
        """The repository's description, or None when it does not exist."""
        import botocore.exceptions

        try:
            return self.ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
        except botocore.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
                return None
            raise aws_error(err, f"describe repository {name}") from None
        except botocore.exceptions.BotoCoreError as err:
            raise aws_error(err, f"describe repository {name}") from None

    def authorization(self, *, refresh: bool = False) -> RegistryAuth:
        """Registry credentials from GetAuthorizationToken, fetched again when stale."""
        if self._auth and not refresh and not self._auth.is_stale():
            return self._auth
        data = self._call("get an ECR authorization token", self.ecr.get_authorization_token)["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        expires_at = data.get("expiresAt") or datetime.now(timezone.utc) + timedelta(hours=12)
        self._auth = RegistryAuth(
            username=username, password=password, endpoint=data["proxyEndpoint"], expires_at=expires_at
        )
        return self._auth

    def login(self) -> RegistryAuth:
        """Log the engine in with fresh-enough credentials; a refusal says so without the token."""
        auth = self.authorization()
        try:
            self.docker.login(username=auth.username, password=auth.password, registry=auth.endpoint, reauth=True)
        except docker.errors.APIError as err:
            raise RegistryError(f"The registry {auth.host} refused the login: {auth.scrub(_explain(err))}") from None
        except ENGINE_FAILURES as err:
            raise DockerEngineError(
                f"The Docker engine failed during login to {auth.host}: {auth.scrub(_explain(err))}"
            ) from None
        return auth

    def remote_digest(self, repository_uri: str, tag: str) -> str | None:
        """The digest the registry holds for repository_uri:tag, or None when the tag is absent."""
        auth = self.authorization()
        try:
            return self.docker.api.inspect_distribution(f"{repository_uri}:{tag}", auth_config=auth.auth_config)[
                "Descriptor"
            ]["digest"]
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as err:
            text = _explain(err)
            if "manifest unknown" in text.lower() or "not found" in text.lower():
                return None
            if is_auth_failure(text):
                raise RegistryError(
                    f"The registry {auth.host} refused the credentials from GetAuthorizationToken: {auth.scrub(text)}"
                ) from None
            raise RegistryError(f"Cannot read {repository_uri}:{tag} from the registry: {auth.scrub(text)}") from None
        except ENGINE_FAILURES as err:
            raise DockerEngineError(
                f"The Docker engine failed to query {auth.host}: {auth.scrub(_explain(err))}"
            ) from None

    def push(
        self, repository_uri: str, tag: str, render: Callable[[str, str, int, int], None], notice: Output
    ) -> PushReport:
        """Push repository_uri:tag; retry transient failures with backoff, refresh expired credentials once."""
        refreshed = False
        for attempt in range(1, self.attempts + 1):
            auth = self.authorization()
            log = PushLog(render)
            try:
                report = log.feed(
                    self.docker.api.push(
                        repository_uri, tag=tag, auth_config=auth.auth_config, stream=True, decode=True
                    )
                )
                report.attempts = attempt
                return report
            except PushStreamError as err:
                message = auth.scrub(str(err))
            except docker.errors.APIError as err:
                message = auth.scrub(_explain(err))
            except ENGINE_FAILURES as err:
                raise DockerEngineError(
                    f"The Docker engine stopped answering during the push of {repository_uri}:{tag}: {auth.scrub(_explain(err))}. "
                    "Start it again and re-run: layers already pushed are not sent twice."
                ) from None
            if is_auth_failure(message) and not refreshed:
                refreshed = True
                notice("The registry refused the credentials; fetching a new authorization token.")
                self.authorization(refresh=True)
                continue
            if not is_transient(message) or attempt == self.attempts:
                raise RegistryError(
                    f"The push of {repository_uri}:{tag} failed"
                    + (f" after {attempt} attempts" if attempt > 1 else "")
                    + f": {message}"
                )
            delay = self.backoff_seconds * 2 ** (attempt - 1)
            notice(f"Push attempt {attempt} failed ({message}); retrying in {delay:g}s.")
            time.sleep(delay)
        raise RegistryError(f"The push of {repository_uri}:{tag} failed: credentials refused twice.")


def _explain(err: Exception) -> str:
    explanation = getattr(err, "explanation", None)
    return str(explanation or err).strip()
