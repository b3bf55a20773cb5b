"""ecr_deploy_init on projects of the shapes real ones have, each made here in a few files: a settings package read
through django-environ (cookiecutter-django's), a requirements folder, a uv project, a poetry project, a compiled
dependency, its own Dockerfile. What it reads of each, and what it writes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.image import project_scan
from tests.conftest import ROOT

HEALTH = "ecr_deploy.runtime.health.HealthCheckMiddleware"

BASE = """\
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
APPS_DIR = BASE_DIR / "shop"
env = environ.Env()
DEBUG = env.bool("DJANGO_DEBUG", False)
DATABASES = {"default": env.db("DATABASE_URL")}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "ecr_deploy",
    "shop",
]
MIDDLEWARE = [
    "ecr_deploy.runtime.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
STATIC_URL = "/static/"
STATIC_ROOT = str(BASE_DIR / "staticfiles")
STATICFILES_DIRS = [str(APPS_DIR / "static")]
MEDIA_ROOT = str(APPS_DIR / "media")
LOCALE_PATHS = [str(BASE_DIR / "locale")]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(APPS_DIR / "templates")],
        "APP_DIRS": True,
    }
]
USE_TZ = True
"""

PRODUCTION = """\
from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["shop.example.com"])
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
ADMIN_URL = env("DJANGO_ADMIN_URL")
ANYMAIL = {"MAILGUN_API_KEY": env("MAILGUN_API_KEY"), "MAILGUN_SENDER_DOMAIN": env("MAILGUN_DOMAIN")}
"""

#: A project as cookiecutter-django makes one (its requirements/ layout), cut to what the tool reads.
COOKIECUTTER_LIKE = {
    "manage.py": (
        "import os\nimport sys\n\nif __name__ == '__main__':\n"
        "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.local')\n"
        "    from django.core.management import execute_from_command_line\n\n"
        "    execute_from_command_line(sys.argv)\n"
    ),
    "config/__init__.py": "",
    "config/settings/__init__.py": "",
    "config/settings/base.py": BASE,
    "config/settings/local.py": (
        "from .base import *  # noqa: F403\nfrom .base import env\n\nDEBUG = True\n"
        'SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only")\nALLOWED_HOSTS = ["*"]\n'
    ),
    "config/settings/production.py": PRODUCTION,
    "config/urls.py": (
        "from django.urls import path\nfrom django.views.generic import TemplateView\n\n"
        'urlpatterns = [path("", TemplateView.as_view(template_name="home.html"))]\n'
    ),
    "config/wsgi.py": ("from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n"),
    "shop/__init__.py": "",
    "shop/templates/home.html": "<h1>Vitrine</h1>\n",
    "shop/static/shop.css": "h1 { color: teal; }\n",
    "shop/media/upload.jpg": "a developer's local upload\n",
    "locale/pt_BR/LC_MESSAGES/django.po": 'msgid ""\nmsgstr ""\n',
    ".python-version": "3.13\n",
    "requirements/base.txt": "django>=4.2\ndjango-environ==0.12.0  # settings\n",
    "requirements/local.txt": "-r base.txt\ndjango-debug-toolbar\n",
    "requirements/production.txt": "-r base.txt\n\ngunicorn==23.0.0\npsycopg[c]==3.2.9\n",
    "venv/pyvenv.cfg": "home = /usr/bin\n",
    "venv/lib/python3.13/site-packages/shop_helpers/__init__.py": "",
}


#: cookiecutter-django's S3 variant (cloud_provider AWS, no WhiteNoise): its production settings read the bucket,
#: the region and a pair of access keys from the environment, and keep the uploads and the static files on S3.
S3_PRODUCTION = (
    PRODUCTION
    + """
