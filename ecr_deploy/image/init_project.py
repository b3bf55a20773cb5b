"""ecr_deploy_init's plan: the Dockerfile, .dockerignore, .gitignore lines and infra/ a project needs, from the
templates shipped in the package, filled from what the project is (project_scan reads it): its production settings,
the variables they read, its dependency files, its Python. A requirements.txt only when it declares no dependencies.
Nothing is written here but by write_plan."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import urllib.parse
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from string import Template
from typing import Any

from ecr_deploy.common import Output, unified_diff, write_atomically
from ecr_deploy.defaults import DATABASE_VARIABLE_NAMES, SETTING_VARIABLES, STORAGE_DEFAULTS, STORAGE_SETTING_VARIABLES
from ecr_deploy.errors import ConfigurationError
from ecr_deploy.image import project_scan
from ecr_deploy.image.project_scan import ASGI_SERVERS, COMPILED, Dependencies

TEMPLATES = Path(__file__).parent / "project_template"
HEALTH_MIDDLEWARE = "ecr_deploy.runtime.health.HealthCheckMiddleware"
HEALTHCHECK = (
    "HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \\\n"
    '    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('
    'f\\"http://127.0.0.1:{os.environ.get(\'PORT\') or 8000}/health/\\", timeout=4)"]\n'
)
SECRET_WORDS = ("KEY", "SECRET", "PASSWORD", "TOKEN", "DSN", "CREDENTIAL")
GITIGNORE_MARK = "# ecr_deploy: Terraform's working folders and local states, and the files it writes for a run"


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: str
    existing: str | None
    kept: bool = False  # the project's own file, left as it is
    appended: bool = False  # lines added at the end of the project's file

    @property
    def changed(self) -> bool:
        return not self.kept and self.content != self.existing

    def diff(self, base_dir: Path) -> str:
        return unified_diff(self.existing or "", self.content, str(self.path.relative_to(base_dir)))


@dataclass(frozen=True)
class ProjectReading:
    """What ecr_deploy_init found in the project, and what it decided from it."""

    settings_module: str
    warnings: list[str]
    required: list[str]  # variables read with no default, which nothing sets yet
    deploy_sets: list[str]  # variables read by the settings that deploy_ecs sets
    variables: dict[str, str]  # Django setting -> the variable the settings read it from, when not deploy's name
    database: str
    assembled: bool  # the settings call database_from_environment (the "parts" variables)
    dependencies: Dependencies
    python: str
    dockerfile: str
    node: project_scan.NodeBuild | None = None  # package.json's build, in a Node stage
    values: dict[str, Any] = field(repr=False, default_factory=dict)  # project_scan.SETTINGS_NAMES' values
    placeholders: dict[str, str] = field(default_factory=dict)  # what the build gives each variable read
    #: ECR_DEPLOY["ECS"]["STORAGE"] for a project whose settings use S3 (or when asked): None without.
    storage: dict[str, Any] | None = None
    #: ECR_DEPLOY["ECS"]["PROCESSES"] proposed: a Celery worker when the dependencies hold Celery.
    processes: dict[str, Any] = field(default_factory=dict)


def read_project(
    base_dir: Path,
    process_settings: Any,
    process_module: str,
    image_module: str | None,
    *,
    dockerfile: str = "Dockerfile",
    storage: bool = False,
) -> ProjectReading:
    """Read the project: the image's settings module (image_module, else a production module beside manage.py's
    default, else that default), the variables it reads and its values, imported in a child process with
    placeholders unless it is the settings this process runs with. Storage is proposed when the settings keep
    their files on S3, or when asked."""
    if not (base_dir / "manage.py").is_file():
        raise ConfigurationError(
            f"{base_dir} is not a Django project: it has no manage.py. Run `python manage.py ecr_deploy_init` "
            "from the project's folder (BASE_DIR of its settings)."
        )
    default = project_scan.manage_py_settings(base_dir) or process_module
    module = image_module or project_scan.production_settings(base_dir, default)
    if image_module and not project_scan.module_file(base_dir, image_module):
        raise ConfigurationError(f"--settings {image_module}: no such module in {base_dir}.")
    reads = project_scan.environment_reads(base_dir, module)
    if module == process_module:
        values = {name: getattr(process_settings, name, None) for name in project_scan.SETTINGS_NAMES}
    else:
        values = project_scan.probe_settings(base_dir, module, reads)
    proposed = storage_proposal(values, reads, asked=storage)
    own_names = SETTING_VARIABLES | (STORAGE_SETTING_VARIABLES if proposed else {})
    variables = {
        setting: variable
        for setting in own_names
        if (variable := project_scan.setting_variable(reads, setting)) and variable != own_names[setting]
    }
    assembled = any(
        "database_from_environment" in path.read_text() for path in project_scan.settings_files(base_dir, module)
    )
    database = "parts" if assembled else project_scan.database_style(reads)
    provided = (
        {variables.get(setting, name) for setting, name in own_names.items()} - {""}
        | set(DATABASE_VARIABLE_NAMES[database])
        | ({proposed.get("BUCKET_VARIABLE", STORAGE_DEFAULTS["BUCKET_VARIABLE"])} if proposed else set())
    )
    read_names = {read.variable for read in reads}
    warnings = project_scan.settings_warnings(base_dir, module)
    node = project_scan.node_build(base_dir)
    if node and not static_folders(base_dir, values):
        warnings.append(
            "package.json has a build script, but STATICFILES_DIRS names no folder of the project: collectstatic "
            "would take none of the build's output"
        )
    database_file = sqlite_file(base_dir, values.get("DATABASES") or {})
    if database_file is not None and database_file.resolve().parent == base_dir.resolve():
        warnings.append(
            f"the SQLite file {database_file.name} lies in the code's folder, which the image's user may not write: "
            "the image can read it but not write it (SQLite writes its journal beside it); give it a folder of its "
            "own (BASE_DIR / 'data' / 'db.sqlite3'), or a database from the environment"
        )
    dependencies = project_scan.dependencies(base_dir)
    return ProjectReading(
        settings_module=module,
        warnings=warnings,
        required=[name for name in project_scan.required_variables(reads) if name not in provided],
        deploy_sets=sorted(read_names & provided),
        variables=variables,
        database=database,
        assembled=assembled,
        dependencies=dependencies,
        python=project_scan.python_version(base_dir),
        dockerfile=dockerfile,
        node=node,
        values=values,
        placeholders=project_scan.placeholders(reads),
        storage=proposed,
        processes=proposed_processes(base_dir, dependencies),
    )


def proposed_processes(base_dir: Path, dependencies: Dependencies) -> dict[str, Any]:
    """A Celery worker, when the dependencies hold Celery: `celery -A APP worker` on the default queue (APP the module
    that makes it), scaling on that queue's backlog."""
    if "celery" not in dependencies.names:
        return {}
    app = project_scan.celery_app(base_dir) or base_dir.name
    command = ["celery", "-A", app, "worker", "--loglevel", "info", "--queues", "default"]
    return {"worker": {"command": command, "queue": "default"}}


