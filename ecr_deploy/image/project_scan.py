"""A Django project read from its files, never by importing it: manage.py's settings module and the production one
beside it, the environment variables the settings read, the dependency files and how they install, the Python
version, and what the image must leave out. Only probe_settings imports settings, in a child process, with a
placeholder for every variable they read."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ecr_deploy.errors import ConfigurationError

#: django-environ's typed readers, by method name; `env(...)` itself reads a string.
ENVIRON_KINDS = {
    "str": "str",
    "bool": "bool",
    "int": "int",
    "float": "float",
    "decimal": "float",
    "json": "json",
    "list": "list",
    "tuple": "list",
    "dict": "dict",
    "url": "url",
    "path": "str",
    "bytes": "str",
    "db": "db",
    "db_url": "db",
    "cache": "cache",
    "cache_url": "cache",
    "email": "email",
    "email_url": "email",
    "search_url": "search",
}
#: The variable django-environ's URL readers read when called without one.
ENVIRON_DEFAULT_VARIABLES = {"db": "DATABASE_URL", "cache": "CACHE_URL", "email": "EMAIL_URL", "search": "SEARCH_URL"}
#: A value of each kind that parses and points nowhere: the settings import with it at build time.
PLACEHOLDERS = {
    "str": "build-placeholder",
    "bool": "false",
    "int": "0",
    "float": "0",
    "json": "{}",
    "list": "localhost",
    "dict": "",
    "url": "https://build-placeholder.invalid/",
    "db": "postgres://build:build@build-placeholder.invalid:5432/build",
    "cache": "locmemcache://",
    "email": "consolemail://",
    "search": "simple://",
}
#: Dependencies that compile against C headers at install: the build stage gets a compiler and these Debian
#: packages, the runtime stage the libraries they link.
COMPILED = {
    "psycopg[c]": (("libpq-dev",), ("libpq5",)),
    "psycopg-c": (("libpq-dev",), ("libpq5",)),
    "psycopg2": (("libpq-dev",), ("libpq5",)),
    # A binary package pinned before the image's Python has no wheel for it: pip builds it from source.
    "psycopg2-binary": (("libpq-dev",), ("libpq5",)),
    "mysqlclient": (("default-libmysqlclient-dev", "pkg-config"), ("libmariadb3",)),
    "uwsgi": ((), ()),
}
ASGI_SERVERS = {"channels", "daphne", "uvicorn"}
DEFAULT_PYTHON = "3.13"


@dataclass(frozen=True)
class EnvironmentRead:
    """One read of an environment variable in a settings file."""

    variable: str
    kind: str
    has_default: bool
    conditional: bool  # under an if, a try or a function: not read on every import
    setting: str | None  # the setting whose assignment reads it
    where: str  # file:line

    @property
    def required(self) -> bool:
        return not self.has_default and not self.conditional


@dataclass(frozen=True)
class Dependencies:
    """How the project declares its dependencies: manager is "pip", "uv", "poetry" or "" (none found)."""

    manager: str
    files: tuple[str, ...] = ()
    requirement: str = ""  # pip's file, relative to the project
    names: frozenset[str] = field(default_factory=frozenset)  # lower-case, extras kept: "psycopg[c]"

    @property
    def compiled(self) -> list[str]:
        """The declared dependencies that need a compiler."""
        return sorted(name for name in self.names if name in COMPILED)


# --- the settings modules ---------------------------------------------------------------------------------------


def manage_py_settings(base_dir: Path) -> str | None:
    """The DJANGO_SETTINGS_MODULE that manage.py sets by default (its os.environ.setdefault)."""
    try:
        tree = ast.parse((base_dir / "manage.py").read_text())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"
        ):
            return node.args[1].value
    return None


def module_file(base_dir: Path, module: str) -> Path | None:
    """The source file of a module of the project (a package's __init__.py), or None when it is not in base_dir."""
    path = base_dir.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _installed_source(module: str) -> Path | None:
    """The source file of a settings module outside the project folder (found on sys.path, not imported)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def production_settings(base_dir: Path, default: str) -> str:
    """A `production` or `prod` module beside the default settings module (config.settings.local ->
    config.settings.production), else the default itself."""
    package = default.rpartition(".")[0]
    for name in ("production", "prod"):
        candidate = f"{package}.{name}" if package else name
        if candidate != default and module_file(base_dir, candidate):
            return candidate
    return default


def settings_warnings(base_dir: Path, module: str) -> list[str]:
    """Why a settings module looks like a development one: its name, or DEBUG = True in its own file."""
    found = []
    last = module.rpartition(".")[2]
    if last in {"local", "dev", "development", "test", "tests"}:
        found.append(f"{module} is named like development settings; pass --settings with your production ones")
    path = module_file(base_dir, module)
    if path is not None and re.search(r"^DEBUG\s*=\s*True\b", path.read_text(), re.MULTILINE):
        found.append(f"{module} sets DEBUG = True: the image would serve every error's traceback")
    return found


def settings_files(base_dir: Path, module: str) -> list[Path]:
    """The settings module's file and those of the project's modules it imports from, recursively
    (`from .base import *`)."""
    found: list[Path] = []
    pending = [module]
    outside = module_file(base_dir, module) is None  # settings on sys.path, beside no manage.py of theirs
    while pending:
        name = pending.pop()
        path = module_file(base_dir, name) or (
            _installed_source(name) if outside and name.split(".")[0] == module.split(".")[0] else None
        )
        if path is None or path in found:
            continue
        found.append(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                try:
                    target = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                except ImportError:  # beyond the top-level package
                    continue
                pending.append(target)
                pending.extend(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


# --- the environment they read ------------------------------------------------------------------------------------


class _Reads(ast.NodeVisitor):
    """Every read of an environment variable in one file, with its context."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.found: list[EnvironmentRead] = []
        self.env_names = {"env"}
        self.scheme_defaults: set[str] = set()
        self.conditional = 0
        self.setting: str | None = None

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Call) and _dotted(value.func) in {"environ.Env", "Env"}:
            self.env_names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
            for keyword in value.keywords:  # Env(DEBUG=(bool, False)): a default for DEBUG
                if keyword.arg and isinstance(keyword.value, ast.Tuple) and len(keyword.value.elts) == 2:
                    self.scheme_defaults.add(keyword.arg)
        names = [target.id for target in node.targets if isinstance(target, ast.Name)]
        subscripted = [target for target in node.targets if isinstance(target, ast.Subscript)]
        outer = self.setting
        if not self.conditional:
            self.setting = names[0] if names else _dotted(subscripted[0].value) if subscripted else None
        self.generic_visit(node)
        self.setting = outer

    def _conditionally(self, node: ast.AST) -> None:
        self.conditional += 1
        self.generic_visit(node)
        self.conditional -= 1

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        self.conditional += 1
        for child in [*node.body, *node.orelse]:
            self.visit(child)
        self.conditional -= 1

    visit_Try = visit_IfExp = visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _conditionally
    visit_For = visit_While = _conditionally

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if _dotted(node.value) in {"os.environ", "environ"} and (name := _string(node.slice)):
            self.add(name, "str", has_default=False, node=node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func)
        first = _string(node.args[0]) if node.args else _keyword_string(node, "var")
        if func in {"os.getenv", "getenv", "os.environ.get", "environ.get", "os.environ.setdefault"} and first:
            self.add(first, "str", has_default=True, node=node)
        elif func == "dj_database_url.config":
            name = _keyword_string(node, "env") or "DATABASE_URL"
            self.add(name, "db", has_default=_has_keyword(node, "default"), node=node)
        elif func and func.split(".")[0] in self.env_names:
            parts = func.split(".")
            kind = "str" if len(parts) == 1 else ENVIRON_KINDS.get(parts[1])
            if kind and len(parts) <= 2:
                name = first or ENVIRON_DEFAULT_VARIABLES.get(kind)
                default_at = 2 if len(parts) == 1 else 1
                has_default = _has_keyword(node, "default") or len(node.args) > default_at
                if name:
                    self.add(name, kind, has_default=has_default or name in self.scheme_defaults, node=node)
        self.generic_visit(node)

    def add(self, name: str, kind: str, *, has_default: bool, node: ast.AST) -> None:
        self.found.append(
            EnvironmentRead(
                variable=name,
                kind=kind,
                has_default=has_default,
                conditional=bool(self.conditional),
                setting=self.setting,
                where=f"{self.where}:{node.lineno}",
            )
        )


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (inner := _dotted(node.value)):
        return f"{inner}.{node.attr}"
    return ""


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword_string(node: ast.Call, name: str) -> str | None:
    return next((_string(keyword.value) for keyword in node.keywords if keyword.arg == name), None)


