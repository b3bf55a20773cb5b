"""The Django matrix: the tests that need no engine, on each supported Django with a Python it supports, in venvs
made by uv. `make test` runs the oldest and the newest after the suite (`nox -s oldest newest`). `nox` (`make
matrix`) runs every Django, and then serves a `startproject` of each: initialised, built, published and served
through the local AWS (the `each_django` test; the suite runs it on the course API's Django).

Each session first proves that installing django-ecr-deploy leaves the project's Django where it was."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True  # a missing Python fails the session: no silent skip
nox.options.sessions = ["django"]  # `nox`: every Django once (oldest and newest are two of them, for make test)

#: Each supported Django with the Python it is tested on: 4.2 on the oldest Python the package supports, 6.1 on the
#: newest this machine has (3.14 is not in pyenv here).
MATRIX = [("4.2", "3.10"), ("5.2", "3.11"), ("6.0", "3.12"), ("6.1", "3.13")]

# pyenv's Pythons, for uv to find by version (python3.10 ...), when they are not on PATH already.
os.environ["PATH"] = os.pathsep.join(
    [*sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin"))), os.environ.get("PATH", "")]
)


@nox.session
@nox.parametrize(("django", "python"), MATRIX, ids=[django for django, _ in MATRIX])
def django(session: nox.Session, django: str) -> None:
    """One supported Django, and a new project of it served: `nox -s "django(4.2)"`."""
    run_on(session, django)
    session.run("python", "-m", "pytest", "-q", "-m", "each_django", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=MATRIX[0][1])
def oldest(session: nox.Session) -> None:
    """The oldest supported Django."""
    run_on(session, MATRIX[0][0])


@nox.session(python=MATRIX[-1][1])
def newest(session: nox.Session) -> None:
    """The newest Django."""
    run_on(session, MATRIX[-1][0])


def run_on(session: nox.Session, django: str) -> None:
    """Django `django`.*, then the package with its dependencies (Django must not move), then the tests' own
    requirements with Django kept at that version (requirements.txt pins the course API's 5.2), then the tests that need
    no engine. Bytecode is compiled once at install and kept: each of the tests' `manage.py` processes would compile
    Django again."""
    session.env.update({"UV_COMPILE_BYTECODE": "1", "PYTHONDONTWRITEBYTECODE": ""})
    session.install(f"Django=={django}.*", "--system-certs")
    before = installed_django(session)
    session.install("-e", ".[deploy]", "--system-certs")
    after = installed_django(session)
    if after != before:
        session.error(f"Installing django-ecr-deploy moved Django from {before} to {after}.")
    session.log(f"Django {after}: unchanged by installing django-ecr-deploy")
    override = Path(session.create_tmp()) / "django.txt"
    override.write_text(f"Django=={after}\n")
    session.install("-r", "requirements.txt", "-e", ".[deploy,dev]", "--override", str(override), "--system-certs")
    session.run(
        "python", "-m", "pytest", "-q", "-n", "2", "-m", "not engine", "-p", "no:cacheprovider", *session.posargs
    )


def installed_django(session: nox.Session) -> str:
    return session.run("python", "-c", "import django; print(django.__version__)", silent=True).strip()