AWS_ACCESS_KEY_ID = env("DJANGO_AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env("DJANGO_AWS_SECRET_ACCESS_KEY")
AWS_STORAGE_BUCKET_NAME = env("DJANGO_AWS_STORAGE_BUCKET_NAME")
AWS_QUERYSTRING_AUTH = False
AWS_S3_REGION_NAME = env("DJANGO_AWS_S3_REGION_NAME", default=None)
STORAGES = {
    "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"location": "media", "file_overwrite": False}},
    "staticfiles": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"location": "static"}},
}
"""
)
COOKIECUTTER_S3 = {
    **COOKIECUTTER_LIKE,
    "config/settings/production.py": S3_PRODUCTION,
    "requirements/production.txt": "-r base.txt\n\ngunicorn==23.0.0\npsycopg[binary]==3.2.9\ndjango-storages[s3]==1.14.6\n",
}


#: A front end that package.json's build script makes (as cookiecutter-django's webpack option does): sources in
#: assets/, the build's configuration in webpack/, its output in the static folder that collectstatic reads.
NODE_FRONT_END = {
    "package.json": '{"name": "vitrine", "private": true, "scripts": {"build": "node webpack/build.js"}}\n',
    "package-lock.json": (
        '{"name": "vitrine", "lockfileVersion": 3, "requires": true, "packages": {"": {"name": "vitrine"}}}\n'
    ),
    "webpack/build.js": (
        'const fs = require("fs");\nfs.mkdirSync("shop/static/bundles", {recursive: true});\n'
        'fs.writeFileSync("shop/static/bundles/app.js", fs.readFileSync("assets/app.js", "utf8").toUpperCase());\n'
    ),
    "assets/app.js": "console.log('vitrine');\n",
    "tsconfig.json": "{}\n",
    ".npmrc": "//registry.npmjs.org/:_authToken=a-developers-npm-token\n",
    "node_modules/left-pad/index.js": "module.exports = 1;\n",
}


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def cookiecutter_like(tmp_path, settings):
    settings.BASE_DIR = make(tmp_path, COOKIECUTTER_LIKE)
    return tmp_path


def test_the_production_settings_beside_managepys_development_default_are_the_images(cookiecutter_like):
    out = io.StringIO()
    call_command("ecr_deploy_init", "--ecs", stdout=out)
    said = out.getvalue()
    dockerfile = (cookiecutter_like / "Dockerfile").read_text()
    assert "Settings for the image: config.settings.production" in said
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in dockerfile
    assert "Dependencies: pip install -r requirements/production.txt; Python 3.13" in said
    assert "deploy_ecs sets: DATABASE_URL, DJANGO_ALLOWED_HOSTS, DJANGO_SECRET_KEY, DJANGO_SECURE_SSL_REDIRECT." in said
    assert (
        "Your settings read these with no default; a deploy must give them: DJANGO_ADMIN_URL, MAILGUN_API_KEY, "
        "MAILGUN_DOMAIN." in said
    )
    assert '"DATABASE_VARIABLES": "url",' in said and '"REPOSITORY": ' in said
    assert "  python manage.py config_ecs set DJANGO_ADMIN_URL=... MAILGUN_DOMAIN=...\n" in said
    assert "  python manage.py config_ecs set --secret MAILGUN_API_KEY\n" in said
    assert "Warning" not in said  # production settings, DEBUG off


def test_the_build_runs_collectstatic_with_placeholders_and_no_migrate_or_runtime_value(cookiecutter_like):
    call_command("ecr_deploy_init", stdout=io.StringIO())
    dockerfile = (cookiecutter_like / "Dockerfile").read_text()
    assert "prepare_image" not in dockerfile and "migrate" not in dockerfile.split("COPY . ./")[1]
    build = dockerfile.split("COPY . ./")[1]
    assert "DJANGO_SECRET_KEY=build-placeholder" in build and "MAILGUN_API_KEY=build-placeholder" in build
    assert "DATABASE_URL=postgres://build:build@build-placeholder.invalid:5432/build" in build
    assert "DJANGO_DEBUG" not in build  # read with a default: left unset, as at build
    assert "python manage.py collectstatic --noinput" in build and "ENV DJANGO_SECRET_KEY" not in dockerfile


def test_a_package_json_build_gets_a_node_stage_whose_output_lands_in_the_static_folders(cookiecutter_like):
    make(cookiecutter_like, NODE_FRONT_END)
    out = io.StringIO()
    call_command("ecr_deploy_init", stdout=out)
    dockerfile = (cookiecutter_like / "Dockerfile").read_text()
    frontend = dockerfile.split("AS frontend\n")[1].split("\nFROM ${BASE_IMAGE}\n")[0]
    assert "nodejs npm" in frontend and "COPY package.json package-lock.json ./\nRUN npm ci\n" in frontend
    assert "COPY . ./\nRUN npm run build\n\n# The runtime stage" in frontend
    runtime = dockerfile.split("\nFROM ${BASE_IMAGE}\n")[-1]
    copied, collected = (
        runtime.index("COPY --from=frontend /app/shop/static shop/static\n"),
        runtime.index("collectstatic"),
    )
    assert runtime.index("COPY . ./") < copied < collected  # the build's output, before collectstatic reads it
    allowed = (cookiecutter_like / ".dockerignore").read_text()
    for name in ("package.json", "package-lock.json", "webpack", "assets", "tsconfig.json", "shop/static"):
        assert f"\n!{name}\n" in allowed
    assert "!.npmrc" not in allowed and "**/node_modules" in allowed  # a token, and the developer's modules
    assert "Front end: `npm run build` in a Node stage (npm ci)" in out.getvalue()


def test_a_node_build_without_a_lock_installs_and_without_a_static_folder_is_warned(tmp_path, settings):
    files = {**COOKIECUTTER_LIKE, **NODE_FRONT_END}
    del files["package-lock.json"]
    files["config/settings/base.py"] = BASE.replace('STATICFILES_DIRS = [str(APPS_DIR / "static")]\n', "")
    settings.BASE_DIR = make(tmp_path, files)
    out = io.StringIO()
    call_command("ecr_deploy_init", stdout=out)
    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert "COPY package.json ./\nRUN npm install\n" in dockerfile and "COPY --from=frontend" not in dockerfile
    assert "STATICFILES_DIRS names no folder of the project" in out.getvalue()


def test_the_requirements_folder_installs_the_project_way_and_a_compiled_driver_gets_a_build_stage(cookiecutter_like):
    call_command("ecr_deploy_init", stdout=io.StringIO())
    dockerfile = (cookiecutter_like / "Dockerfile").read_text()
    build, runtime = dockerfile.split("\nFROM ${BASE_IMAGE}\n")
    assert "COPY requirements/production.txt requirements/production.txt\n" in build
    assert "COPY requirements/base.txt requirements/base.txt\n" in build
    assert "requirements/local.txt" not in dockerfile
    assert "RUN pip install -r requirements/production.txt\n" in build
    assert "apt-get install -y --no-install-recommends gcc libc6-dev libpq-dev" in build
    assert "gcc" not in runtime and "apt-get install -y --no-install-recommends libpq5" in runtime
    assert "COPY --from=build /venv /venv" in runtime
    # gunicorn is the project's; the tool and WhiteNoise are added, every project pin held (-c the installed set).
    assert "pip install -c /tmp/installed django-ecr-deploy" in build and " whitenoise\n" in build
    assert "gunicorn" not in build.split("pip install -c")[1]
    assert "ARG BASE_IMAGE=python:3.13-slim" in dockerfile


def test_the_dockerignore_lets_in_locale_templates_and_static_and_leaves_out_uploads_and_virtualenvs(
    cookiecutter_like,
):
    call_command("ecr_deploy_init", stdout=io.StringIO())
    lines = (cookiecutter_like / ".dockerignore").read_text().splitlines()
    for let_in in ("!config", "!shop", "!locale", "!requirements/production.txt", "!requirements/base.txt"):
        assert let_in in lines
    assert "!venv" not in lines  # its packages are not the project's, though importable from it
    assert lines.index("shop/media") > lines.index("!shop") and "venv" in lines
    assert "**/node_modules" in lines and "**/.env" in lines


def test_gitignore_gets_the_terraform_lines_once_and_keeps_the_projects_own(cookiecutter_like):
    (cookiecutter_like / ".gitignore").write_text("*.pyc\n.env")
    call_command("ecr_deploy_init", stdout=io.StringIO())
    written = (cookiecutter_like / ".gitignore").read_text()
    assert written.startswith("*.pyc\n.env\n\n# ecr_deploy: Terraform's working folders")
    assert "/infra/**/.terraform/\n/infra/**/terraform.tfstate.d/\n/infra/**/*.tfstate*\n" in written
    call_command("ecr_deploy_init", stdout=io.StringIO())
    assert (cookiecutter_like / ".gitignore").read_text() == written
    subprocess.run(["git", "init", "-q"], cwd=cookiecutter_like, check=True)
    ignored = subprocess.run(
        [
            "git",
            "check-ignore",
            "--no-index",
            "infra/terraform.tfstate.d/default/terraform.tfstate",
            "infra/ecs/.terraform/x",
        ],
        cwd=cookiecutter_like,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ignored.stdout.split() == ["infra/terraform.tfstate.d/default/terraform.tfstate", "infra/ecs/.terraform/x"]


def test_development_settings_chosen_by_hand_are_warned_about(cookiecutter_like):
    out = io.StringIO()
    call_command("ecr_deploy_init", "--image-settings", "config.settings.local", "--dry-run", stdout=out)
    assert "Warning: config.settings.local is named like development settings" in out.getvalue()
    assert "Warning: config.settings.local sets DEBUG = True" in out.getvalue()
    assert not (cookiecutter_like / "Dockerfile").exists()


def test_settings_that_fail_even_with_placeholders_stop_init_clearly_and_write_nothing(cookiecutter_like):
    production = cookiecutter_like / "config" / "settings" / "production.py"
    production.write_text(PRODUCTION + "import sentry_sdk_not_installed\n")
    with pytest.raises(CommandError, match=r"Cannot import the settings 'config.settings.production' with a place"):
        call_command("ecr_deploy_init", stdout=io.StringIO())
    assert not (cookiecutter_like / "Dockerfile").exists() and not (cookiecutter_like / ".gitignore").exists()


def test_python_m_ecr_deploy_init_reads_managepys_default_and_imports_settings_that_need_their_environment(tmp_path):
    """manage.py would stop with ImproperlyConfigured: DATABASE_URL is read with no default."""
    project = make(tmp_path, COOKIECUTTER_LIKE)
    environment = {
        key: value for key, value in os.environ.items() if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
    }
    done = subprocess.run(
        [sys.executable, "-m", "ecr_deploy", "init", "--dry-run"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**environment, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert "Settings for the image: config.settings.production" in done.stdout and "Traceback" not in done.stderr
    explicit = subprocess.run(
        [sys.executable, "-m", "ecr_deploy", "init", "--settings", "config.settings.local", "--dry-run"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**environment, "PYTHONPATH": str(ROOT)},
    )
    assert "Settings for the image: config.settings.local" in explicit.stdout, explicit.stderr


def test_settings_reading_their_own_names_are_given_them_by_the_deploy(tmp_path, settings):
    """The third project's shape: SECRET_KEY and its own hosts variable, the database as POSTGRES_*."""
    files = dict(COOKIECUTTER_LIKE)
    files["config/settings/base.py"] = BASE.replace(
        'DATABASES = {"default": env.db("DATABASE_URL")}',
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "HOST": env("POSTGRES_HOST"), '
        '"NAME": env("POSTGRES_DB"), "USER": env("POSTGRES_USER"), "PASSWORD": env("POSTGRES_PASSWORD")}}',
    )
    files["config/settings/production.py"] = (
        "import os\n\nfrom .base import *  # noqa: F403\n\nSECRET_KEY = os.environ['SECRET_KEY']\n"
        "ALLOWED_HOSTS = os.environ.get('SHOP_HOSTS', '').split(',')\n"
    )
    settings.BASE_DIR = make(tmp_path, files)
    out = io.StringIO()
    call_command("ecr_deploy_init", stdout=out)
    said = out.getvalue()
    assert '"VARIABLES": {"SECRET_KEY": "SECRET_KEY", "ALLOWED_HOSTS": "SHOP_HOSTS"},' in said
    assert '"DATABASE_VARIABLES": "postgres",' in said
    assert "The database reaches the tasks as POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB" in said
    assert "a deploy must give them" not in said  # every variable read is one deploy_ecs sets