def _has_keyword(node: ast.Call, name: str) -> bool:
    return any(keyword.arg == name for keyword in node.keywords)


def environment_reads(base_dir: Path, module: str) -> list[EnvironmentRead]:
    """Every environment variable the settings module reads, in its files and those it imports from."""
    found = []
    for path in settings_files(base_dir, module):
        reads = _Reads(os.path.relpath(path, base_dir))
        try:
            reads.visit(ast.parse(path.read_text()))
        except (SyntaxError, ValueError):
            continue
        found += reads.found
    return found


def required_variables(reads: list[EnvironmentRead]) -> list[str]:
    """The variables read on every import with no default: what a deploy must provide."""
    return sorted({read.variable for read in reads if read.required})


def placeholders(reads: list[EnvironmentRead]) -> dict[str, str]:
    """A value for every variable read without a default (conditional or not), of the kind it is read as: read as
    a plain string in one place and as a database URL in another, a database URL."""
    kinds: dict[str, str] = {}
    for read in reads:
        if not read.has_default and kinds.get(read.variable, "str") == "str":
            kinds[read.variable] = read.kind
    return {variable: PLACEHOLDERS[kind] for variable, kind in kinds.items()}


def setting_variable(reads: list[EnvironmentRead], setting: str) -> str | None:
    """The variable whose value a setting is assigned from (ALLOWED_HOSTS <- DJANGO_ALLOWED_HOSTS)."""
    return next((read.variable for read in reads if read.setting == setting and not read.conditional), None)


