"""Shared set-up of the benchmarks: the project's venv, Django, the local AWS, a clean copy of the project."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def use_project_venv() -> None:
    """Re-run this script with the project's .venv and the local AWS environment."""
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])
    subprocess.run([ROOT / "scripts" / "local-aws", "up"], check=True, stdout=subprocess.DEVNULL)
    exports = subprocess.run([ROOT / "scripts" / "local-aws", "env"], check=True, capture_output=True, text=True).stdout
    for line in exports.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        os.environ[key] = value
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "setup.settings")
    import django

    django.setup()


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def course_base(client):
    """The local base image, also tagged python:3 so that the course's `FROM python:3` builds offline."""
    base = client.images.get("python:3.13-slim")
    if not any(tag == "python:3" for tag in base.tags):
        base.tag("python", "3")
    return base
