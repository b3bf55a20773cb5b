"""ecr_deploy_init's plan: the Dockerfile, .dockerignore and infra/ a project needs, from the templates shipped
in the package, filled from the project's settings, and a requirements.txt when there is none. Nothing is written
here but by write_plan."""

from __future__ import annotations

import importlib.util
import json
import re
import urllib.parse
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from string import Template
from typing import Any

from ecr_deploy.common import Output, unified_diff, write_atomically
from ecr_deploy.errors import ConfigurationError

TEMPLATES = Path(__file__).parent / "project_template"
HEALTH_MIDDLEWARE = "ecr_deploy.runtime.health.HealthCheckMiddleware"
HEALTHCHECK = (
    "HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \\\n"
    '    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('
    'f\\"http://127.0.0.1:{os.environ.get(\'PORT\') or 8000}/health/\\", timeout=4)"]\n'
)


@dataclass(frozen=True)
class PlannedFile:
    path: Path
    content: str
    existing: str | None

    @property
    def changed(self) -> bool:
        return self.content != self.existing

    def diff(self, base_dir: Path) -> str:
        return unified_diff(self.existing or "", self.content, str(self.path.relative_to(base_dir)))


def local_packages(base_dir: Path, settings_module: str, installed_apps: list[str]) -> list[str]:
    """The top-level packages of the settings and of the apps whose code lives in base_dir."""
    found = []
    for module in [settings_module, *installed_apps]:
        top = module.split(".")[0]
        spec = importlib.util.find_spec(top)
        origin = Path(spec.origin).resolve() if spec and spec.origin else None
        if origin and origin.is_relative_to(base_dir.resolve()) and top not in found:
            found.append(top)
    return found


def local_requirement_files(base_dir: Path, requirements: str) -> list[str]:
    """Files of the project that the requirements text installs (`./dist/app.whl`)."""
    lines = requirements.splitlines()
    return [line.strip() for line in lines if re.match(r"\s*\.{0,2}/\S+$", line) and (base_dir / line.strip()).exists()]


def default_requirements(base_dir: Path, *, ecs: bool = False) -> str:
    """What the image of a project without requirements.txt installs: Django at the version installed here,
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
            _ecr_deploy_requirement(base_dir),
        )
    )


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _ecr_deploy_requirement(base_dir: Path) -> str:
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
    database = databases.get("default", {})
    if database.get("ENGINE") != "django.db.backends.sqlite3" or not database.get("NAME"):
        return None
    path = Path(database["NAME"])
    return path if path.resolve().is_relative_to(base_dir.resolve()) else None


def plan(
    base_dir: Path, settings: Any, settings_module: str, fixtures: list[str], *, ecs: bool = False
) -> list[PlannedFile]:
    """What ecr_deploy_init would write into base_dir, with what is there now; with ecs, the ECS service's
    Terraform (infra/ecs/) and its release role's (infra/release/) too."""
    if not (base_dir / "manage.py").is_file():
        raise ConfigurationError(
            f"{base_dir} is not a Django project: it has no manage.py. Run `python manage.py ecr_deploy_init` "
            "from the project's folder (BASE_DIR of its settings)."
        )
    requirements = "requirements.lock" if (base_dir / "requirements.lock").is_file() else "requirements.txt"
    files: dict[Path, str] = {}
    if (base_dir / requirements).is_file():
        requirements_text = (base_dir / requirements).read_text()
    else:
        requirements_text = files[base_dir / requirements] = default_requirements(base_dir, ecs=ecs)
    local_files = local_requirement_files(base_dir, requirements_text)
    prepare = "python manage.py prepare_image --verbosity 0 --skip-checks"
    database = sqlite_file(base_dir, settings.DATABASES)
    if database is not None:
        folder = database.resolve().parent.relative_to(base_dir.resolve())
        prepare = (
            f"{prepare} && chown app:app {database.name}"  # beside the code: the file only, not the folder
            if str(folder) == "."
            else f"install -d {folder} && {prepare} && chown -R app:app {folder}"
        )
    dockerfile = Template((TEMPLATES / "Dockerfile").read_text()).substitute(
        settings_module=settings_module,
        healthcheck=HEALTHCHECK if HEALTH_MIDDLEWARE in settings.MIDDLEWARE else "",
        requirements=requirements,
        local_requirements="".join(f"COPY {name} {name}\n" for name in local_files),
        pip_flags="--require-hashes " if requirements == "requirements.lock" else "",
        prepare=prepare,
    )
    allowed = [
        "manage.py",
        "Dockerfile",
        requirements,
        *local_files,
        *local_packages(base_dir, settings_module, list(settings.INSTALLED_APPS)),
        *(fixture for fixture in fixtures if (base_dir / fixture).is_file()),
    ]
    dockerignore = Template((TEMPLATES / "dockerignore").read_text()).substitute(
        allowed="\n".join(f"!{name.removeprefix('./')}" for name in allowed)
    )
    files.update({base_dir / "Dockerfile": dockerfile, base_dir / ".dockerignore": dockerignore})
    for folder in ["infra", "infra/ecs", "infra/release"] if ecs else ["infra"]:
        for template in [*sorted((TEMPLATES / folder).glob("*.tf")), TEMPLATES / folder / ".terraform.lock.hcl"]:
            files[base_dir / folder / template.name] = template.read_text()
    return [PlannedFile(path, content, path.read_text() if path.is_file() else None) for path, content in files.items()]


def write_plan(planned: list[PlannedFile], base_dir: Path, *, force: bool, output: Output) -> list[Path]:
    """Write every planned file, or none: an existing file that would change needs force (its diff is shown)."""
    blocked = [item for item in planned if item.existing is not None and item.changed]
    if blocked and not force:
        names = ", ".join(str(item.path) for item in blocked)
        raise ConfigurationError(
            f"{names}: already there and different; nothing was written. --dry-run shows the diff, --force overwrites."
        )
    written = []
    for item in planned:
        if not item.changed:
            continue
        if item.existing is not None:
            output(item.diff(base_dir))
        item.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(item.path, item.content.encode())
        written.append(item.path)
    return written
