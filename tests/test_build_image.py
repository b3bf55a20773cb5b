"""build_image and prepare_image against the real Docker engine."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import ROOT, get_json

#: A tag of this xdist worker's own: other workers' tests read producao-test:V1 (conftest's project_image) while
#: these build.
TEST_TAG = f"producao-build-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}:V1"


def build(*flags: str) -> dict:
    out = io.StringIO()
    call_command("build_image", "--json", *flags, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def layer_of(docker_client, image_id: str, command_part: str) -> str:
    history = docker_client.images.get(image_id).history()
    return next(entry["Id"] for entry in history if command_part in entry["CreatedBy"])


@pytest.mark.engine
def test_built_image_serves_the_fixture_to_any_host(docker_client, project_copy, running_container):
    result = build("--tag", TEST_TAG)
    assert TEST_TAG in result["tags"] and result["image_id"].startswith("sha256:")
    _, url = running_container(TEST_TAG)
    body = get_json(f"{url}/clientes/", host="any-host.example")
    assert body["count"] == len(json.loads((project_copy / "clientes.json").read_text()))
    assert body["results"][0]["nome"] == "Ana Souza"


@pytest.mark.engine
def test_image_runs_with_debug_off_and_secret_key_from_the_environment(docker_client, project_copy):
    build("--tag", TEST_TAG)
    probe = (
        "from django.conf import settings; import django; django.setup(); print(settings.DEBUG, settings.SECRET_KEY)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "setup.settings", "DJANGO_SECRET_KEY": "from-the-env"}
    output = docker_client.containers.run(TEST_TAG, entrypoint=["python", "-c", probe], environment=env, remove=True)
    assert output.decode().split() == ["False", "from-the-env"]
    asked = docker_client.containers.run(
        TEST_TAG, entrypoint=["python", "-c", probe], environment={**env, "DJANGO_DEBUG": "1"}, remove=True
    )
    assert asked.decode().split()[0] == "True"


@pytest.mark.engine
def test_build_result_carries_oci_labels(docker_client, project_copy):
    result = build("--tag", TEST_TAG)
    labels = docker_client.images.get(TEST_TAG).labels
    assert labels == {**labels, **result["labels"]}
    assert labels["org.opencontainers.image.version"] == "V1"
    assert set(result["labels"]) >= {"org.opencontainers.image.revision", "org.opencontainers.image.source"}


@pytest.mark.engine
def test_code_only_change_reuses_the_dependency_layer(docker_client, project_copy):
    first = build("--tag", TEST_TAG)
    views = project_copy / "clientes" / "views.py"
    views.write_text(views.read_text() + "\n# a code-only change\n")
    second = build("--tag", TEST_TAG)
    assert second["image_id"] != first["image_id"]
    pip_layer = "pip install --no-cache-dir --require-hashes"
    assert layer_of(docker_client, first["image_id"], pip_layer) == layer_of(
        docker_client, second["image_id"], pip_layer
    )


@pytest.mark.engine
def test_unchanged_tree_rebuilds_to_the_same_image(docker_client, project_copy):
    assert build("--tag", TEST_TAG)["image_id"] == build("--tag", TEST_TAG)["image_id"]


@pytest.mark.engine
def test_image_carries_no_deploy_or_test_tooling(docker_client, project_copy):
    """ecr_deploy's deploy side and the tests' tools stay out; boto3 is in only as the API's own dependency (Celery's
    SQS broker, in requirements.lock), never from ecr_deploy's extras."""
    build("--tag", TEST_TAG)
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('boto3', 'docker', 'hcl2', 'lark', 'pytest', 'moto', 'nox') if u.find_spec(m)])"
    )
    output = docker_client.containers.run(TEST_TAG, entrypoint=["python", "-c", probe], remove=True)
    locked = (project_copy / "requirements.lock").read_text()
    assert output.decode().strip() == ("['boto3']" if "\nboto3==" in locked else "[]")


@pytest.mark.engine
def test_context_leaves_out_venv_git_state_and_secrets(docker_client, project_copy):
    (project_copy / ".venv" / "lib").mkdir(parents=True)
    (project_copy / ".venv" / "lib" / "big.bin").write_bytes(b"x" * 1_000_000)
    (project_copy / ".env").write_text("AWS_SECRET_ACCESS_KEY=do-not-ship\n")
    (project_copy / "infra").mkdir(exist_ok=True)
    (project_copy / "infra" / "terraform.tfstate").write_text("{}")
    result = build("--tag", TEST_TAG)
    assert result["context_bytes"] < 1_000_000  # the left-out .venv file alone is 1 MB
    listing = (
        docker_client.containers.run(TEST_TAG, entrypoint=["ls", "-a", "/home/ubuntu/tcc"], remove=True)
        .decode()
        .split()
    )
    assert not {".venv", ".env", "infra", ".git", "tests"} & set(listing)
    assert {"manage.py", "clientes", "setup", "ecr_deploy", "data", "staticfiles"} <= set(listing)