def celery_lines() -> str:
    """The settings lines that put Celery on the service's SQS queue when a deploy gives its URL (the developer's
    own machine keeps its broker); celery[sqs] installs what the SQS broker needs."""
    return (
        'if os.environ.get("SQS_QUEUE_URL_DEFAULT"):  # deploy_ecs sets it with ECR_DEPLOY["ECS"]["QUEUES"]\n'
        '    CELERY_BROKER_URL = "sqs://"\n'
        '    CELERY_TASK_DEFAULT_QUEUE = "default"\n'
        "    CELERY_BROKER_TRANSPORT_OPTIONS = {\n"
        '        "region": os.environ.get("AWS_REGION", "us-east-1"),\n'
        '        "predefined_queues": {"default": {"url": os.environ["SQS_QUEUE_URL_DEFAULT"]}},\n'
        "    }\n"
        "    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False"
    )


S3_BACKENDS = ("storages.backends.s3.", "storages.backends.s3boto3.")


def on_s3(values: dict[str, Any], alias: str) -> bool:
    """The settings' STORAGES[alias] is django-storages' S3 backend."""
    backend = ((values.get("STORAGES") or {}).get(alias) or {}).get("BACKEND") or ""
    return backend.startswith(S3_BACKENDS)


def storage_proposal(
    values: dict[str, Any], reads: list[project_scan.EnvironmentRead], *, asked: bool
) -> dict[str, Any] | None:
    """STORAGE for settings that keep their uploads or static files on S3 (or when asked): what goes in the bucket,
    and the variable the settings read the bucket's name from, when it is not the default."""
    media, static = on_s3(values, "default"), on_s3(values, "staticfiles")
    if not (asked or media or static):
        return None
    proposal: dict[str, Any] = {"MEDIA": True} if asked and not media else {"MEDIA": media}
    if static:
        proposal["STATIC"] = True
    bucket = project_scan.setting_variable(reads, "AWS_STORAGE_BUCKET_NAME")
    if bucket and bucket != STORAGE_DEFAULTS["BUCKET_VARIABLE"]:
        proposal["BUCKET_VARIABLE"] = bucket
    return proposal


