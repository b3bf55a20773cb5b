"""ecr_deploy outside this repository: the wheel, ecr_deploy_init, any settings layout, and a brand-new project
built, published and served through the local AWS."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import sysconfig
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import ROOT

HEALTH = "ecr_deploy.runtime.health.HealthCheckMiddleware"
from tests.web import request, wait_for


def test_the_wheel_holds_the_app_and_its_templates_and_nothing_of_this_project(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    code = {name.split("/")[0] for name in names if not name.startswith("django_ecr_deploy-")}
    assert code == {"ecr_deploy"}
    assert {
        "ecr_deploy/image/project_template/Dockerfile",
        "ecr_deploy/image/project_template/dockerignore",
        "ecr_deploy/image/project_template/infra/ecr.tf",
        "ecr_deploy/image/project_template/infra/variaveis.tf",
    } <= set(names)


def new_venv(where: Path) -> Path:
    """A new venv without pip; its site-packages folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    return Path(sysconfig.get_paths(vars={"base": str(where), "platbase": str(where)})["purelib"])


def with_wheel(where: Path, wheel: Path) -> Path:
    """The venv at where with the wheel installed (no dependencies); its python."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(where / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return where / "bin" / "python"


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A new venv with the wheel installed; Django, gunicorn, boto3 and docker-py come from this project's venv."""
    site = new_venv(where)
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return with_wheel(where, wheel)


def shipped_in(project: Path, wheel: Path, venv: Path) -> Path:
    """The wheel copied into the project's dist/ and installed from there into a fresh venv: its python."""
    (project / "dist").mkdir()
    shipped = project / "dist" / wheel.name
    shipped.write_bytes(wheel.read_bytes())
    return fresh_venv(venv, shipped)


def started_project(tmp_path: Path, name: str, wheel: Path) -> tuple[Path, Path, Path]:
    """`django-admin startproject NAME` of the Django that runs the tests, the wheel shipped in its dist/ and
    installed in a fresh venv, and the one line by hand: 'ecr_deploy' in INSTALLED_APPS. The project, its venv's
    python, its settings file."""
    subprocess.run([sys.executable, "-m", "django", "startproject", name], cwd=tmp_path, check=True)
    project = tmp_path / name
    python = shipped_in(project, wheel, tmp_path / "venv")
    settings = project / name / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            "'django.contrib.staticfiles',", "'django.contrib.staticfiles',\n    'ecr_deploy',"
        )
    )
    return project, python, settings


