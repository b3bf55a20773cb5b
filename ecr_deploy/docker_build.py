"""Build the project's image through the Docker engine: context, labels, and a build log read line by line."""

from __future__ import annotations

import os
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors
import docker.utils
import requests.exceptions
import urllib3.exceptions

from ecr_deploy.errors import BuildError, DockerEngineError, ImageNotFoundError

Output = Callable[[str], None]
#: What a call to the engine raises when the engine is gone or breaks the connection mid-stream.
ENGINE_FAILURES = (docker.errors.DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)


@dataclass(frozen=True)
class BuildRequest:
    context_dir: Path
    dockerfile: str
    tags: list[str]
    build_args: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    pull: bool = False
    platform: str | None = None


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    tags: list[str]
    size_bytes: int
    context_bytes: int
    labels: dict[str, str]
    steps: int
    cached_steps: int
    seconds: float


def engine(timeout: int = 600) -> docker.DockerClient:
    """A client of the engine named by DOCKER_HOST (or the local socket), checked to answer."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except ENGINE_FAILURES as err:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise DockerEngineError(
            f"Cannot reach the Docker engine at {where}: {_first_line(err)}. "
            "Start it (scripts/local-aws up starts one) or set DOCKER_HOST."
        ) from None
    return client


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Turn a failure of the engine during action into DockerEngineError."""
    try:
        yield
    except ENGINE_FAILURES as err:
        raise DockerEngineError(
            f"The Docker engine failed to {action}: {_first_line(err)}. Check that it runs (scripts/local-aws up starts one), then re-run."
        ) from None


def local_image(client: docker.DockerClient, reference: str) -> Any:
    """The local image named reference; says to run build_image when it is missing."""
    try:
        return client.images.get(reference)
    except docker.errors.ImageNotFound:
        raise ImageNotFoundError(
            f"No local image {reference}: run `python manage.py build_image --tag {reference}` first."
        ) from None
    except ENGINE_FAILURES as err:
        raise DockerEngineError(f"The Docker engine failed to inspect {reference}: {_first_line(err)}") from None


def dockerignore_patterns(context_dir: Path) -> list[str]:
    """The .dockerignore patterns, read as the docker CLI reads them."""
    path = context_dir / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def build_context(context_dir: Path, dockerfile: str) -> IO[bytes]:
    """The build context as an uncompressed tar, honouring .dockerignore; the caller closes it."""
    if not (context_dir / dockerfile).is_file():
        raise BuildError(f"No Dockerfile at {context_dir / dockerfile}; set ECR_DEPLOY['DOCKERFILE'] or CONTEXT_DIR.")
    return docker.utils.tar(str(context_dir), exclude=dockerignore_patterns(context_dir), dockerfile=(dockerfile, None))


def _git(context_dir: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], check=False, cwd=context_dir, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def oci_labels(context_dir: Path, version: str) -> dict[str, str]:
    """OCI labels from git; `created` is the commit time so that an unchanged tree rebuilds from cache."""
    revision = _git(context_dir, "rev-parse", "HEAD")
    if revision and _git(context_dir, "status", "--porcelain"):
        revision += "-dirty"
    commit_time = _git(context_dir, "log", "-1", "--format=%ct")
    labels = {
        "org.opencontainers.image.revision": revision or "unknown",
        "org.opencontainers.image.source": _git(context_dir, "config", "--get", "remote.origin.url") or "unknown",
        "org.opencontainers.image.version": version,
    }
    if commit_time:
        labels["org.opencontainers.image.created"] = datetime.fromtimestamp(int(commit_time), timezone.utc).isoformat()
    return labels


class BuildLog:
    """Reads docker's build stream: passes text on, counts steps and cache hits, turns an error into BuildError."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.step = ""
        self.steps = 0
        self.cached_steps = 0
        self.step_output: deque[str] = deque(maxlen=40)
        self.image_id = ""

    def feed(self, chunks: Iterable[dict[str, Any]]) -> str:
        """Consume the whole stream; return the built image id."""
        for chunk in chunks:
            self.read(chunk)
        if not self.image_id:
            raise BuildError(f"The build ended without an image id after {self.step or 'no step'}.")
        return self.image_id

    def read(self, chunk: dict[str, Any]) -> None:
        if "error" in chunk or "errorDetail" in chunk:
            message = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error", "unknown error")
            output = "".join(self.step_output).rstrip()
            raise BuildError(
                f"The build failed at {self.step or 'its start'}: {message.strip()}"
                + (f"\nOutput of that step:\n{output}" if output else "")
            )
        if "aux" in chunk and "ID" in chunk["aux"]:
            self.image_id = chunk["aux"]["ID"]
        text = chunk.get("stream", "")
        if not text:
            return
        for line in text.splitlines(keepends=True):
            if line.startswith("Step "):
                self.step = line.strip()
                self.steps += 1
                self.step_output.clear()
            elif line.strip() == "---> Using cache":
                self.cached_steps += 1
            elif not line.startswith((" ---> ", "Removing intermediate container")):
                self.step_output.append(line)
        self.output(text)


def build_image(client: docker.DockerClient, request: BuildRequest, output: Output) -> BuildResult:
    """Build request.tags[0], tag the others, and describe the result."""
    started = time.monotonic()
    labels = oci_labels(request.context_dir, request.tags[0].rpartition(":")[2])
    log = BuildLog(output)
    with build_context(request.context_dir, request.dockerfile) as context:
        context_bytes = context.seek(0, os.SEEK_END)
        context.seek(0)
        try:
            image_id = log.feed(
                client.api.build(
                    fileobj=context,
                    custom_context=True,
                    dockerfile=request.dockerfile,
                    tag=request.tags[0],
                    buildargs=request.build_args,
                    nocache=request.no_cache,
                    pull=request.pull,
                    platform=request.platform,
                    labels=labels,
                    rm=True,
                    forcerm=True,
                    decode=True,
                )
            )
        except ENGINE_FAILURES as err:
            raise DockerEngineError(f"The Docker engine refused the build: {_first_line(err)}") from None
    with engine_errors("tag the built image"):
        image = client.images.get(image_id)
        for tag in request.tags[1:]:
            repository, _, version = tag.rpartition(":")
            image.tag(repository, version)
        image.reload()
    return BuildResult(
        image_id=image.id,
        tags=sorted(image.tags),
        size_bytes=image.attrs["Size"],
        context_bytes=context_bytes,
        labels=labels,
        steps=log.steps,
        cached_steps=log.cached_steps,
        seconds=round(time.monotonic() - started, 2),
    )


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
