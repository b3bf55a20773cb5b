"""Small helpers shared by the modules of ecr_deploy: progress callbacks, atomic writes, one-line errors, diffs,
step timings, and the registry credentials that the AWS side hands out and the image side uses."""

from __future__ import annotations

import base64
import difflib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

#: A progress callback: receives one line (or chunk) of text meant for the user.
Output = Callable[[str], None]
#: A layer-progress callback: (layer id, status, bytes done, bytes in all).
LayerOutput = Callable[[str, str, int, int], None]


def write_atomically(path: Path, data: bytes) -> None:
    """Replace path with data so that a reader never sees a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def first_line(err: BaseException) -> str:
    """The first line of an exception's text, or its type when it has none."""
    text = str(getattr(err, "explanation", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def unified_diff(old: str, new: str, name: str) -> str:
    """A git-style unified diff of one file's text, empty when nothing changes."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{name}", tofile=f"b/{name}"
        )
    )


@contextmanager
def timed(timings: dict[str, float], step: str) -> Iterator[None]:
    """Record in timings how long the block took, in seconds, under step."""
    started = time.monotonic()
    try:
        yield
    finally:
        timings[step] = round(time.monotonic() - started, 3)


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