def static_folders(base_dir: Path, values: dict[str, Any]) -> list[str]:
    """The STATICFILES_DIRS folders inside base_dir, relative to it (a (prefix, path) pair by its path)."""
    folders = [
        entry[1] if isinstance(entry, (list, tuple)) else entry for entry in values.get("STATICFILES_DIRS") or []
    ]
    return [name for name in (relative_inside(base_dir, folder) for folder in folders) if name]


def frontend(node: project_scan.NodeBuild | None, folders: list[str]) -> tuple[str, str]:
    """The Node stage that runs package.json's build, and the runtime stage's copy of its output: the static folders
    as the build left them, before collectstatic reads them."""
    if node is None:
        return "", ""
    packages = [name for name in node.files if name == "package.json" or name in project_scan.NODE_LOCKS]
    stage = (
        "# The front end: package.json's build, by npm in a stage of its own; its output lands in STATICFILES_DIRS.\n"
        "FROM ${BASE_IMAGE} AS frontend\n"
        "RUN apt-get update \\\n"
        "    && apt-get install -y --no-install-recommends nodejs npm \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
        "WORKDIR /app\n"
        f"COPY {' '.join(packages)} ./\n"
        f"RUN {node.install}\n"
        "COPY . ./\n"
        "RUN npm run build\n\n"
    )
    copies = "".join(f"COPY --from=frontend /app/{folder} {folder}\n" for folder in folders)
    return stage, copies


def local_packages(base_dir: Path, settings_module: str, installed_apps: list[str]) -> list[str]:
    """The top-level packages of the settings and of the apps whose code lives in base_dir (not in a virtualenv
    inside it)."""
    found = []
    for module in [settings_module, *installed_apps]:
        top = module.split(".")[0]
        origin = project_scan.module_file(base_dir, top)
        if origin is None:
            spec = importlib.util.find_spec(top)
            origin = Path(spec.origin).resolve() if spec and spec.origin else None
        if (
            origin
            and origin.resolve().is_relative_to(base_dir.resolve())
            and not project_scan.inside_virtualenv(origin, base_dir)
            and top not in found
        ):
            found.append(top)
    return found


def local_requirement_files(base_dir: Path, requirements: str) -> list[str]:
    """Files of the project that the requirements text installs (`./dist/app.whl`)."""
    lines = requirements.splitlines()
    return [line.strip() for line in lines if re.match(r"\s*\.{0,2}/\S+$", line) and (base_dir / line.strip()).exists()]


