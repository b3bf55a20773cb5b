"""Faults produced for real: engine, registry, ECR API and terraform stopped or killed mid-way, expired or
refused credentials, and two publishes at once. Each is followed by a plain re-run that converges."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.aws.ecr import EcrApi
from ecr_deploy.errors import RegistryError
from ecr_deploy.image.registry import EcrRegistry
from tests.conftest import LOCAL_AWS, ROOT, local_state, moto_hands_out, terraform_of
from tests.secrets import AWS_SECRET, assert_no_secrets

pytestmark = pytest.mark.engine

MAIN_REGISTRY_DATA = ROOT / ".local-aws" / "registry-data"


@pytest.fixture(autouse=True)
def distinctive_aws_secret(local_aws, monkeypatch):
    """An AWS secret that can be searched for in every output (moto accepts any)."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)


class Watched(io.StringIO):
    """A stream that keeps what is written and, the first time a text appears in it, calls that text's hook:
    a test acts at an exact step of a publish (its progress lines) without waiting on timers."""

    def __init__(self, hooks: dict[str, Callable[[], None]]) -> None:
        super().__init__()
        self.hooks = dict(hooks)

    def write(self, text: str) -> int:
        written = super().write(text)
        for trigger in [t for t in self.hooks if t in text]:
            self.hooks.pop(trigger)()
        return written


class Publish:
    """publish_ecr --json through call_command, optionally in a thread, with everything it printed kept;
    hooks run when their text first appears in the progress (stderr)."""

    def __init__(self, *flags: str, hooks: dict[str, Callable[[], None]] | None = None) -> None:
        self.flags = flags
        self.out, self.err = io.StringIO(), Watched(hooks or {})
        self.error: CommandError | None = None
        self.result: dict | None = None
        self.thread = threading.Thread(target=self.run)

    def run(self) -> Publish:
        try:
            call_command("publish_ecr", "--json", *self.flags, stdout=self.out, stderr=self.err)
            self.result = json.loads(self.out.getvalue())
        except CommandError as err:
            self.error = err
        assert_no_secrets(self.out.getvalue(), self.err.getvalue(), str(self.error or ""))
        return self

    def start(self) -> Publish:
        self.thread.start()
        return self

    def join(self, timeout: float = 300) -> Publish:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "publish_ecr did not finish"
        return self


