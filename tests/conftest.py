"""Fixtures: the local stand-in for AWS (brought up for real, never skipped) and throwaway project copies."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.registries import FaultRegistry, claim_region, remove_system_changes
from tests.secrets import TOKEN_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
#: The tests' screenshots; `make screenshots` copies the documentation's into docs/images/.
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"
LOCAL_AWS = ROOT / "scripts" / "local-aws"
ECR_PASSWORDS = ROOT / ".local-aws" / "ecr-passwords"


def project_files() -> list[str]:
    """The project's tracked and untracked-but-not-ignored files (links included), as a clean clone has them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file() or (ROOT / name).is_symlink()]


def copy_project(destination: Path) -> Path:
    """A copy of the project's files, as a clean clone would have."""
    for name in project_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)
    return destination


#: The locks and once-per-run markers that xdist workers share: this checkout's, never another's.
SERIAL_LOCK_DIR = ROOT / ".local-aws" / "test-locks"
MOTO_PID = ROOT / ".local-aws" / "moto.pid"
SERIAL_TESTS = pytest.StashKey[list]()
SERIAL_PHASE_SECONDS = 1200
#: The Route 53 hosted zone of the shared service's domains: it serves them over HTTPS.
ZONE = "example.com"


def pytest_configure(config: pytest.Config) -> None:
    """In-process tests get a random secret key, as `manage.py serve` gives a container (settings.py holds none),
    and Django's fast password hasher for test users (the image keeps the real one). Once per run (on the xdist
    controller, before any worker starts), a running local moto is reset: every run starts from an empty AWS, so
    the tenth run is as fast as the first (not by a run of the tests that need no engine: it never touches it)."""
    from django.conf import settings

    if not os.environ.get("DJANGO_SECRET_KEY"):
        settings.SECRET_KEY = secrets.token_urlsafe(50)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    config.option.loadscopereorder = False  # xdist hands out work in our order (below), not largest group first
    engine_tests_run = config.getoption("markexpr", "") != "not engine"  # noxfile.py's matrix
    if engine_tests_run and not hasattr(config, "workerinput") and MOTO_PID.is_file():
        subprocess.run([str(LOCAL_AWS), "reset"], check=False, capture_output=True)  # not running: up starts it empty
    SERIAL_LOCK_DIR.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def exclusive(name: str):
    """A lock that xdist workers of this checkout take in turn."""
    with open(SERIAL_LOCK_DIR / name, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


#: The groups of long chains (a stack provisioned, then used or destroyed), longest first, started as soon as the serial
#: tests end.
LONG_GROUPS = ("ecs-again", "destroy-keep", "destroy-rebuild", "release", "ecs", "destroy-delete")
SHORT_TESTS_AFTER_A_CHAIN = 2


def uses_local_aws(item: pytest.Item) -> bool:
    return "local_aws" in item.fixturenames


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the local AWS is an engine test (`-m "not engine"` leaves it out, as noxfile.py's Django
    matrix does). Serial tests stop or replace what every test shares (the engine, moto, the registry on 127.0.0.2):
    under xdist they go to one worker (the "serial" group, unless a test names its own) and run before any other test
    that uses the local AWS (see pytest_runtest_protocol). The order in which xdist hands out the work: the serial
    tests, the tests that use no shared service (they run meanwhile), the long chains, then the rest."""
    for item in items:
        if uses_local_aws(item) and not item.get_closest_marker("engine"):
            item.add_marker(pytest.mark.engine)
        if item.get_closest_marker("serial") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("serial"))

    def turn(item: pytest.Item) -> int:
        name = group_name(item)
        if item.get_closest_marker("serial"):
            return 0
        if not uses_local_aws(item):
            return 1
        return 2 + LONG_GROUPS.index(name) if name in LONG_GROUPS else 2 + len(LONG_GROUPS)

    items.sort(key=turn)
    # xdist gives a worker one more group while it holds at most two pending tests: two chains of one test next to
    # each other would go to one worker, the second waiting minutes behind the first. Two short tests after each
    # chain keep the chains on workers of their own.
    rest = [item for item in items if turn(item) == 2 + len(LONG_GROUPS)]
    ordered = [item for item in items if turn(item) < 2]
    for name in LONG_GROUPS:
        ordered += [item for item in items if group_name(item) == name] + rest[:SHORT_TESTS_AFTER_A_CHAIN]
        rest = rest[SHORT_TESTS_AFTER_A_CHAIN:]
    items[:] = ordered + rest


def group_name(item: pytest.Item) -> str:
    """The test's xdist group ("" when it has none)."""
    group = item.get_closest_marker("xdist_group")
    return group.args[0] if group and group.args else ""


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[SERIAL_TESTS] = [item.nodeid for item in session.items if item.get_closest_marker("serial")]


def serial_test_marker(config: pytest.Config, nodeid: str) -> Path:
    run_uid = config.workerinput["testrunuid"]
    return SERIAL_LOCK_DIR / f"serial-done-{run_uid}-{hashlib.sha256(nodeid.encode()).hexdigest()[:16]}"


def wait_for_the_serial_tests(config: pytest.Config) -> None:
    """Under xdist, until every serial test of this run has ended (each leaves a marker, passed or not); a worker
    that died in one is waited for at most SERIAL_PHASE_SECONDS, then the lock below still keeps them apart."""
    if not hasattr(config, "workerinput"):
        return  # one process: the serial tests come first in its order
    markers = [serial_test_marker(config, nodeid) for nodeid in config.stash[SERIAL_TESTS]]
    deadline = time.monotonic() + SERIAL_PHASE_SECONDS
    while not all(marker.is_file() for marker in markers) and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """A test that uses no shared service runs at once. The others: a readers-writer lock across xdist workers
    around each test, its fixtures included; a serial test waits for the running tests to end and holds the others
    off until it is done, and the turnstile keeps a waiting serial test from being starved."""
    serial = item.get_closest_marker("serial") is not None
    if not serial and not uses_local_aws(item):
        yield
        return
    if not serial:
        wait_for_the_serial_tests(item.config)
    with open(SERIAL_LOCK_DIR / "turnstile", "a") as turnstile, open(SERIAL_LOCK_DIR / "shared", "a") as shared:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(shared, fcntl.LOCK_EX if serial else fcntl.LOCK_SH)
        fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(shared, fcntl.LOCK_UN)
            if serial and hasattr(item.config, "workerinput"):
                serial_test_marker(item.config, item.nodeid).touch()


@pytest.fixture(scope="session")
def local_aws() -> dict[str, str]:
    """scripts/local-aws up (idempotent), then its `env` exported into this process; fails loudly when a piece is missing."""
    done = subprocess.run([str(LOCAL_AWS), "up"], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"scripts/local-aws up failed; the e2e tests need it:\n{done.stdout}{done.stderr}", pytrace=False)
    exports = subprocess.run([str(LOCAL_AWS), "env"], capture_output=True, text=True, check=True).stdout
    env = dict(
        line.removeprefix("export ").split("=", 1) for line in exports.splitlines() if line.startswith("export ")
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield env


@pytest.fixture(scope="session")
def docker_client(local_aws):
    from ecr_deploy.image.engine import engine

    return engine()


@pytest.fixture
def project_copy(tmp_path: Path, settings) -> Path:
    """A fresh copy of the project, made the build context of ECR_DEPLOY for this test."""
    copy = copy_project(tmp_path / "project")
    settings.ECR_DEPLOY = {"CONTEXT_DIR": str(copy)}
    return copy


@pytest.fixture(scope="session")
def project_image(docker_client, tmp_path_factory, testrun_uid) -> str:
    """The project built from a clean copy as producao-test:V1, once per run by the first worker to need it; the
    others wait for it, and nothing builds that tag again while tests read it."""
    from ecr_deploy.image.build import BuildRequest, build_image

    built = SERIAL_LOCK_DIR / f"project-image-{testrun_uid}"
    with exclusive("project-image.lock"):
        if not built.is_file():
            copy = copy_project(tmp_path_factory.mktemp("image") / "project")
            image = build_image(
                docker_client,
                BuildRequest(context_dir=copy, dockerfile="Dockerfile", tags=["producao-test:V1"]),
                output=lambda _: None,
            )
            built.write_text(image.image_id)
    return "producao-test:V1"


@pytest.fixture
def unique_image(docker_client, project_image, request) -> Callable[..., str]:
    """A new image (the project's plus one small layer) under a repository name unique to this test."""
    made: list[str] = []

    def make(name: str | None = None, tag: str = "V1", note: str = "", payload_bytes: int = 0) -> str:
        name = (
            name or re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].strip("-") + f"-{uuid.uuid4().hex[:6]}"
        )
        container = docker_client.containers.create(project_image, command=["true"])
        try:
            container.put_archive(
                "/tmp", _tar_of("note.txt", (note or uuid.uuid4().hex).encode() + os.urandom(payload_bytes))
            )
            container.commit(
                repository=name,
                tag=tag,
                changes=['CMD ["python", "manage.py", "serve"]'],
            )
        finally:
            container.remove(force=True)
        made.append(f"{name}:{tag}")
        return name

    yield make
    for reference in made:
        for image_tag in _tags_of(docker_client, reference):
            docker_client.images.remove(image_tag, force=True)


def _tags_of(docker_client, reference: str) -> list[str]:
    import docker.errors

    try:
        return docker_client.images.get(reference).tags
    except docker.errors.ImageNotFound:
        return []


def _tar_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def infra_copy(tmp_path: Path, settings) -> Path:
    """A copy of infra/ (fresh local state) made ECR_DEPLOY's TERRAFORM_DIR for this test."""
    copy = tmp_path / "infra"
    copy.mkdir()
    for tf in [*(ROOT / "infra").glob("*.tf"), ROOT / "infra" / ".terraform.lock.hcl"]:
        shutil.copy2(tf, copy / tf.name)
    settings.ECR_DEPLOY = {
        **getattr(settings, "ECR_DEPLOY", {}),
        "TERRAFORM_DIR": str(copy),
        "RETRY_BACKOFF_SECONDS": 0.5,
    }
    return copy


def local_state(infra: Path, repository: str, environment: str = "default") -> Path:
    """Where publish_ecr keeps the local state of one environment's repository."""
    return infra / "terraform.tfstate.d" / environment / f"{repository.replace('/', '+')}.tfstate"


def stack_of(infra: Path, repository: str, environment: str = "default", **request: object):
    """The Stack that publish_ecr runs for one environment's repository (its state and data directory)."""
    import boto3

    from ecr_deploy.workflows.publish import PublishRequest, stack_for

    return stack_for(
        PublishRequest(repository=repository, tag="V1", terraform_dir=infra, environment=environment, **request),
        boto3.Session(),
    )


def terraform_of(infra: Path, repository: str, environment: str = "default", **request: object):
    """The Terraform that publish_ecr runs for one environment's repository."""
    return stack_of(infra, repository, environment, **request).terraform


@pytest.fixture
def manage(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python manage.py ...` in a child process, as a user would, with ECR_DEPLOY given."""
    counter = iter(range(1_000_000))

    def run(
        *args: str,
        ecr_deploy: dict | None = None,
        env: dict | None = None,
        timeout: float = 600,
    ):
        module = f"run_settings_{next(counter)}"
        (tmp_path / f"{module}.py").write_text(f"from setup.settings import *\nECR_DEPLOY = {ecr_deploy or {}!r}\n")
        environ = {**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}", "DJANGO_SETTINGS_MODULE": module, **(env or {})}
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            check=False,
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def get_json(url: str, host: str = "localhost", attempts: int = 80) -> dict:
    """GET url as JSON, waiting for a starting server to answer."""
    request = urllib.request.Request(url, headers={"Host": host})
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def running_container(docker_client, request):
    """Run images detached with port 8000 on a free loopback port, returned once gunicorn listens; removed after
    the test. A failed test's report shows each container's state and log (see pytest_runtest_makereport)."""
    started = request.node.started_containers = []

    def run(image: str, **kwargs):
        container = docker_client.containers.run(image, detach=True, ports={"8000/tcp": ("127.0.0.1", None)}, **kwargs)
        started.append(container)
        listening_port(container)
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
        return container, f"http://127.0.0.1:{port}"

    yield run
    for container in started:
        container.remove(force=True)


def listening_port(container, seconds: float = 120, since: int | None = None) -> int:
    """The port gunicorn says it listens on, once its log (since a restart's Unix time, if given) says so: the app is loaded,
    as gunicorn preloads it. A container that stops first fails at once with its log; seconds only bounds a hang,
    it is not how long a start takes."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(rb"Listening at: http://0\.0\.0\.0:(\d+)", container.logs(since=since))
        if found:
            return int(found.group(1))
        container.reload()
        assert container.status in {"created", "running"}, container.logs().decode()
        time.sleep(0.1)
    raise AssertionError(f"gunicorn never said where it listens:\n{container.logs().decode()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A failed test's report gains the state, health and log tail of the containers it started."""
    report = (yield).get_result()
    if report.when != "call" or not report.failed:
        return
    for container in getattr(item, "started_containers", []):
        try:
            container.reload()
            state = container.attrs["State"]
            log = container.logs(tail=60, timestamps=True).decode(errors="replace")
            report.sections.append((f"container {container.short_id}", f"{json.dumps(state, indent=1)}\n{log}"))
        except Exception as err:  # noqa: BLE001 - a diagnostic must not hide the test's own failure
            report.sections.append((f"container {container.short_id}", f"not readable: {err}"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Once every test has run (on the xdist controller, or in a run without xdist): the fault registries'
    hosts lines and certificates go; while tests run they stay, since dockerd is slow to see /etc/hosts change."""
    if not hasattr(session.config, "workerinput"):
        remove_system_changes()


@pytest.fixture
def fault_registry(tmp_path_factory):
    """The ECR host of a region claimed for this test, served by a registry of the test's own (tests/registries.py).
    moto's tokens for that region carry the registry's password (see scripts/local_moto.py)."""
    region, claim = claim_region()
    made: list[FaultRegistry] = []

    def make(password: str = TOKEN_PASSWORD, read_only: bool = False) -> FaultRegistry:
        registry = FaultRegistry(tmp_path_factory.mktemp("fault-registry"), region, password, read_only=read_only)
        made.append(registry.start())
        return registry

    try:
        yield make
    finally:
        for registry in made:
            registry.stop()
        (ECR_PASSWORDS / region).unlink(missing_ok=True)
        claim.close()


def moto_hands_out(region: str, password: str) -> None:
    """From now on, GetAuthorizationToken in region gives password (scripts/local_moto.py reads this file)."""
    ECR_PASSWORDS.mkdir(parents=True, exist_ok=True)
    (ECR_PASSWORDS / region).write_text(password)


# The provisioned ECS service that tests/test_deploy_ecs.py and tests/test_operations.py share.


def run(command: str, *flags: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, "--json", *flags, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


#: The shared deploy tests' worker process: the course's Celery worker (setup/celery.py), on the service's queue.
WORKER_COMMAND = ["celery", "-A", "setup", "worker", "--loglevel", "INFO", "--queues", "default"]
#: The shared deploy tests' scheduled job, as the course's service would run one at night.
SCHEDULE = {
    "schedule": "cron(0 3 * * ? *)",
    "command": ["python", "manage.py", "clearsessions"],
    "timezone": "America/Sao_Paulo",
}
#: The ECS services that tests share, by their xdist group, each provisioned once per run: the deploy tests' serves
#: its domains over HTTPS and reads a secret of its own (EXTRA_SECRET: by a JSON key); the tests that provision theirs
#: again (minutes of terraform) get one on plain HTTP, from a repository whose path is longer than a service's name,
#: whose tasks get the database as DATABASE_URL.
SHARED_SERVICES = {
    "ecs": {
        "DOMAINS": ["clientes.example.com", "www.clientes.example.com"],
        "HOSTED_ZONE": ZONE,
        "PROCESSES": {"worker": {"command": WORKER_COMMAND, "queue": "default", "max": 3}},
        "QUEUES": ["default"],
        "SCHEDULES": {"limpeza": SCHEDULE},
    },
    # Settings that read their database from DATABASE_URL and their key from SECRET_KEY (cookiecutter-django's
    # and many projects' way); the course's settings read both ways.
    "ecs-again": {"DATABASE_VARIABLES": "url", "VARIABLES": {"SECRET_KEY": "SECRET_KEY"}},
}
EXTRA_SECRET = {"ecs": "EXTRA_TOKEN"}
#: The repository of a group, from its service's name: this one's path, cut to 26 characters, ends with a hyphen,
#: which AWS refuses in a load balancer's name (the derived name drops it).
LONG_REPOSITORIES = {"ecs-again": "{name}/acme12/api-v2"}
#: The groups whose service runs in a VPC of its own, as a usual one is: a public and a private subnet in one zone,
#: a public one in another (a load balancer takes one subnet per zone).
OWN_VPC = {"ecs-again"}


def own_vpc() -> dict:
    """A VPC with a public and a private subnet in its first zone and a public one in its second."""
    import boto3

    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as ECS tasks in a VPC want it
    first, second = [zone["ZoneName"] for zone in ec2.describe_availability_zones()["AvailabilityZones"][:2]]
    subnets = {}
    for role, zone, block in (("public_a", first, 1), ("private_a", first, 2), ("public_b", second, 3)):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{block}.0/24", AvailabilityZone=zone)["Subnet"]
        if role.startswith("public"):
            ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True})
        subnets[role] = subnet["SubnetId"]
    return {"vpc_id": vpc, "subnets": subnets}


#: The shared services made through lost answers: moto changes the rules of the security group named by its suffix,
#: then answers 500, and the provider's retry finds the change made (scripts/local_moto.py); tests/test_provision_again.py
#: reads the recovery in the provision's log.
LOST_RULE_ANSWERS = {"ecs-again": [("lose-authorize-answer", "banco"), ("lose-revoke-answer", "alb")]}


def service_group(item: pytest.Item) -> str:
    return name if (name := group_name(item)) in SHARED_SERVICES else "ecs"


@pytest.fixture
def service(request, local_aws, docker_client, project_image, tmp_path_factory, testrun_uid) -> dict:
    """The test's shared environment, published and provisioned once per test run and moto, whichever xdist worker
    comes first: its repository, image, state and ECS stack, and a second plan of it (the others read what it
    wrote). A serial test that restarts moto empties it; the next test here then makes the stack again. When the
    making fails, the group's other tests fail at once with its error, rather than each trying again for minutes."""
    group = service_group(request.node)
    described = SERIAL_LOCK_DIR / f"{group}-service-{testrun_uid}-moto-{MOTO_PID.read_text().strip()}.json"
    failed = described.with_suffix(".failed")
    with exclusive(f"{group}-provision.lock"):
        if described.is_file():
            return json.loads(described.read_text())
        if failed.is_file():
            pytest.fail(
                f"The shared {group} service failed to be made, in an earlier test:\n{failed.read_text()}",
                pytrace=False,
            )
        try:
            made = make_service(group, local_aws, docker_client, project_image, tmp_path_factory)
        except Exception as err:
            failed.write_text(f"{type(err).__name__}: {err}")
            raise
        described.write_text(json.dumps(made))
        return made


def make_service(group: str, local_aws: dict, docker_client, project_image: str, tmp_path_factory) -> dict:
    """Publish and provision a shared service of the group, then plan it again; what the tests read of it."""
    root = tmp_path_factory.mktemp(group)
    infra = root / "infra"
    shutil.copytree(ROOT / "infra", infra, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    name = f"{group}-{uuid.uuid4().hex[:8]}"
    repository = LONG_REPOSITORIES.get(group, "{name}").format(name=name)
    if repository != name:
        name = f"{name}-acme12"  # derived from the repository's path: see LONG_REPOSITORIES
    docker_client.images.get(project_image).tag(repository, "V1")
    if zone := SHARED_SERVICES[group].get("HOSTED_ZONE"):
        import boto3

        boto3.client("route53").create_hosted_zone(Name=zone, CallerReference=name)
    ecr_deploy = {
        "TERRAFORM_DIR": str(infra),
        "REPOSITORY": repository,
        "FIXTURES": ["clientes.json"],
        "ECS": {
            "TERRAFORM_DIR": str(infra / "ecs"),
            "TIMEOUT_SECONDS": 60,
            **SHARED_SERVICES[group],
            "BAKE_SECONDS": 0,  # the bake tests ask for theirs
            "TERRAFORM_VARS": {"max_tentativas": 2},
        },
    }
    vpc = own_vpc() if group in OWN_VPC else {}
    if vpc:
        ecr_deploy["ECS"]["TERRAFORM_VARS"]["vpc_id"] = vpc["vpc_id"]
    if secret_name := EXTRA_SECRET.get(group):
        import boto3

        extra = boto3.client("secretsmanager").create_secret(
            Name=f"{name}/extra", SecretString=json.dumps({"token": secrets.token_urlsafe(24)})
        )
        ecr_deploy["ECS"]["SECRETS"] = {secret_name: f"{extra['ARN']}:token::"}
    for fault, suffix in LOST_RULE_ANSWERS.get(group, []):
        asks = Path(local_aws["LOCAL_AWS_FAULTS"]) / fault
        asks.mkdir(parents=True, exist_ok=True)
        (asks / f"{name}-{suffix}").touch()
    with override_settings(ECR_DEPLOY=ecr_deploy):
        published, _ = run("publish_ecr")
        provisioned, provision_log = run("provision_ecs")
        # Planned again before any test deploys, rolls back or deregisters a revision on it.
        second_plan, second_plan_log = run("provision_ecs", "--plan", "--force-terraform", "--verbosity=2")
    return {
        "name": name,
        "repository": repository,
        "vpc": vpc,
        "ecr_deploy": ecr_deploy,
        "published": published,
        "provisioned": provisioned,
        "provision_log": provision_log,
        "second_plan": {"terraform_changes": second_plan["terraform_changes"], "log": second_plan_log},
    }


@pytest.fixture
def one_service_test_at_a_time(request, service, settings):
    """The tests share their service: each runs alone on it, whatever worker it is on."""
    with exclusive(f"{service_group(request.node)}-tests.lock"):
        settings.ECR_DEPLOY = service["ecr_deploy"]
        yield


def state_file(service: dict) -> Path:
    """The environment's local state of the service, as provision_ecs keeps it."""
    infra = Path(service["ecr_deploy"]["ECS"]["TERRAFORM_DIR"])
    return infra / "terraform.tfstate.d" / "default" / f"_ecs+{service['name']}.tfstate"


def applied_state(service: dict) -> str:
    return state_file(service).read_text()


def applied_outputs(service: dict) -> dict:
    return {name: output["value"] for name, output in json.loads(applied_state(service))["outputs"].items()}


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """django-ecr-deploy built from a clean copy of this tree (each xdist worker builds its own), as `pip wheel`
    or `python -m build` makes it."""
    source = copy_project(tmp_path_factory.mktemp("source") / "tree")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return next(out.glob("django_ecr_deploy-*.whl"))