def default_requirements(base_dir: Path, *, ecs: bool = False) -> str:
    """What the image of a project that declares no dependencies installs: Django at the version installed here,
    gunicorn (at its installed version, when it is), and django-ecr-deploy at its own version, or the wheel inside
    the project that it was installed from; with ecs, psycopg too, for the service's PostgreSQL on RDS."""
    gunicorn, psycopg = _installed("gunicorn"), _installed("psycopg")
    return "".join(
        f"{line}\n"
        for line in (
            "# Written by ecr_deploy_init: what the image installs. Add your project's own requirements here.",
            f"Django=={metadata.version('Django')}",
            f"gunicorn=={gunicorn}" if gunicorn else "gunicorn>=23",
            *([f"psycopg[binary]=={psycopg}" if psycopg else "psycopg[binary]>=3.2"] if ecs else []),
            ecr_deploy_requirement(base_dir),
        )
    )


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def ecr_deploy_requirement(base_dir: Path) -> str:
    """`./dist/django_ecr_deploy-....whl` when installed from a wheel inside the project (PEP 610's
    direct_url.json says where from), else django-ecr-deploy at the installed version (unpinned when it runs from
    a source tree that was never installed)."""
    try:
        distribution = metadata.distribution("django-ecr-deploy")
    except metadata.PackageNotFoundError:
        return "django-ecr-deploy"
    try:
        url = json.loads(distribution.read_text("direct_url.json") or "{}").get("url", "")
    except ValueError:
        url = ""
    if url.startswith("file://"):
        wheel = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
        if wheel.suffix == ".whl" and wheel.is_file() and wheel.resolve().is_relative_to(base_dir.resolve()):
            return f"./{wheel.resolve().relative_to(base_dir.resolve())}"
    return f"django-ecr-deploy=={distribution.version}"


def sqlite_file(base_dir: Path, databases: dict[str, Any]) -> Path | None:
    database = (databases or {}).get("default", {})
    if database.get("ENGINE") != "django.db.backends.sqlite3" or not database.get("NAME"):
        return None
    path = Path(database["NAME"])
    return path if path.resolve().is_relative_to(base_dir.resolve()) else None


def install_command(dependencies: Dependencies) -> str:
    """The build stage's install of the project's dependencies, the project's own way."""
    if dependencies.manager == "uv":
        return (
            "python -m venv /tools && /tools/bin/pip install -q uv \\\n"
            "    && UV_PROJECT_ENVIRONMENT=/venv UV_PYTHON_DOWNLOADS=never UV_NATIVE_TLS=1 \\\n"
            "       /tools/bin/uv sync --frozen --no-dev --no-install-project --inexact"
        )
    if dependencies.manager == "poetry":
        return (
            "python -m venv /tools && /tools/bin/pip install -q poetry \\\n"
            "    && /tools/bin/poetry install --only main --no-root --no-interaction"
        )
    hashes = "--require-hashes " if dependencies.requirement.endswith(".lock") else ""
    return f"pip install {hashes}-r {dependencies.requirement}"


