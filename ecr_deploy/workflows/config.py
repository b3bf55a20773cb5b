"""config_ecs: the variables a service's tasks get from Parameter Store, set, unset, listed and imported from a .env
file. Every input is checked before anything is written; a value never reaches the output."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecr_deploy.aws.parameters import MAX_VALUE_BYTES, Parameter, ParameterStore, configuration_path
from ecr_deploy.defaults import DATABASE_VARIABLE_NAMES, SETTING_VARIABLES, STORAGE_SETTING_VARIABLES
from ecr_deploy.environments import Environment
from ecr_deploy.errors import ConfigurationError

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_LINE = re.compile(r"^(?:export\s+)?(?P<key>[^=\s]+)\s*=\s*(?P<value>.*)$")


@dataclass(frozen=True)
class Listed:
    """One variable as config_ecs list shows it: a plain value, or a secret's last change only."""

    key: str
    secret: bool
    changed: str
    value: str | None


def store(environment: Environment, session: Any) -> ParameterStore:
    return ParameterStore(session, configuration_path(environment.ecs.service, environment.name))


def reserved_names(environment: Environment) -> set[str]:
    """The variables deploy_ecs sets itself: the settings' switches, under its names and the project's, the
    database's of every style, and the storage bucket's with STORAGE."""
    storage = environment.ecs.storage
    return (
        set(SETTING_VARIABLES.values())
        | set(environment.ecs.variables.values())
        | {name for names in DATABASE_VARIABLE_NAMES.values() for name in names}
        | ({storage.bucket_variable, *filter(None, STORAGE_SETTING_VARIABLES.values())} if storage else set())
    )


def check_values(environment: Environment, values: dict[str, str]) -> None:
    """Each key an environment variable's name that deploy_ecs does not set itself, each value non-empty and within
    Parameter Store's size; every problem at once, before anything is written."""
    problems = []
    reserved = reserved_names(environment)
    for key, value in values.items():
        if not VARIABLE_NAME.fullmatch(key):
            problems.append(f"{key!r} is not an environment variable's name (letters, digits and _, not a digit first)")
        elif key in reserved:
            problems.append(f"{key} is set by deploy_ecs itself")
        elif value == "":
            problems.append(f"{key} has an empty value (config_ecs unset {key} removes it)")
        elif len(value.encode()) > MAX_VALUE_BYTES:
            problems.append(f"{key}'s value is over Parameter Store's {MAX_VALUE_BYTES} bytes")
    if problems:
        raise ConfigurationError("; ".join(problems) + ". Nothing was written.")


def assignments(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE arguments as a dict."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals:
            raise ConfigurationError(
                f"{key!r} has no value: write KEY=VALUE, or --secret {key} to be asked for it. Nothing was written."
            )
        found[key] = value
    return found


def parse_env_file(path: Path) -> dict[str, str]:
    """A .env file's KEY=VALUE lines (comments, blank lines and `export ` allowed; a value may be quoted)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigurationError(f"Cannot read {path}: {getattr(err, 'strerror', None) or err}.") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = ENV_LINE.match(stripped)
        if match is None:
            raise ConfigurationError(f"{path}:{number} is not KEY=VALUE. Nothing was written.")
        value = match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[match["key"]] = value
    return found


def set_values(parameters: ParameterStore, environment: Environment, values: dict[str, str], secrets: set[str]) -> None:
    check_values(environment, values)
    for key, value in values.items():
        parameters.put(key, value, secret=key in secrets)


def unset_values(parameters: ParameterStore, keys: list[str]) -> list[str]:
    """Remove the keys; those that were not set are refused, with nothing removed."""
    present = {parameter.key for parameter in parameters.parameters()}
    missing = [key for key in keys if key not in present]
    if missing:
        raise ConfigurationError(f"Not set: {', '.join(missing)}. Nothing was removed.")
    parameters.delete(keys)
    return keys


def listed(parameters: list[Parameter]) -> list[Listed]:
    return [
        Listed(
            key=parameter.key,
            secret=parameter.secret,
            changed=parameter.changed.isoformat(timespec="seconds"),
            value=None if parameter.secret else parameter.value,
        )
        for parameter in parameters
    ]


def undeployed_changes(store: ParameterStore, definition: dict[str, Any], container: str) -> list[str]:
    """What the next deploy_ecs changes of the configuration the revision runs with: a variable set or changed since
    it was registered, or one unset that it still reads."""
    parameters = store.parameters()
    path_arns = {parameter.arn for parameter in parameters}
    read = {
        secret["name"]: secret["valueFrom"]
        for item in definition["containerDefinitions"]
        if item["name"] == container
        for secret in item.get("secrets", [])
    }
    registered = definition.get("registeredAt")
    found = []
    for parameter in parameters:
        if read.get(parameter.key) != parameter.arn:
            found.append(f"{parameter.key} set, not deployed")
        elif registered and parameter.changed > registered:
            found.append(f"{parameter.key} changed since {definition['family']}:{definition['revision']} was deployed")
    under_path = store.arn("")
    found += [
        f"{key} unset, still deployed"
        for key, arn in read.items()
        if arn.startswith(under_path) and arn not in path_arns
    ]
    return found