def run(python: Path, project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python manage.py ...` of the new project, as its developer runs it (our settings module unset)."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"} | (env or {})
    done = subprocess.run(
        [str(python), "manage.py", *args], cwd=project, capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.engine
@pytest.mark.each_django
def test_a_bare_new_project_is_initialised_built_published_and_served(
    tmp_path, wheel, local_aws, docker_client, running_container
):
    """startproject of the Django that runs the tests (`make matrix` runs it on each one), the wheel installed
    from the project's dist/, and one line by hand: 'ecr_deploy' in INSTALLED_APPS. ecr_deploy_init writes everything
    else, requirements.txt included; the page served says which Django it is."""
    project, python, settings = started_project(tmp_path, "loja", wheel)
    assert (
        str(tmp_path / "venv")
        in subprocess.run(
            [str(python), "-c", "import ecr_deploy; print(ecr_deploy.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    initialised = run(python, project, "ecr_deploy_init").stdout
    assert {"Dockerfile", ".dockerignore", "infra", "requirements.txt"} <= {path.name for path in project.iterdir()}
    from importlib import metadata

    pins = [
        f"Django=={metadata.version('Django')}",
        f"gunicorn=={metadata.version('gunicorn')}",
        f"./dist/{wheel.name}",
    ]
    assert [
        line for line in (project / "requirements.txt").read_text().splitlines() if not line.startswith("#")
    ] == pins
    assert f"requirements.txt: there was none; it pins {', '.join(pins)}." in initialised
    assert f"MIDDLEWARE: put '{HEALTH}' first" in initialised and "INSTALLED_APPS" not in initialised
    assert "Warning: the SQLite file db.sqlite3 lies in the code's folder" in initialised
    assert "STATIC_ROOT = BASE_DIR / 'staticfiles'" in initialised  # startproject has none
    assert settings.read_text().count("ecr_deploy") == 1  # the settings stay the user's
    name = f"loja-{uuid.uuid4().hex[:8]}"
    run(python, project, "build_image", "--tag", f"{name}:V1")
    published = run(python, project, "publish_ecr", "--repository", name, "--tag", "V1").stdout
    reference = published.strip().splitlines()[-1]
    uri, _, digest = reference.partition(":V1@")

    docker_client.images.remove(f"{name}:V1", force=True)
    docker_client.images.remove(f"{uri}:V1", force=True)
    auth = {"username": "AWS", "password": registry_password()}
    docker_client.api.pull(uri, tag=digest, auth_config=auth)
    _, url = running_container(f"{uri}@{digest}")
    assert wait_for(url, "/admin/login/", host="loja.example.test") == 200
    assert b"Django" in request(url, "/admin/login/", host="loja.example.test")[2]
    served = docker_client.containers.run(
        f"{uri}@{digest}", ["python", "-c", "import django; print(django.__version__)"], remove=True
    )
    assert served.decode().strip() == metadata.version("Django")


@pytest.mark.engine
def test_a_cookiecutter_shaped_project_is_built_with_its_own_requirements_and_served_with_production_settings(
    tmp_path, wheel, docker_client, running_container
):
    """A settings package read through django-environ, requirements/production.txt with a driver compiled from
    source (psycopg[c]), a front end built by package.json's build script, a developer's uploads, SQLite file,
    virtualenv and node_modules in the folder: init reads it as it is,
    the image builds with no runtime value, and serves the home page and its static files with
    config.settings.production, given the variables a deploy gives it."""
    from tests.test_project_shapes import COOKIECUTTER_LIKE, NODE_FRONT_END, make

    project = make(tmp_path / "vitrine", {**COOKIECUTTER_LIKE, **NODE_FRONT_END})
    (project / "dev.sqlite3").write_text("the developer's data")
    python = shipped_in(project, wheel, tmp_path / "venv")
    developer = {"DATABASE_URL": "sqlite:///dev.sqlite3"}  # what local settings read, as the developer's shell has
    initialised = run(python, project, "ecr_deploy_init", "--ecs", env=developer).stdout
    assert "Settings for the image: config.settings.production" in initialised
    name = f"vitrine-{uuid.uuid4().hex[:8]}:V1"
    run(python, project, "build_image", "--tag", name, env=developer)
    try:
        listing = docker_client.containers.run(
            name,
            [
                "sh",
                "-c",
                (
                    "ls -a /app /app/shop; for tool in gcc npm node; do command -v $tool || echo no-$tool; done; "
                    "python -c 'import psycopg; print(psycopg.pq.__impl__)'"
                ),
            ],
            remove=True,
            environment={"DJANGO_SECRET_KEY": "x"},
        ).decode()
        assert "media" not in listing and "dev.sqlite3" not in listing and "venv\n" not in listing
        assert "locale" in listing and "staticfiles" in listing and listing.endswith("c\n")
        assert "no-gcc\nno-npm\nno-node\n" in listing  # the build stages' tools stayed there
        assert "node_modules" not in listing and ".npmrc" not in listing
        _, url = running_container(
            name,
            environment={
                "DJANGO_SECRET_KEY": "a-runtime-secret-key-of-the-deploy-0123456789",
                "DATABASE_URL": "sqlite:////tmp/db.sqlite3",
                "DJANGO_ALLOWED_HOSTS": "vitrine.example.test",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_ADMIN_URL": "gestao/",
                "MAILGUN_API_KEY": "key",
                "MAILGUN_DOMAIN": "mg.example.test",
            },
        )
        assert wait_for(url, "/", host="vitrine.example.test") == 200
        assert b"<h1>Vitrine</h1>" in request(url, "/", host="vitrine.example.test")[2]
        status, _, css = request(url, "/static/shop.css", host="vitrine.example.test")
        assert (status, css) == (200, b"h1 { color: teal; }\n")  # the project serves none: WhiteNoise does
        status, _, script = request(url, "/static/bundles/app.js", host="vitrine.example.test")
        assert (status, script) == (200, b"CONSOLE.LOG('VITRINE');\n")  # npm's build, in the Node stage
    finally:
        docker_client.images.remove(name, force=True)


@pytest.mark.engine
def test_a_project_that_serves_asgi_runs_in_uvicorns_worker_under_gunicorn(
    tmp_path, wheel, docker_client, running_container
):
    """uvicorn among its dependencies: init adds uvicorn's gunicorn worker, and `manage.py serve` runs the project's
    asgi.py in it, with the collected static files served in front of it (the project has no WhiteNoise
    middleware, and WhiteNoise has no ASGI side)."""
    from importlib import metadata

    project, python, settings = started_project(tmp_path, "sala", wheel)
    (project / "requirements.txt").write_text(f"Django=={metadata.version('Django')}\nuvicorn==0.38.0\n")
    assert "STATIC_ROOT = BASE_DIR / 'staticfiles'" in run(python, project, "ecr_deploy_init").stdout
    settings.write_text(settings.read_text() + "STATIC_ROOT = BASE_DIR / 'staticfiles'\n")
    run(python, project, "ecr_deploy_init", "--force")
    assert "uvicorn-worker" in (project / "Dockerfile").read_text()
    name = f"sala-{uuid.uuid4().hex[:8]}:V1"
    run(python, project, "build_image", "--tag", name)
    try:
        _, url = running_container(name)
        assert wait_for(url, "/admin/login/", host="sala.example.test") == 200
        status, headers, _ = request(url, "/admin/login/", host="sala.example.test")
        assert status == 200 and headers.get("server") == "uvicorn"
        status, headers, css = request(url, "/static/admin/css/base.css", host="sala.example.test")
        assert status == 200 and headers.get("content-type", "").startswith("text/css") and b"{" in css
        assert request(url, "/static/admin/css/none.css", host="sala.example.test")[0] == 404
    finally:
        docker_client.images.remove(name, force=True)


@pytest.mark.engine
def test_a_uv_project_is_built_from_its_lock_and_served(tmp_path, wheel, docker_client, running_container):
    """A pyproject.toml with uv.lock (made here by `uv lock`): the build stage installs the lock's versions with
    `uv sync --frozen` into /venv, uv itself stays in that stage, and the image serves the project."""
    from importlib import metadata

    project, python, _ = started_project(tmp_path, "caixa", wheel)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "caixa"\nversion = "1"\nrequires-python = ">=3.11"\n'
        f'dependencies = ["Django=={metadata.version("Django")}", "sqlparse", "asgiref"]\n'
    )
    (project / ".python-version").write_text("3.13\n")
    uv = ROOT / ".venv" / "bin" / "uv"
    locked = subprocess.run(
        [str(uv), "lock", "--system-certs", "--python", sys.executable],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert locked.returncode == 0, locked.stderr
    initialised = run(python, project, "ecr_deploy_init").stdout
    assert "uv sync --frozen --no-dev" in initialised and not (project / "requirements.txt").exists()
    name = f"caixa-{uuid.uuid4().hex[:8]}:V1"
    run(python, project, "build_image", "--tag", name)
    try:
        listing = docker_client.containers.run(
            name,
            ["sh", "-c", "ls / /venv/bin; python -c 'import django; print(django.__version__)'"],
            remove=True,
        ).decode()
        assert "tools" not in listing.split() and "uv" not in listing.split()  # uv stayed in the build stage
        assert listing.strip().endswith(metadata.version("Django"))
        _, url = running_container(name)
        assert wait_for(url, "/admin/login/", host="caixa.example.test") == 200
    finally:
        docker_client.images.remove(name, force=True)


def registry_password() -> str:
    import base64

    import boto3

    token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().split(":", 1)[1]


@pytest.fixture
def bare_project(tmp_path, settings):
    """A folder with manage.py and requirements.txt, made BASE_DIR for this test."""
    (tmp_path / "manage.py").write_text("# manage.py\n")
    (tmp_path / "requirements.txt").write_text("Django>=5.2,<5.3\n")
    settings.BASE_DIR = tmp_path
    return tmp_path


def test_init_writes_the_dockerfile_dockerignore_and_infra(bare_project):
    out = io.StringIO()
    call_command("ecr_deploy_init", stdout=out)
    dockerfile = (bare_project / "Dockerfile").read_text()
    assert (
        "DJANGO_SETTINGS_MODULE=setup.settings" in dockerfile and 'CMD ["python", "manage.py", "serve"]' in dockerfile
    )
    assert "HEALTHCHECK" in dockerfile  # this project's settings have HealthCheckMiddleware
    assert (bare_project / ".dockerignore").read_text().startswith("# The build context carries only")
    assert (bare_project / "infra" / "ecr.tf").read_text() == (ROOT / "infra" / "ecr.tf").read_text()
    assert "Wrote Dockerfile" in out.getvalue()


def test_init_writes_the_ecs_service_files_when_asked(bare_project):
    call_command("ecr_deploy_init", stdout=io.StringIO())
    assert not (bare_project / "infra" / "ecs").exists()
    out = io.StringIO()
    call_command("ecr_deploy_init", "--ecs", stdout=out)
    written = sorted(path.name for path in (bare_project / "infra" / "ecs").iterdir())
    assert written == sorted(path.name for path in (ROOT / "infra" / "ecs").iterdir() if path.suffix in {".tf", ".hcl"})
    assert (bare_project / "infra" / "ecs" / "ecs.tf").read_text() == (ROOT / "infra" / "ecs" / "ecs.tf").read_text()
    assert "Wrote infra/ecs/alb.tf" in out.getvalue()


def test_dry_run_shows_what_it_would_write_and_writes_nothing(bare_project):
    out = io.StringIO()
    call_command("ecr_deploy_init", "--dry-run", stdout=out)
    assert "Dockerfile (new)" in out.getvalue() and "FROM ${BASE_IMAGE}" in out.getvalue()
    assert sorted(path.name for path in bare_project.iterdir()) == ["manage.py", "requirements.txt"]


def test_a_projects_own_dockerfile_and_dockerignore_are_kept_and_the_rest_is_written(bare_project):
    (bare_project / "Dockerfile").write_text("FROM scratch\n")
    (bare_project / ".dockerignore").write_text("media/\n")
    out = io.StringIO()
    call_command("ecr_deploy_init", stdout=out)
    assert (bare_project / "Dockerfile").read_text() == "FROM scratch\n"
    assert (bare_project / ".dockerignore").read_text() == "media/\n"
    assert (bare_project / "infra" / "ecr.tf").is_file() and (bare_project / ".gitignore").is_file()
    assert "Dockerfile: yours, kept (build_image builds it)" in out.getvalue()

    again = io.StringIO()
    call_command("ecr_deploy_init", "--dockerfile", "Dockerfile.ecr_deploy", stdout=again)
    assert (bare_project / "Dockerfile").read_text() == "FROM scratch\n"
    assert "FROM ${BASE_IMAGE} AS build" in (bare_project / "Dockerfile.ecr_deploy").read_text()
    assert "ECR_DEPLOY['DOCKERFILE'] = 'Dockerfile.ecr_deploy'" in again.getvalue()


def test_an_infra_file_that_differs_stops_init_and_nothing_is_written(bare_project):
    (bare_project / "infra").mkdir()
    (bare_project / "infra" / "ecr.tf").write_text("# mine\n")
    with pytest.raises(CommandError, match="ecr.tf: already there and different; nothing was written"):
        call_command("ecr_deploy_init", stdout=io.StringIO())
    assert sorted(path.name for path in bare_project.iterdir()) == ["infra", "manage.py", "requirements.txt"]


def test_force_shows_the_diff_then_overwrites(bare_project):
    (bare_project / "Dockerfile").write_text("FROM scratch\n")
    out = io.StringIO()
    call_command("ecr_deploy_init", "--force", stdout=out)
    assert "-FROM scratch" in out.getvalue() and "+FROM ${BASE_IMAGE}" in out.getvalue()
    assert "FROM ${BASE_IMAGE}" in (bare_project / "Dockerfile").read_text()


def test_a_project_without_requirements_gets_them_and_the_settings_lines_it_lacks(tmp_path, settings):
    from importlib import metadata

    (tmp_path / "manage.py").write_text("# manage.py\n")
    settings.BASE_DIR = tmp_path
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != HEALTH]
    out = io.StringIO()
    call_command("ecr_deploy_init", stdout=out)
    written = (tmp_path / "requirements.txt").read_text().splitlines()
    assert written[1:] == [
        f"Django=={metadata.version('Django')}",
        f"gunicorn=={metadata.version('gunicorn')}",
        f"django-ecr-deploy=={metadata.version('django-ecr-deploy')}",  # installed from a checkout, not a wheel
    ]
    assert "Wrote requirements.txt" in out.getvalue()
    assert (
        f"Your settings need (ecr_deploy_init never edits them):\n  MIDDLEWARE: put '{HEALTH}' first" in out.getvalue()
    )
    assert "HEALTHCHECK" not in (tmp_path / "Dockerfile").read_text()
    again = io.StringIO()
    call_command("ecr_deploy_init", stdout=again)  # the file it wrote is the project's now: left as it is
    assert (
        "Nothing to write" in again.getvalue() and (tmp_path / "requirements.txt").read_text().splitlines() == written
    )


def test_init_for_ecs_pins_the_postgresql_driver_of_the_rds_database(tmp_path, settings):
    from importlib import metadata

    (tmp_path / "manage.py").write_text("# manage.py\n")
    settings.BASE_DIR = tmp_path
    out = io.StringIO()
    call_command("ecr_deploy_init", "--ecs", stdout=out)
    assert f"psycopg[binary]=={metadata.version('psycopg')}" in (tmp_path / "requirements.txt").read_text()
    assert (tmp_path / "infra" / "ecs" / "banco.tf").is_file()
    assert "database_from_environment" not in out.getvalue()  # setup/settings.py already assembles it


def test_a_folder_that_is_not_a_django_project_is_refused(tmp_path, settings):
    settings.BASE_DIR = tmp_path
    with pytest.raises(CommandError, match="is not a Django project: it has no manage.py"):
        call_command("ecr_deploy_init", stdout=io.StringIO())
    assert list(tmp_path.iterdir()) == []


def test_settings_that_cannot_be_imported_get_one_clear_message(tmp_path):
    """manage.py stops on such settings before any app's command runs; `python -m ecr_deploy init` says why."""
    (tmp_path / "manage.py").write_text((ROOT / "manage.py").read_text())
    done = subprocess.run(
        [sys.executable, "-m", "ecr_deploy", "init"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "no_such_settings", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Cannot import the settings 'no_such_settings' (No module named 'no_such_settings')")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["manage.py"]


SPLIT_SETTINGS = {
    "shop/__init__.py": "",
    "shop/settings/__init__.py": "from .prod import *  # noqa\n",
    "shop/settings/prod.py": "from .base import *  # noqa\nDEBUG = False\n",
    "shop/settings/base.py": (
        "from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent.parent.parent\nSECRET_KEY = 'x' * 50\n"
        "ALLOWED_HOSTS = []\nINSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'ecr_deploy']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': BASE_DIR / 'db.sqlite3'}}\n"
        "USE_TZ = True\n"
    ),
}


def test_prepare_image_patches_split_settings_and_runs_without_fixtures(tmp_path):
    for name, text in SPLIT_SETTINGS.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "manage.py").write_text((ROOT / "manage.py").read_text())
    done = subprocess.run(
        [sys.executable, "manage.py", "prepare_image"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "PYTHONPATH": f"{tmp_path}:{ROOT}"},
    )
    assert done.returncode == 0, done.stderr
    assert "ALLOWED_HOSTS = ['*']" in (tmp_path / "shop" / "settings" / "base.py").read_text()
    assert (tmp_path / "shop" / "settings" / "prod.py").read_text() == SPLIT_SETTINGS["shop/settings/prod.py"]
    assert (tmp_path / "db.sqlite3").stat().st_size > 0


def venv_without_the_deploy_extra(where: Path, wheel: Path) -> Path:
    """A new venv with the wheel and Django only: boto3, docker-py and python-hcl2 are not importable."""
    site = new_venv(where)
    ours = Path(sysconfig.get_paths()["purelib"])
    for package in ("django", "asgiref", "sqlparse"):
        (site / package).symlink_to(ours / package)
    return with_wheel(where, wheel)


@pytest.mark.parametrize("command", ["publish_ecr", "deploy_ecs", "bootstrap_state"])
def test_a_command_without_the_deploy_extra_says_which_extra_to_install(tmp_path, wheel, command):
    python = venv_without_the_deploy_extra(tmp_path / "venv", wheel)
    subprocess.run([str(python), "-m", "django", "startproject", "loja"], cwd=tmp_path, check=True)
    project = tmp_path / "loja"
    settings = project / "loja" / "settings.py"
    settings.write_text(settings.read_text().replace("'django.contrib.staticfiles',", "'ecr_deploy',"))
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [str(python), "manage.py", command], cwd=project, capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 1
    assert "pip install 'django-ecr-deploy[deploy]'" in done.stderr
    assert "Traceback" not in done.stderr