def wait_until(condition, seconds: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def upload_started(data_dir: Path, repository: str) -> bool:
    uploads = data_dir / "docker" / "registry" / "v2" / "repositories" / repository / "_uploads"
    return uploads.is_dir() and any(uploads.iterdir())


def engine_pid() -> int:
    pid_file = ROOT / ".local-aws" / "dockerd.pid"
    if not pid_file.exists():
        pytest.fail(
            "this fault test stops the Docker engine: it needs the one scripts/local-aws started (no dockerd.pid)",
            pytrace=False,
        )
    return int(pid_file.read_text())


def stop_engine(crash: bool = False) -> None:
    """Stop dockerd: politely, or as a crash (SIGKILL to it and its containerd, in-flight requests cut)."""
    pid = engine_pid()
    doomed = [pid, *children_of(pid)] if crash else [pid]
    for each in doomed:
        os.kill(each, signal.SIGKILL if crash else signal.SIGTERM)
    for each in doomed:
        wait_until(lambda pid=each: not Path(f"/proc/{pid}").exists() or "Z" in _state(pid), 60, "dockerd to stop")


def _state(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def local_aws_up() -> None:
    done = subprocess.run([str(LOCAL_AWS), "up"], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def registry_holds(data_dir: Path, repository: str, digest: str) -> bool:
    """True when the registry's storage holds the manifest: read from its disk, not through our code."""
    revisions = (
        data_dir / "docker" / "registry" / "v2" / "repositories" / repository / "_manifests" / "revisions" / "sha256"
    )
    return (revisions / digest.removeprefix("sha256:")).is_dir()


def in_its_region(registry, name: str) -> tuple[str, ...]:
    """publish_ecr's flags for a push fault: the repository made beforehand in the fault registry's region, and
    --skip-terraform (the fault is in the push; terraform's own runs are covered elsewhere and cost CPU)."""
    boto3.client("ecr", region_name=registry.region).create_repository(repositoryName=name)
    return ("--repository", name, "--region", registry.region, "--skip-terraform")


@pytest.mark.serial
def test_engine_stopped_before_a_build_fails_clearly_then_a_rerun_builds(project_copy, docker_client):
    stop_engine()
    try:
        with pytest.raises(CommandError, match="Cannot reach the Docker engine"):
            call_command("build_image", "--tag", "fault-engine-build:V1", stdout=io.StringIO())
    finally:
        local_aws_up()
    out = io.StringIO()
    call_command("build_image", "--tag", "fault-engine-build:V1", stdout=out)
    assert "Built sha256:" in out.getvalue()
    docker_client.images.remove("fault-engine-build:V1")


@pytest.mark.serial
def test_engine_stopped_during_a_push_fails_clearly_then_a_rerun_converges(infra_copy, unique_image):
    name = unique_image(payload_bytes=150_000_000)
    publish = Publish("--repository", name).start()
    try:
        wait_until(lambda: upload_started(MAIN_REGISTRY_DATA, name), what="the push to start")
        stop_engine(crash=True)
        publish.join()
    finally:
        local_aws_up()
    assert publish.error is not None and "Docker engine" in str(publish.error)
    again = Publish("--repository", name).run()
    assert again.error is None, again.error
    assert "terraform (unchanged)" in again.result["skipped"]
    assert registry_holds(MAIN_REGISTRY_DATA, name, again.result["digest"])


def test_registry_stopped_mid_upload_and_back_at_once_the_push_completes(
    infra_copy, unique_image, fault_registry, settings
):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "PUSH_ATTEMPTS": 5, "RETRY_BACKOFF_SECONDS": 1.0}
    registry = fault_registry()
    name = unique_image(payload_bytes=150_000_000)
    flags = in_its_region(registry, name)
    publish = Publish(*flags).start()
    wait_until(lambda: upload_started(registry.state / "data", name), what="the push to start")
    registry.stop()
    time.sleep(1.0)
    registry.start()
    publish.join()
    assert publish.error is None, publish.error
    assert registry_holds(registry.state / "data", name, publish.result["digest"])


def test_registry_down_past_the_engine_retries_and_back_during_our_backoff_the_publish_retries_and_succeeds(
    infra_copy, unique_image, fault_registry, settings
):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "PUSH_ATTEMPTS": 4, "RETRY_BACKOFF_SECONDS": 1.0}
    registry = fault_registry()
    name = unique_image()
    flags = in_its_region(registry, name)
    publish = Publish(
        *flags,
        hooks={
            "Image: pushing": registry.stop,  # the engine's own request fails: it has nothing left to retry
            "retrying in": registry.start,  # back while publish_ecr waits before its next attempt
        },
    ).run()
    assert publish.error is None, publish.error
    assert publish.result["push_attempts"] >= 2
    assert f"The push of {registry.host}/{name}:V1 failed (" in publish.err.getvalue()
    assert "connection refused" in publish.err.getvalue()
    assert registry_holds(registry.state / "data", name, publish.result["digest"])


def test_registry_gone_for_good_fails_clearly_after_our_attempts_then_a_rerun_converges(
    infra_copy, unique_image, fault_registry, settings
):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "PUSH_ATTEMPTS": 3, "RETRY_BACKOFF_SECONDS": 0.2}
    registry = fault_registry()
    name = unique_image()
    flags = in_its_region(registry, name)
    publish = Publish(*flags, hooks={"Image: pushing": registry.stop}).run()
    assert publish.error is not None
    assert f"The push of {registry.host}/{name}:V1 failed after 3 attempts: " in str(publish.error)
    assert "connection refused" in str(publish.error)
    registry.start()
    again = Publish(*flags).run()
    assert again.error is None, again.error
    assert registry_holds(registry.state / "data", name, again.result["digest"])


