"""One command at a time per Terraform folder of a checkout. Each terraform run writes and removes the folder's
backend override, so two commands at once (publish_ecr, provision_ecs, deploy_ecs) would remove each other's; and a
publish that waited finds the other's work done. A thread that holds the lock may take it again."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecr_deploy.common import Output
from ecr_deploy.errors import LockError

LOCK_FILE = "ecr_deploy.lock"
#: The folders that this thread holds, with how many times it took each.
_local = threading.local()


@contextmanager
def folder_lock(directory: Path, holder: str, timeout_seconds: float, notice: Output) -> Iterator[None]:
    """Hold directory's lock as holder (a command's name); another holder waits, says so once, then stops with a
    message that names the command holding it."""
    path = directory / ".terraform" / LOCK_FILE
    _held: dict[Path, int] = _local.__dict__.setdefault("held", {})
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        _acquire(handle, path, holder, timeout_seconds, notice)
        _held[path] = 1
        try:
            handle.truncate(0)
            handle.write(f"{holder} (pid {os.getpid()})\n")
            handle.flush()
            yield
        finally:
            del _held[path]
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle, path: Path, holder: str, timeout_seconds: float, notice: Output) -> None:
    deadline = time.monotonic() + timeout_seconds
    waited = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            other = _holder_of(path)
            if time.monotonic() >= deadline:
                raise LockError(
                    f"Another {other} holds {path} and did not finish within {timeout_seconds:g}s; "
                    "wait for it, or raise ECR_DEPLOY['LOCK_TIMEOUT_SECONDS']."
                ) from None  # the BlockingIOError says nothing more
            if not waited:
                notice(f"Waiting for another {other} of this project (lock {path})...")
                waited = True
            time.sleep(0.2)


def _holder_of(path: Path) -> str:
    """The command that holds path, by the name it wrote; its first words only (the pid may be another host's)."""
    try:
        written = path.read_text().strip()
    except OSError:
        written = ""
    return written.split(" (pid", 1)[0] or "ecr_deploy command"