def system_packages(dependencies: Dependencies) -> tuple[str, str]:
    """The build stage's and the runtime stage's apt-get lines for the dependencies that compile."""
    compiled = dependencies.compiled
    if not compiled:
        return "", ""
    build = sorted({"gcc", "libc6-dev", *(package for name in compiled for package in COMPILED[name][0])})
    runtime = sorted({package for name in compiled for package in COMPILED[name][1]})
    # Python's headers: the official images have them; Debian's python3 has them in python3-dev.
    headers = (
        'python -c "import sysconfig, os, sys; '
        "sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))\" "
        "|| extra=python3-dev; "
    )
    build_line = (
        f"# {', '.join(compiled)} compile{'s' if len(compiled) == 1 else ''} here: a compiler and headers.\n"
        f"RUN {headers}apt-get update \\\n"
        f"    && apt-get install -y --no-install-recommends {' '.join(build)} $extra \\\n"
        "    && rm -rf /var/lib/apt/lists/*\n"
    )
    runtime_line = (
        (
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{' '.join(runtime)} \\\n    && rm -rf /var/lib/apt/lists/*\n"
        )
        if runtime
        else ""
    )
    return build_line, runtime_line


def helpers(dependencies: Dependencies, base_dir: Path, *, storage: bool = False) -> tuple[list[str], str]:
    """What the image adds to the project's dependencies (files to copy, the install line): ecr_deploy itself,
    gunicorn and WhiteNoise when the project does not declare them, uvicorn's gunicorn worker for a project
    that serves ASGI (channels, daphne or uvicorn among its dependencies), and django-storages for STORAGE."""
    wanted = [
        *(["django-storages[s3]"] if storage and "django-storages" not in dependencies.names else []),
        *([] if "django-ecr-deploy" in dependencies.names else [ecr_deploy_requirement(base_dir)]),
        *([] if "gunicorn" in dependencies.names else ["gunicorn"]),
        *([] if "whitenoise" in dependencies.names else ["whitenoise"]),
        *(
            ["uvicorn-worker"]
            if dependencies.names & ASGI_SERVERS and "uvicorn-worker" not in dependencies.names
            else []
        ),
    ]
    if not wanted:
        return [], ""
    files = [name.removeprefix("./") for name in wanted if name.startswith("./")]
    line = (
        "# ecr_deploy's runtime pieces, every package above held at its version.\n"
        "RUN pip list --format=freeze > /tmp/installed && pip install -c /tmp/installed "
        f"{' '.join(shlex.quote(name) for name in wanted)}\n"
    )
    return files, line


def prepare_step(base_dir: Path, reading: ProjectReading, *, staticfiles: bool) -> str:
    """What the build runs with the code in place: for the image's own SQLite (the course's case) prepare_image,
    which migrates and loads the fixtures into it; else collectstatic only, with a placeholder for each variable the
    settings read (no runtime secret exists at build)."""
    database = sqlite_file(base_dir, reading.values.get("DATABASES") or {})
    if database is not None:
        prepare = "python manage.py prepare_image --verbosity 0 --skip-checks"
        folder = database.resolve().parent.relative_to(base_dir.resolve())
        prepare = (
            f"{prepare} && chown app:app {database.name}"  # beside the code: the file only, not the folder
            if str(folder) == "."
            else f"install -d {folder} && {prepare} && chown -R app:app {folder}"
        )
        return f"# ALLOWED_HOSTS, migrate, the fixtures and the static files, in one process.\nRUN {prepare}\n"
    if not staticfiles:
        return ""
    assigned = "".join(f"{name}={shlex.quote(value)} \\\n    " for name, value in sorted(reading.placeholders.items()))
    return (
        "# The static files, with a placeholder for each variable the settings read: no runtime value exists at\n"
        "# build. Migrate runs at deploy, as a one-off task of the release.\n"
        f"RUN {assigned}python manage.py collectstatic --noinput --verbosity 0\n"
    )


def relative_inside(base_dir: Path, value: Any) -> str | None:
    """value (a path setting) relative to base_dir, when it lies inside it."""
    if not value:
        return None
    path = Path(str(value))
    path = path if path.is_absolute() else base_dir / path
    try:
        relative = path.resolve().relative_to(base_dir.resolve())
    except ValueError:
        return None
    return str(relative) if str(relative) != "." else None


def plan(
    base_dir: Path, reading: ProjectReading, fixtures: list[str], *, ecs: bool = False, force: bool = False
) -> list[PlannedFile]:
    """What ecr_deploy_init would write into base_dir, with what is there now; with ecs, the ECS service's
    Terraform (infra/ecs/) and its release role's (infra/release/) too. A Dockerfile or .dockerignore of the
    project's own is kept (force replaces it) unless ours goes under another name."""
    values = reading.values
    files: dict[Path, str] = {}
    dependencies = reading.dependencies
    if not dependencies.manager:
        files[base_dir / "requirements.txt"] = default_requirements(base_dir, ecs=ecs)
        names = frozenset(project_scan.requirement_names(files[base_dir / "requirements.txt"]))
        dependencies = Dependencies("pip", ("requirements.txt",), "requirements.txt", names)
    requirements_text = "\n".join(
        files.get(base_dir / name) or (base_dir / name).read_text() for name in dependencies.files
    )
    local_files = [name.removeprefix("./") for name in local_requirement_files(base_dir, requirements_text)]
    helper_files, helpers_step = helpers(dependencies, base_dir, storage=reading.storage is not None)
    build_packages, runtime_packages = system_packages(dependencies)
    installed_apps = list(values.get("INSTALLED_APPS") or [])
    # Static files kept on S3 are collected at deploy, as a one-off task that can reach the bucket.
    staticfiles = (
        "django.contrib.staticfiles" in installed_apps
        and bool(values.get("STATIC_ROOT"))
        and not on_s3(values, "staticfiles")
    )
    # A step alone on its line in the template (checkov reads the template) brings its own line ends, or none.
    template = re.sub(r"^(\$\{\w+\})\n", r"\1", (TEMPLATES / "Dockerfile").read_text(), flags=re.MULTILINE)
    frontend_stage, frontend_copy = frontend(reading.node, static_folders(base_dir, values))
    dockerfile = Template(template).substitute(
        python=reading.python,
        frontend_stage=frontend_stage,
        frontend_copy=frontend_copy,
        compilers_note=", compilers and headers for those that build from source" if build_packages else "",
        build_packages=build_packages,
        copy_dependencies="".join(f"COPY {name} {name}\n" for name in [*dependencies.files, *local_files]),
        install=install_command(dependencies),
        helpers_step="".join(f"COPY {name} {name}\n" for name in helper_files if name not in local_files)
        + helpers_step,
        settings_module=reading.settings_module,
        runtime_packages=runtime_packages,
        healthcheck=HEALTHCHECK if HEALTH_MIDDLEWARE in (values.get("MIDDLEWARE") or []) else "",
        prepare_step=prepare_step(base_dir, reading, staticfiles=staticfiles),
    )
    templates_dirs = [
        directory for template in values.get("TEMPLATES") or [] for directory in template.get("DIRS") or []
    ]
    let_in = [
        "manage.py",
        reading.dockerfile,
        *dependencies.files,
        *local_files,
        *helper_files,
        *local_packages(base_dir, reading.settings_module, installed_apps),
        *(fixture for fixture in fixtures if (base_dir / fixture).is_file()),
        *filter(
            None,
            (
                relative_inside(base_dir, path)
                for path in [
                    *templates_dirs,
                    *static_folders(base_dir, values),
                    *(values.get("LOCALE_PATHS") or []),
                ]
            ),
        ),
        *(["locale"] if (base_dir / "locale").is_dir() else []),
        *(reading.node.files if reading.node else []),
    ]
    left_out = [
        *filter(None, [relative_inside(base_dir, values.get("MEDIA_ROOT"))]),
        *project_scan.virtualenvs(base_dir),
    ]
    dockerignore = Template((TEMPLATES / "dockerignore").read_text()).substitute(
        allowed="\n".join(f"!{name}" for name in dict.fromkeys(let_in)),
        left_out="".join(f"{name}\n" for name in left_out),
    )
    dockerfile_path = base_dir / reading.dockerfile
    files[dockerfile_path] = dockerfile
    files[base_dir / ".dockerignore"] = dockerignore
    for folder in ["infra", "infra/ecs", "infra/release"] if ecs else ["infra"]:
        for template in [*sorted((TEMPLATES / folder).glob("*.tf")), TEMPLATES / folder / ".terraform.lock.hcl"]:
            files[base_dir / folder / template.name] = template.read_text()
    own = {base_dir / "Dockerfile", base_dir / ".dockerignore"}
    planned = []
    for path, content in files.items():
        existing = path.read_text() if path.is_file() else None
        kept = path in own and existing is not None and existing != content and not force
        planned.append(PlannedFile(path, content, existing, kept=kept))
    return [*planned, gitignore(base_dir)]


def gitignore(base_dir: Path) -> PlannedFile:
    """.gitignore with the lines for what ecr_deploy's runs leave in infra/ (Terraform's folders, local states,
    the override files), added at its end when any is missing."""
    lines = [
        GITIGNORE_MARK,
        "/infra/**/.terraform/",
        "/infra/**/terraform.tfstate.d/",
        "/infra/**/*.tfstate*",
        "/infra/**/ecr_deploy_override.tf",
    ]
    path = base_dir / ".gitignore"
    existing = path.read_text() if path.is_file() else None
    present = set((existing or "").splitlines())
    missing = [line for line in lines[1:] if line not in present]
    if not missing:
        return PlannedFile(path, existing or "", existing, appended=True)
    head = "" if not existing else existing if existing.endswith("\n") else f"{existing}\n"
    block = "".join(f"{line}\n" for line in [GITIGNORE_MARK, *missing])
    return PlannedFile(path, f"{head}\n{block}" if head else block, existing, appended=True)


def write_plan(planned: list[PlannedFile], base_dir: Path, *, force: bool, output: Output) -> list[Path]:
    """Write every planned file, or none: an existing file that would change needs force (its diff is shown);
    lines added to .gitignore and the project's own Dockerfile and .dockerignore (kept) never stop it."""
    blocked = [item for item in planned if item.existing is not None and item.changed and not item.appended]
    if blocked and not force:
        names = ", ".join(str(item.path) for item in blocked)
        raise ConfigurationError(
            f"{names}: already there and different; nothing was written. --dry-run shows the diff, --force overwrites."
        )
    written = []
    for item in planned:
        if not item.changed:
            continue
        if item.existing is not None and not item.appended:
            output(item.diff(base_dir))
        item.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(item.path, item.content.encode())
        written.append(item.path)
    return written


def settings_skeleton(reading: ProjectReading, repository: str) -> str:
    """The ECR_DEPLOY block the settings need for a deploy: how they read the database and their switches."""
    lines = ["ECR_DEPLOY = {", f'    "REPOSITORY": "{repository}",', '    "ECS": {']
    if reading.database != "parts":
        lines.append(f'        "DATABASE_VARIABLES": "{reading.database}",')
    if reading.variables:
        lines.append(f'        "VARIABLES": {json.dumps(reading.variables)},')
    if reading.processes:
        lines.append('        "QUEUES": ["default"],')
        lines.append(f'        "PROCESSES": {json.dumps(reading.processes)},')
    if reading.storage is not None:
        pairs = ", ".join(
            f"{json.dumps(key)}: {json.dumps(value) if isinstance(value, str) else value}"
            for key, value in reading.storage.items()
        )
        lines.append(f'        "STORAGE": {{{pairs}}},')
    lines += ["    },", "}"]
    return "\n".join(lines)


def storages_lines(reading: ProjectReading) -> str:
    """The settings lines that keep the uploads in the storage bucket when a deploy names it (the developer's own
    machine keeps its STORAGES): for settings that do not use S3 yet."""
    static = ((reading.values.get("STORAGES") or {}).get("staticfiles") or {}).get(
        "BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    bucket = (reading.storage or {}).get("BUCKET_VARIABLE", STORAGE_DEFAULTS["BUCKET_VARIABLE"])
    return (
        f'if os.environ.get("{bucket}"):  # deploy_ecs sets it with ECR_DEPLOY["ECS"]["STORAGE"]\n'
        f'    AWS_STORAGE_BUCKET_NAME = os.environ["{bucket}"]\n'
        '    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME")\n'
        "    STORAGES = {\n"
        '        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"location": "media", '
        '"file_overwrite": False}},\n'
        f'        "staticfiles": {{"BACKEND": "{static}"}},\n'
        "    }"
    )


def config_lines(required: list[str]) -> list[str]:
    """The config_ecs commands that give a deploy the variables the settings read with no default: the plain ones
    in one line, each secret (named like a key, a password, a token) asked for on its own."""
    plain = [name for name in required if not any(word in name for word in SECRET_WORDS)]
    secret = [name for name in required if name not in plain]
    return [
        *([f"python manage.py config_ecs set {' '.join(f'{name}=...' for name in plain)}"] if plain else []),
        *(f"python manage.py config_ecs set --secret {name}" for name in secret),
    ]
