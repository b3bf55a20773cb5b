"""Fixtures: the local stand-in for AWS (brought up for real, never skipped) and throwaway project copies."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCAL_AWS = ROOT / "scripts" / "local-aws"


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def copy_project(destination: Path) -> Path:
    """A copy of the project's tracked and untracked-but-not-ignored files, as a clean clone would have."""
    for name in project_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return destination


@pytest.fixture(scope="session")
def local_aws() -> dict[str, str]:
    """scripts/local-aws up (idempotent), then its `env` exported into this process; fails loudly when a piece is missing."""
    done = subprocess.run([str(LOCAL_AWS), "up"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"scripts/local-aws up failed; the e2e tests need it:\n{done.stdout}{done.stderr}", pytrace=False)
    exports = subprocess.run([str(LOCAL_AWS), "env"], capture_output=True, text=True, check=True).stdout
    env = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines() if line.startswith("export "))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield env


@pytest.fixture(scope="session")
def docker_client(local_aws):
    from ecr_deploy.docker_build import engine

    return engine()


@pytest.fixture
def project_copy(tmp_path: Path, settings) -> Path:
    """A fresh copy of the project, made the build context of ECR_DEPLOY for this test."""
    copy = copy_project(tmp_path / "project")
    settings.ECR_DEPLOY = {"CONTEXT_DIR": str(copy)}
    return copy