UV_PROJECT = {
    "manage.py": COOKIECUTTER_LIKE["manage.py"].replace("config.settings.local", "config.settings.production"),
    "config/__init__.py": "",
    "config/settings/__init__.py": "",
    "config/settings/production.py": "SECRET_KEY = 'x'\nINSTALLED_APPS = ['ecr_deploy']\nDATABASES = {}\n",
    "pyproject.toml": '[project]\nname = "shop"\nversion = "1"\nrequires-python = "==3.12.*"\ndependencies = ["django"]\n',
    "uv.lock": 'version = 1\n\n[[package]]\nname = "django"\nversion = "5.2.8"\n\n[[package]]\nname = "uWSGI"\nversion = "2.0.30"\n',
}


@pytest.mark.parametrize(
    ("lock", "install"),
    [
        ("uv.lock", "/tools/bin/uv sync --frozen --no-dev --no-install-project --inexact"),
        ("poetry.lock", "/tools/bin/poetry install --only main --no-root --no-interaction"),
    ],
)
def test_a_pyproject_with_a_lock_installs_with_its_own_tool_and_python(tmp_path, settings, lock, install):
    files = {name: text for name, text in UV_PROJECT.items() if name != "uv.lock"}
    files[lock] = UV_PROJECT["uv.lock"]
    settings.BASE_DIR = make(tmp_path, files)
    out = io.StringIO()
    call_command("ecr_deploy_init", stdout=out)
    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert install in dockerfile and f"COPY pyproject.toml pyproject.toml\nCOPY {lock} {lock}\n" in dockerfile
    assert "ARG BASE_IMAGE=python:3.12-slim" in dockerfile
    assert "uwsgi" in project_scan.dependencies(tmp_path).compiled and "python3-dev" in dockerfile
    assert not (tmp_path / "requirements.txt").exists()  # the project's dependencies stay its own
    assert f"Dependencies: {'uv sync --frozen --no-dev' if lock == 'uv.lock' else 'poetry install --only main'}" in (
        out.getvalue()
    )


