"""What the image does when a container starts (`manage.py serve`): a secret key if none was given, the admin
user from DJANGO_SUPERUSER_*, then gunicorn in the process's place."""

from __future__ import annotations

import importlib.util
import math
import os
import secrets
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError

from ecr_deploy.common import first_line


def with_secret_key(environ: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """environ with DJANGO_SECRET_KEY, made for this container when absent (all workers inherit it),
    and the warning to log when it was made."""
    if environ.get("DJANGO_SECRET_KEY"):
        return dict(environ), None
    warning = (
        "DJANGO_SECRET_KEY is not set: a random key was made for this container. Sessions and signed data "
        "will not survive a restart or be shared between containers; set DJANGO_SECRET_KEY in production."
    )
    return {**environ, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}, warning


def available_cpus(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """CPUs this container may use: its cgroup quota (`docker run --cpus`), else the CPUs it may run on."""
    try:
        quota, period = cgroup.read_text().split()
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return len(os.sched_getaffinity(0))


WHITENOISE_MIDDLEWARE = "whitenoise.middleware.WhiteNoiseMiddleware"
STATIC_FILES_APPLICATION = "ecr_deploy.runtime.static_files.application"
LOCAL_STATIC_STORAGES = ("django.contrib.staticfiles.storage.", "whitenoise.storage.")


def serves_no_static_files(settings: Any) -> bool:
    """The project collects static files to STATIC_ROOT and serves them from nowhere (no WhiteNoise middleware, a
    local storage), and the image has WhiteNoise to serve them."""
    storages = getattr(settings, "STORAGES", None) or {}
    storage = (storages.get("staticfiles") or {}).get("BACKEND", "django.contrib.staticfiles.storage.")
    return bool(
        "django.contrib.staticfiles" in settings.INSTALLED_APPS
        and getattr(settings, "STATIC_ROOT", None)
        and str(getattr(settings, "STATIC_URL", "") or "").startswith("/")
        and WHITENOISE_MIDDLEWARE not in settings.MIDDLEWARE
        and storage.startswith(LOCAL_STATIC_STORAGES)
        and importlib.util.find_spec("whitenoise") is not None
    )


def wsgi_application(settings: Any) -> str:
    """The WSGI application gunicorn serves: the project's own, or it wrapped in WhiteNoise when the project serves
    no static files itself."""
    return STATIC_FILES_APPLICATION if serves_no_static_files(settings) else settings.WSGI_APPLICATION


UVICORN_WORKER = "uvicorn_worker.UvicornWorker"
STATIC_FILES_ASGI_APPLICATION = "ecr_deploy.runtime.static_files_asgi.application"


def project_asgi_application(settings: Any) -> str | None:
    """The project's ASGI application: ASGI_APPLICATION, else the asgi module beside its WSGI_APPLICATION's
    (config.wsgi.application -> config.asgi.application)."""
    if getattr(settings, "ASGI_APPLICATION", None):
        return settings.ASGI_APPLICATION
    module, _, attribute = settings.WSGI_APPLICATION.rpartition(".")
    package, _, last = module.rpartition(".")
    candidate = f"{package}.asgi" if last == "wsgi" and package else None
    return f"{candidate}.{attribute}" if candidate and importlib.util.find_spec(candidate) else None


def asgi_application(settings: Any) -> str | None:
    """The ASGI application gunicorn serves when the project serves ASGI and the image has uvicorn's gunicorn worker
    (ecr_deploy_init adds it for a project with channels, daphne or uvicorn): the project's own, or it behind
    STATIC_ROOT's files when the project serves no static files itself."""
    own = project_asgi_application(settings) if importlib.util.find_spec("uvicorn_worker") else None
    if own is None:
        return None
    return STATIC_FILES_ASGI_APPLICATION if serves_no_static_files(settings) else own


def gunicorn_version() -> tuple[int, ...]:
    """The installed gunicorn's major and minor version (the project's pin, which the image keeps)."""
    return tuple(int(part) for part in metadata.version("gunicorn").split(".")[:2] if part.isdigit())


def gunicorn_argv(
    application: str, environ: Mapping[str, str], version: tuple[int, ...] = (25, 0), *, asgi: bool = False
) -> list[str]:
    """gunicorn's command line: WEB_CONCURRENCY workers (default one per CPU plus one: a request here waits on
    little but the CPU, and more processes than that only trade places on it) of GUNICORN_THREADS threads
    (default 1) on 0.0.0.0:$PORT (default 8000), access log on stdout, in-flight requests finished on SIGTERM
    within docker's stop timeout, and no control socket (gunicorn 25 and later open one). GUNICORN_CMD_ARGS adds
    flags (gunicorn reads it itself). An ASGI application runs in uvicorn's worker."""
    module, _, attribute = application.rpartition(".")
    workers = environ.get("WEB_CONCURRENCY") or str(available_cpus() + 1)
    return [
        "gunicorn",
        f"{module}:{attribute}",
        "--bind",
        f"0.0.0.0:{environ.get('PORT') or 8000}",
        "--workers",
        workers,
        "--threads",
        environ.get("GUNICORN_THREADS") or "1",
        "--preload",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "8",
        "--worker-tmp-dir",
        "/dev/shm",
        *(["--no-control-socket"] if version >= (25, 0) else []),
        *(["--worker-class", UVICORN_WORKER] if asgi else []),
    ]


def ensure_superuser(environ: Mapping[str, str]) -> str | None:
    """Create the admin user from DJANGO_SUPERUSER_USERNAME/PASSWORD/EMAIL once (Django's createsuperuser
    --noinput); what happened, in one line, or None when they are not given."""
    username = environ.get("DJANGO_SUPERUSER_USERNAME")
    if not username or not environ.get("DJANGO_SUPERUSER_PASSWORD"):
        return None
    users = get_user_model()._default_manager
    try:
        if users.filter(**{get_user_model().USERNAME_FIELD: username}).exists():
            return f"Superuser {username} exists."
        call_command("createsuperuser", interactive=False, verbosity=0)
    except DatabaseError as err:
        return f"Superuser {username} not created: the database is not ready ({first_line(err)}); run migrate, then restart."
    except CommandError as err:
        return f"Superuser {username} not created: {first_line(err)}"
    return f"Superuser {username} created."