def database_style(reads: list[EnvironmentRead]) -> str:
    """How the settings read their database: "url" (DATABASE_URL, django-environ or dj-database-url), "postgres"
    (POSTGRES_HOST and its companions) or "parts" (DATABASE_HOST and its companions, database_from_environment's)."""
    names = {read.variable for read in reads}
    if "DATABASE_URL" in names:
        return "url"
    if {"POSTGRES_HOST", "POSTGRES_DB"} & names:
        return "postgres"
    return "parts"


# --- dependencies, Python, what to leave out ----------------------------------------------------------------------


def dependencies(base_dir: Path) -> Dependencies:
    """The project's own dependency files, in the order a project's tooling would prefer them."""
    for name in ("requirements.lock", "requirements.txt", "requirements/production.txt", "requirements/prod.txt"):
        if (base_dir / name).is_file():
            files = requirement_files(base_dir, name)
            names = frozenset(n for path in files for n in requirement_names((base_dir / path).read_text()))
            return Dependencies("pip", tuple(files), name, names)
    if (base_dir / "pyproject.toml").is_file():
        for lock, manager in (("uv.lock", "uv"), ("poetry.lock", "poetry")):
            if (base_dir / lock).is_file():
                text = (base_dir / lock).read_text()
                names = frozenset(
                    name.lower().replace("_", "-") for name in re.findall(r'^name = "([^"]+)"', text, re.MULTILINE)
                )
                return Dependencies(manager, ("pyproject.toml", lock), "", names)
    return Dependencies("")


def requirement_files(base_dir: Path, name: str) -> list[str]:
    """A requirements file and the files its -r and -c lines include, recursively, relative to base_dir."""
    found: list[str] = []
    pending = [name]
    while pending:
        current = pending.pop(0)
        path = base_dir / current
        if current in found or not path.is_file():
            continue
        found.append(current)
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)", line)
            if match:
                included = os.path.normpath(Path(current).parent / match.group(1))
                pending.append(included)
    return found


def requirement_names(text: str) -> list[str]:
    """The distributions a requirements text names, lower-case, with their extras: "psycopg[c]"."""
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?", line)
        if not match or line.startswith("-"):
            continue
        name = match.group(1).lower().replace("_", "-")
        extras = [extra.strip().lower() for extra in (match.group(2) or "[]")[1:-1].split(",") if extra.strip()]
        names += [name, *(f"{name}[{extra}]" for extra in extras)]
    return names


def python_version(base_dir: Path) -> str:
    """major.minor from .python-version, runtime.txt or pyproject.toml's requires-python; DEFAULT_PYTHON else."""
    for name, pattern in (
        (".python-version", r"^\s*(?:python-?|cpython-)?(3\.\d+)"),
        ("runtime.txt", r"^\s*python-(3\.\d+)"),
        ("pyproject.toml", r"^requires-python\s*=\s*\"\s*(?:==|~=)\s*(3\.\d+)"),
    ):
        path = base_dir / name
        if path.is_file() and (match := re.search(pattern, path.read_text(), re.MULTILINE)):
            return match.group(1)
    return DEFAULT_PYTHON