@pytest.mark.parametrize(
    ("files", "version"),
    [
        ({".python-version": "3.11.9\n"}, "3.11"),
        ({"runtime.txt": "python-3.12.4\n"}, "3.12"),
        ({"pyproject.toml": 'requires-python = "~=3.10"\n'}, "3.10"),
        ({"pyproject.toml": 'requires-python = ">=3.10"\n'}, project_scan.DEFAULT_PYTHON),
        ({}, project_scan.DEFAULT_PYTHON),
    ],
)
def test_the_python_version_comes_from_the_projects_own_files(tmp_path, files, version):
    assert project_scan.python_version(make(tmp_path, files)) == version


def test_environment_reads_are_found_in_every_form_with_their_defaults_and_conditions(tmp_path):
    make(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings.py": (
                "import os\nimport environ\nimport dj_database_url\n"
                "env = environ.Env(DEBUG=(bool, False))\n"
                "DEBUG = env('DEBUG')\n"
                "SECRET_KEY = os.environ['SECRET_KEY']\n"
                "HOSTS = os.getenv('HOSTS', 'localhost')\n"
                "LEVEL = env.int('LEVEL', 20)\n"
                "CACHES = {'default': env.cache()}\n"
                "DATABASES = {'default': dj_database_url.config(conn_max_age=60)}\n"
                "if DEBUG:\n    TOOLBAR = env('TOOLBAR_KEY')\n"
                "def later():\n    return os.environ['LATER']\n"
            ),
        },
    )
    reads = {read.variable: read for read in project_scan.environment_reads(tmp_path, "site.settings")}
    assert set(reads) == {"DEBUG", "SECRET_KEY", "HOSTS", "LEVEL", "CACHE_URL", "DATABASE_URL", "TOOLBAR_KEY", "LATER"}
    assert project_scan.required_variables(list(reads.values())) == ["CACHE_URL", "DATABASE_URL", "SECRET_KEY"]
    assert reads["TOOLBAR_KEY"].conditional and reads["LATER"].conditional and reads["DEBUG"].has_default
    assert (reads["CACHE_URL"].kind, reads["DATABASE_URL"].kind, reads["SECRET_KEY"].setting) == (
        "cache",
        "db",
        "SECRET_KEY",
    )
    assert project_scan.placeholders(list(reads.values()))["CACHE_URL"] == "locmemcache://"


