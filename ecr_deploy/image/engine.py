"""The Docker engine: a checked client, the failures it raises, and local images."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from ecr_deploy.common import first_line
from ecr_deploy.errors import DockerEngineError, ImageNotFoundError

#: What a call to the engine raises when the engine is gone or breaks the connection mid-stream.
ENGINE_FAILURES = (docker.errors.DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)


def engine(timeout: int = 600) -> docker.DockerClient:
    """A client of the engine named by DOCKER_HOST (or the local socket), checked to answer."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except ENGINE_FAILURES as err:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise DockerEngineError(
            f"Cannot reach the Docker engine at {where}: {first_line(err)}. Start dockerd or set DOCKER_HOST."
        ) from err
    return client


@contextmanager
def engine_errors(action: str) -> Iterator[None]:
    """Turn a failure of the engine during action into DockerEngineError."""
    try:
        yield
    except ENGINE_FAILURES as err:
        raise DockerEngineError(
            f"The Docker engine failed to {action}: {first_line(err)}. Check that dockerd runs, then re-run."
        ) from err


def local_image(client: docker.DockerClient, reference: str) -> Any:
    """The local image named reference; says to run build_image when it is missing."""
    try:
        return client.images.get(reference)
    except docker.errors.ImageNotFound as err:
        raise ImageNotFoundError(
            f"No local image {reference}: run `python manage.py build_image --tag {reference}` first."
        ) from err
    except ENGINE_FAILURES as err:
        raise DockerEngineError(f"The Docker engine failed to inspect {reference}: {first_line(err)}") from err