def virtualenvs(base_dir: Path) -> list[str]:
    """Folders of the project, two levels deep at most, that are virtualenvs (they hold a pyvenv.cfg)."""
    found = []
    for depth in ("*/pyvenv.cfg", "*/*/pyvenv.cfg"):
        found += [str(path.parent.relative_to(base_dir)) for path in base_dir.glob(depth)]
    return sorted(found)


def inside_virtualenv(path: Path, base_dir: Path) -> bool:
    """True when path lies in a virtualenv inside base_dir (its packages are not the project's)."""
    for parent in path.resolve().parents:
        if parent == base_dir.resolve():
            return False
        if (parent / "pyvenv.cfg").is_file():
            return True
    return False


def celery_app(base_dir: Path) -> str | None:
    """The module that makes the project's Celery application (`app = Celery(...)`), two package levels deep at
    most, outside virtualenvs: what `celery -A` names."""
    for pattern in ("*.py", "*/*.py", "*/*/*.py"):
        for path in sorted(base_dir.glob(pattern)):
            if inside_virtualenv(path, base_dir) or "Celery(" not in path.read_text(errors="replace"):
                continue
            return ".".join(path.relative_to(base_dir).with_suffix("").parts)
    return None


@dataclass(frozen=True)
class NodeBuild:
    """A front end that package.json's build script makes with npm."""

    install: str  # npm ci with a lock file, npm install without one
    files: tuple[str, ...]  # what the build reads besides the static folders: package files, tools' configs, sources


#: Top-level names that front-end builds read: their tools' configuration (never .npmrc, which may hold a token).
NODE_CONFIG = re.compile(
    r"^(?:[\w.-]+\.config\.[cm]?[jt]s|tsconfig[\w.-]*\.json|\.babelrc(?:\.\w+)?|\.browserslistrc|\.postcssrc(?:\.\w+)?)$"
)
#: Top-level folders that usually hold a front end's sources or build configuration.
NODE_FOLDERS = ("assets", "frontend", "webpack")
NODE_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")


def node_build(base_dir: Path) -> NodeBuild | None:
    """The npm build of package.json's build script, or None when it has none."""
    try:
        scripts = json.loads((base_dir / "package.json").read_text()).get("scripts", {})
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(scripts, dict) or "build" not in scripts:
        return None
    locks = [name for name in NODE_LOCKS if (base_dir / name).is_file()]
    configs = sorted(path.name for path in base_dir.iterdir() if path.is_file() and NODE_CONFIG.match(path.name))
    folders = [name for name in NODE_FOLDERS if (base_dir / name).is_dir()]
    return NodeBuild("npm ci" if locks else "npm install", ("package.json", *locks, *configs, *folders))


# --- the settings' values, imported in a child process ------------------------------------------------------------

#: The settings values the image depends on.
SETTINGS_NAMES = (
    "DEBUG",
    "INSTALLED_APPS",
    "MIDDLEWARE",
    "STATIC_ROOT",
    "STATIC_URL",
    "MEDIA_ROOT",
    "STATICFILES_DIRS",
    "LOCALE_PATHS",
    "TEMPLATES",
    "DATABASES",
    "STORAGES",
    "WSGI_APPLICATION",
    "ASGI_APPLICATION",
)
PROBE = """
import json, sys
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in sys.argv[1:]}, default=str))
"""


def probe_settings(base_dir: Path, module: str, reads: list[EnvironmentRead]) -> dict:
    """The settings module's values that the image depends on, imported in a child process as the image's build
    imports them: none of the variables they read is set (this shell's are the developer's), but a placeholder for
    each read without a default."""
    read = {item.variable for item in reads}
    environment = {name: value for name, value in os.environ.items() if name not in read}
    environment.update({**placeholders(reads), "DJANGO_SETTINGS_MODULE": module})
    environment["PYTHONPATH"] = os.pathsep.join([str(base_dir), *filter(None, [os.environ.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *SETTINGS_NAMES],
        cwd=base_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigurationError(
            f"Cannot import the settings {module!r} with a placeholder for each variable they read ({last}). "
            "Fix them, or pass --settings with the module the image should run."
        )
    return json.loads(done.stdout.strip().splitlines()[-1])