def test_a_variable_read_as_a_string_and_as_a_database_url_gets_a_database_urls_placeholder(tmp_path):
    """Wagtail's bakerydemo: `if "DATABASE_URL" in os.environ:` dj_database_url.config(), then
    os.environ["DATABASE_URL"].startswith(...)."""
    make(
        tmp_path,
        {
            "site/__init__.py": "",
            "site/settings.py": (
                "import os\nimport dj_database_url\n"
                "if 'DATABASE_URL' in os.environ:\n"
                "    DATABASES = {'default': dj_database_url.config(conn_max_age=500)}\n"
                "    POSTGRES = os.environ['DATABASE_URL'].startswith('postgres://')\n"
            ),
        },
    )
    reads = project_scan.environment_reads(tmp_path, "site.settings")
    assert sorted(read.kind for read in reads) == ["db", "str"]
    assert project_scan.placeholders(reads) == {"DATABASE_URL": project_scan.PLACEHOLDERS["db"]}


def test_a_binary_driver_pinned_before_the_images_python_may_compile_so_the_build_stage_can(tmp_path):
    """psycopg2-binary 2.9.9 (MDN's tutorial pins it) has no wheel for Python 3.13: pip builds it from source."""
    (tmp_path / "requirements.txt").write_text("Django==5.1.15\npsycopg2-binary==2.9.9\n")
    assert project_scan.dependencies(tmp_path).compiled == ["psycopg2-binary"]