@pytest.mark.engine
def test_human_output_ends_with_id_size_and_tags(docker_client, project_copy):
    out = io.StringIO()
    call_command("build_image", "--tag", TEST_TAG, stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("Built sha256:") and "MB" in last and TEST_TAG in last


@pytest.mark.engine
def test_verbosity_0_prints_nothing(docker_client, project_copy):
    out = io.StringIO()
    call_command("build_image", "--tag", TEST_TAG, verbosity=0, stdout=out)
    assert out.getvalue() == ""


@pytest.mark.engine
def test_failing_step_names_the_step_and_shows_its_output(docker_client, tmp_path, settings):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.13-slim\nRUN echo preparing\nRUN echo 'the real reason' && exit 3\n"
    )
    settings.ECR_DEPLOY = {"CONTEXT_DIR": str(tmp_path)}
    with pytest.raises(CommandError) as raised:
        call_command("build_image", "--tag", "failing:V1", stdout=io.StringIO())
    message = str(raised.value)
    assert re.search(r"Step 3/\d+ : RUN echo 'the real reason' && exit 3", message)
    assert "the real reason" in message and "non-zero code: 3" in message


@pytest.mark.engine
def test_a_bad_fixture_fails_the_build_at_prepare_image_and_tags_nothing(docker_client, project_copy):
    (project_copy / "clientes.json").write_text('[{"model": "clientes.nada", "pk": 1, "fields": {}}]')
    with pytest.raises(CommandError) as raised:
        call_command("build_image", "--tag", "bad-fixture:V1", stdout=io.StringIO())
    message = str(raised.value)
    assert re.search(r"Step \d+/\d+ : RUN install -d data\s+&& python manage.py prepare_image", message)
    assert "nothing was loaded" in message and "Traceback" not in message
    assert not docker_client.images.list(name="bad-fixture")


@pytest.mark.engine
def test_missing_dockerfile_is_reported(docker_client, tmp_path, settings):
    settings.ECR_DEPLOY = {"CONTEXT_DIR": str(tmp_path)}
    with pytest.raises(CommandError, match="No Dockerfile at"):
        call_command("build_image", stdout=io.StringIO())


def test_engine_down_is_reported_with_docker_host(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(CommandError, match="Cannot reach the Docker engine at unix:///nonexistent/docker.sock"):
        call_command("build_image", stdout=io.StringIO())


@pytest.mark.parametrize(
    "tag", ["Producao:V1", "producao", "producao:", "producao:-x", "producao:" + "v" * 129, "pro duc:V1"]
)
def test_bad_tag_is_refused_before_the_engine_is_called(monkeypatch, tag):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(CommandError, match="Invalid"):
        call_command("build_image", "--tag", tag, stdout=io.StringIO())


def test_build_arg_without_equals_is_refused(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(CommandError, match="must be KEY=VALUE"):
        call_command("build_image", "--build-arg", "BASE_IMAGE", stdout=io.StringIO())


def test_base_image_given_twice_is_refused(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(CommandError, match="Give the base image once"):
        call_command("build_image", "--base-image", "a:1", "--build-arg", "BASE_IMAGE=b:2", stdout=io.StringIO())


def run_manage(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], check=False, cwd=project, capture_output=True, text=True
    )


def count_clientes(project: Path) -> int:
    done = run_manage(project, "shell", "-c", "from clientes.models import Cliente; print(Cliente.objects.count())")
    return int(done.stdout.split()[-1])


def test_prepare_image_patches_migrates_and_loads(tmp_path):
    from tests.conftest import copy_project

    project = copy_project(tmp_path / "p")
    done = run_manage(project, "prepare_image")
    assert done.returncode == 0, done.stderr
    assert "ALLOWED_HOSTS = ['*']" in (project / "setup" / "settings.py").read_text()
    assert count_clientes(project) == 36


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("this is not json", "nothing was loaded"),
        ('[{"model": "clientes.nada", "pk": 1, "fields": {}}]', "nothing was loaded"),
        (
            (
                '[{"model": "clientes.cliente", "pk": 1, "fields": {"nome": "Ana", "email": "a@b.com"}},'
                ' {"model": "clientes.cliente", "pk": 2, "fields": {"nome": null, "email": "b@b.com"}}]'
            ),
            "nothing was loaded",
        ),
    ],
    ids=["not-json", "unknown-model", "constraint"],
)
def test_prepare_image_with_a_bad_fixture_fails_clearly_and_loads_nothing(tmp_path, fixture, message):
    from tests.conftest import copy_project

    project = copy_project(tmp_path / "p")
    (project / "clientes.json").write_text(fixture)
    done = run_manage(project, "prepare_image")
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert count_clientes(project) == 0


def test_commands_that_run_in_the_image_import_only_django():
    probe = (
        "import django, sys; django.setup();"
        "from django.core.management import load_command_class as l;"
        "[l('ecr_deploy', c) for c in ('patch_allowed_hosts', 'prepare_image', 'build_image', 'publish_ecr', 'serve')];"
        "print(sorted(m for m in ('boto3', 'docker', 'hcl2', 'botocore') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "setup.settings", "PATH": ""},
    )
    assert done.stdout.strip() == "[]", done.stderr
