"""The registry side of ECR, through the Docker engine: login, push and digest reads, with docker's JSON stream
read line by line and the registry's errors classified (retry, fetch a new token, or fail)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import docker.errors

from ecr_deploy.common import LayerOutput, Output, RegistryAuth, first_line
from ecr_deploy.errors import DockerEngineError, RegistryError
from ecr_deploy.image.engine import ENGINE_FAILURES

T = TypeVar("T")
#: Hands out the registry's credentials; refresh=True asks for a new token (aws.ecr.EcrApi.authorization).
Authorize = Callable[..., RegistryAuth]

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
#: What ECR asks of the token's principal for a push (ECR user guide, "Pushing an image", IAM permissions); a read
#: needs ecr:BatchGetImage. ECR's refusal of a layer check (a HEAD) has no body to name the action in.
PUSH_PERMISSIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
)


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


class EcrRegistry:
    """One ECR registry as the Docker engine reaches it, with the credentials that authorize hands out."""

    def __init__(
        self, docker_client: Any, authorize: Authorize, *, attempts: int = 4, backoff_seconds: float = 2.0
    ) -> None:
        self.docker = docker_client
        self.authorization = authorize
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds

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

        return self._with_retries(f"read of {reference}", inspect, notice, needs=("ecr:BatchGetImage",))

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

        return self._with_retries(f"push of {repository_uri}:{tag}", push_once, notice, needs=PUSH_PERMISSIONS)

    def _with_retries(
        self, action: str, call: Callable[[RegistryAuth], T], notice: Output, needs: tuple[str, ...] = ()
    ) -> T:
        """Run call with the current credentials: retry what the registry calls transient with backoff and
        jitter, fetch a new token once when it refuses the credentials, fail at once on anything else (a refusal
        says which IAM actions the call needs)."""
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
            if failure.status == 403 and needs:
                message += (
                    f". The registry refused access: the principal whose credentials got the ECR token needs "
                    f"{', '.join(needs)} on the repository"
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