def test_a_password_rotated_mid_run_is_fetched_again_once_and_the_push_succeeds(
    infra_copy, unique_image, fault_registry
):
    registry = fault_registry()
    name = unique_image()
    flags = in_its_region(registry, name)

    def rotate() -> None:
        registry.rotate_password("rotated-registry-password")
        moto_hands_out(registry.region, "rotated-registry-password")

    publish = Publish(*flags, hooks={"Image: pushing": rotate}).run()
    assert publish.error is None, publish.error
    progress = publish.err.getvalue()
    assert progress.count("The registry refused the credentials; fetching a new authorization token.") == 1
    assert "rotated-registry-password" not in progress + publish.out.getvalue()
    assert registry_holds(registry.state / "data", name, publish.result["digest"])


def test_a_wrong_registry_password_is_reported_clearly(infra_copy, unique_image, fault_registry):
    registry = fault_registry(password="not-what-ecr-hands-out")
    name = unique_image()
    flags = in_its_region(registry, name)
    publish = Publish(*flags).run()
    assert publish.error is not None
    assert "refused the credentials from GetAuthorizationToken" in str(publish.error)


def test_a_refused_push_is_reported_clearly_and_not_retried(infra_copy, unique_image, fault_registry, settings):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "PUSH_ATTEMPTS": 4, "RETRY_BACKOFF_SECONDS": 5.0}
    registry = fault_registry(read_only=True)
    name = unique_image()
    flags = in_its_region(registry, name)
    publish = Publish(*flags).run()
    assert publish.error is not None
    message = str(publish.error)
    assert f"The push of {registry.host}/{name}:V1 failed: " in message
    assert "after" not in message and "retrying in" not in publish.err.getvalue()


def test_a_refused_credential_is_refreshed_once_then_reported(local_aws, docker_client, unique_image, fault_registry):
    registry = fault_registry(password="not-what-ecr-hands-out")
    ecr = boto3.client("ecr", region_name=registry.region)
    token_calls = []
    ecr.meta.events.register("after-call.ecr.GetAuthorizationToken", lambda **_: token_calls.append(1))
    uri = ecr.create_repository(repositoryName=unique_image())["repository"]["repositoryUri"]
    name = uri.partition("/")[2]
    docker_client.images.get(f"{name}:V1").tag(uri, "V1")
    notices = []
    with pytest.raises(RegistryError) as refused:
        EcrRegistry(docker_client, EcrApi(ecr).authorization, attempts=3, backoff_seconds=0.1).push(
            uri, "V1", lambda *_: None, notices.append
        )
    assert len(token_calls) == 2
    assert notices == ["The registry refused the credentials; fetching a new authorization token."]
    assert_no_secrets(str(refused.value))


def test_an_expired_token_is_fetched_again_and_the_push_goes_on(local_aws, docker_client, unique_image):
    ecr = boto3.client("ecr")
    token_calls = []
    ecr.meta.events.register("after-call.ecr.GetAuthorizationToken", lambda **_: token_calls.append(1))
    uri = ecr.create_repository(repositoryName=unique_image())["repository"]["repositoryUri"]
    docker_client.images.get(f"{uri.partition('/')[2]}:V1").tag(uri, "V1")
    api = EcrApi(ecr)
    registry = EcrRegistry(docker_client, api.authorization)
    issued = api.authorization()
    # A fake clock for a fault that cannot be produced here: the token expired an hour ago.
    now = datetime.now(timezone.utc)
    api._auth = dataclasses.replace(issued, expires_at=now - timedelta(hours=1))
    report = registry.push(uri, "V1", lambda *_: None, lambda _: None)
    assert len(token_calls) == 2
    assert registry.authorization().expires_at > now + timedelta(hours=11)
    assert report.digest == registry.remote_digest(uri, "V1")


