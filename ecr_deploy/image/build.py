"""Build the project's image through the Docker engine: context, labels, and a build log read line by line."""

from __future__ import annotations

import os
import subprocess
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import docker
import docker.utils

from ecr_deploy.common import Output, first_line
from ecr_deploy.errors import BuildError, DockerEngineError
from ecr_deploy.image.engine import ENGINE_FAILURES, engine_errors


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


def public_source_url(remote: str) -> str:
    """A git remote without what must not reach an image: userinfo (a CI token), query and fragment."""
    if not remote:
        return "unknown"
    parts = urlsplit(remote)
    if parts.scheme and parts.hostname:
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    # scp-like `user@host:path`: only the host and path are kept.
    host, sep, path = remote.rpartition("@")[2].partition(":")
    return f"{host}:{path.partition('?')[0].partition('#')[0]}" if sep else "unknown"


def oci_labels(context_dir: Path, version: str) -> dict[str, str]:
    """OCI labels from git; `created` is the commit time so that an unchanged tree rebuilds from cache."""
    revision = _git(context_dir, "rev-parse", "HEAD")
    if revision and _git(context_dir, "status", "--porcelain"):
        revision += "-dirty"
    commit_time = _git(context_dir, "log", "-1", "--format=%ct")
    labels = {
        "org.opencontainers.image.revision": revision or "unknown",
        "org.opencontainers.image.source": public_source_url(_git(context_dir, "config", "--get", "remote.origin.url")),
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
            raise DockerEngineError(f"The Docker engine refused the build: {first_line(err)}") from err
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