def test_settings_that_keep_their_files_on_s3_get_storage_and_no_collectstatic_at_build(tmp_path, settings):
    """cookiecutter-django's S3 variant: STORAGE with the bucket's variable and the static files, the region and
    the access keys' variables that deploy_ecs sets (the keys empty: the task role signs), none of them asked of
    config_ecs; collectstatic at deploy, where the bucket is, not at build."""
    settings.BASE_DIR = make(tmp_path, COOKIECUTTER_S3)
    out = io.StringIO()
    call_command("ecr_deploy_init", "--ecs", stdout=out)
    said = out.getvalue()
    assert '"STORAGE": {"MEDIA": True, "STATIC": True, "BUCKET_VARIABLE": "DJANGO_AWS_STORAGE_BUCKET_NAME"},' in said
    assert (
        '"VARIABLES": {"AWS_S3_REGION_NAME": "DJANGO_AWS_S3_REGION_NAME", "AWS_ACCESS_KEY_ID": '
        '"DJANGO_AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY": "DJANGO_AWS_SECRET_ACCESS_KEY"},' in said
    )
    assert "a deploy must give them: DJANGO_ADMIN_URL, MAILGUN_API_KEY, MAILGUN_DOMAIN." in said
    assert "STORAGES:" not in said  # the settings have theirs
    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert "collectstatic" not in dockerfile and "django-storages" not in dockerfile  # the project declares it


def test_storage_asked_of_a_project_without_it_adds_django_storages_and_prints_the_storages_lines(
    cookiecutter_like,
):
    out = io.StringIO()
    call_command("ecr_deploy_init", "--ecs", "--storage", stdout=out)
    said = out.getvalue()
    assert '"STORAGE": {"MEDIA": True},' in said
    assert 'if os.environ.get("AWS_STORAGE_BUCKET_NAME"):  # deploy_ecs sets it' in said
    assert '"default": {"BACKEND": "storages.backends.s3.S3Storage"' in said
    assert '"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}' in said
    dockerfile = (cookiecutter_like / "Dockerfile").read_text()
    assert "'django-storages[s3]'" in dockerfile and "collectstatic" in dockerfile  # static files stay in the image


def test_a_project_with_celery_gets_a_worker_process_proposed_with_its_app(cookiecutter_like):
    make(
        cookiecutter_like,
        {
            "config/celery_app.py": 'from celery import Celery\n\napp = Celery("vitrine")\n',
            "requirements/production.txt": COOKIECUTTER_LIKE["requirements/production.txt"] + "celery==5.5.3\n",
        },
    )
    out = io.StringIO()
    call_command("ecr_deploy_init", "--ecs", stdout=out)
    assert (
        '"PROCESSES": {"worker": {"command": ["celery", "-A", "config.celery_app", "worker", "--loglevel", "info", '
        '"--queues", "default"], "queue": "default"}},' in out.getvalue()
    )
    assert '"QUEUES": ["default"],' in out.getvalue()
    assert 'CELERY_BROKER_URL = "sqs://"' in out.getvalue() and "add celery[sqs]" in out.getvalue()