@pytest.fixture
def second_moto(tmp_path):
    """A moto of the test's own on a free port, so that stopping it leaves the session's moto alone."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    processes = []

    def start() -> None:
        with open(tmp_path / "moto.log", "a") as log:
            processes.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                    stdout=log,
                    stderr=log,
                )
            )
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/moto-api/"), 30, "moto to start")

    def stop() -> None:
        processes[-1].terminate()
        processes[-1].wait(10)

    yield f"http://127.0.0.1:{port}", start, stop
    for process in processes:
        if process.poll() is None:
            process.terminate()


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
        return True
    except OSError:
        return False


def test_ecr_api_down_fails_clearly_and_changes_nothing_then_a_rerun_converges(
    infra_copy, unique_image, second_moto, monkeypatch
):
    endpoint, start, stop = second_moto
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    start()
    stop()
    name = unique_image()
    down = Publish("--repository", name).run()
    assert down.error is not None and "Cannot reach the AWS API" in str(down.error) and endpoint in str(down.error)
    assert not list(infra_copy.glob("*.tfstate*"))
    start()
    again = Publish("--repository", name).run()
    assert again.error is None, again.error
    assert again.result["repository_uri"].endswith(f"/{name}")


def terraform_apply_pids(directory: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if argv[0].endswith(b"terraform") and b"apply" in argv and Path(os.readlink(proc / "cwd")) == directory:
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def children_of(pid: int) -> list[int]:
    children = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return children


def test_terraform_killed_mid_apply_keeps_the_state_readable_and_a_rerun_converges(local_aws, infra_copy, unique_image):
    name = unique_image()
    asks = Path(local_aws["LOCAL_AWS_FAULTS"]) / "hold-create-answer"
    asks.mkdir(parents=True, exist_ok=True)
    (asks / name).touch()  # moto creates the repository, then holds its answer until NAME.held is removed
    held = asks / f"{name}.held"
    publish = Publish("--repository", name).start()
    try:
        wait_until(held.exists, what="the provider's CreateRepository to reach moto")
        for pid in terraform_apply_pids(infra_copy):
            for doomed in [pid, *children_of(pid)]:  # terraform and its provider plugin, as an OOM kill would
                os.kill(doomed, signal.SIGKILL)
    finally:
        held.unlink(missing_ok=True)
    publish.join()
    assert publish.error is not None and "terraform apply failed (exit -9)" in str(publish.error)
    for state in (infra_copy / "terraform.tfstate.d").rglob("*.tfstate"):
        text = state.read_text()
        assert text == "" or json.loads(text)["version"] == 4  # empty: terraform had only taken its lock
    again = Publish("--repository", name).run()
    assert again.error is None, again.error
    assert terraform_of(infra_copy, name).managed_resources() >= {"aws_ecr_repository.repositorio"}
    assert boto3.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]


def publish_twice_at_once(name: str, infra: Path) -> tuple[Publish, Publish]:
    """Start a publish, and a second one once the first holds the lock (its terraform runs)."""
    first = Publish("--repository", name).start()
    wait_until(
        lambda: terraform_apply_pids(infra) or first.result or first.error, what="the first publish to take the lock"
    )
    second = Publish("--repository", name).run()
    first.join()
    return first, second


def test_two_publishes_at_once_the_second_stops_with_a_clear_message(infra_copy, unique_image, settings):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "LOCK_TIMEOUT_SECONDS": 0.5}
    name = unique_image()
    first, second = publish_twice_at_once(name, infra_copy)
    assert first.error is None, first.error
    assert second.error is not None and "Another publish_ecr holds" in str(second.error)
    json.loads(local_state(infra_copy, name).read_text())


def test_two_publishes_at_once_the_second_waits_then_has_nothing_to_do(infra_copy, unique_image, settings):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "LOCK_TIMEOUT_SECONDS": 120}
    first, second = publish_twice_at_once(unique_image(), infra_copy)
    assert first.error is None and second.error is None, (first.error, second.error)
    assert "Waiting for another publish_ecr" in second.err.getvalue()
    assert second.result["skipped"] == ["terraform (unchanged)", "push (registry already holds the image)"]
    assert second.result["digest"] == first.result["digest"]
