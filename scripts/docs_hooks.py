"""The documentation's references, made from the code at each build (mkdocs.yml's hook): every management command
with its flags (from its parser), every ECR_DEPLOY key (from DEFAULTS and KEYS), the Terraform variables of each
folder (from their descriptions) and the checkov skips with their reasons. A page holds `<!-- generated: NAME -->`
where its reference goes. Anything without its text (a flag without help, a key without its line in KEYS, a
variable without a description) stops the build, so the references cannot drift from the code."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARK = re.compile(r"<!-- generated: ([a-z-]+) -->")
#: Django's own options, the same on every command: said once, on the page.
DJANGO_OPTIONS = {
    *("version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "help", "skip_checks")
}
TERRAFORM_FOLDERS = {
    "infra": "the ECR repository (publish_ecr)",
    "infra/ecs": "the service (provision_ecs)",
    "infra/release": "the release role (release_role)",
}
CHECKOV_SCANNED = ["infra/*.tf", "infra/*/*.tf", "Dockerfile", "ecr_deploy/image/project_template/Dockerfile"]


class DocumentationGap(Exception):
    """A piece of the code has no text for its reference."""


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def command_reference(commands: Iterable[tuple[str, Any]]) -> str:
    """A section per command, from its parser: usage, its help, and a table of its own flags."""
    sections = []
    for name, command in commands:
        if not (command.help or "").strip():
            raise DocumentationGap(f"manage.py {name} has no help text")
        parser = command.create_parser("manage.py", name)
        rows = []
        for action in parser._actions:
            if action.dest in DJANGO_OPTIONS or action.help == argparse.SUPPRESS:
                continue
            flags = ", ".join(f"`{flag}`" for flag in action.option_strings) or f"`{action.dest}`"
            if not (action.help or "").strip():
                raise DocumentationGap(f"manage.py {name}: {flags} has no help text")
            default = (
                ""
                if action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings
                else f"`{action.default}`"
            )
            rows.append(
                f"| {flags} | {_cell(action.help % vars(action) if '%(' in action.help else action.help)} | {default} |"
            )
        usage = parser.format_usage().removeprefix("usage: ").strip()
        table = "| flag | meaning | default |\n|---|---|---|\n" + "\n".join(rows) if rows else "No flags of its own."
        sections.append(f"## {name}\n\n{_cell(command.help)}\n\n```\n{usage}\n```\n\n{table}\n")
    return "\n".join(sections)


def ecr_deploy_commands() -> list[tuple[str, Any]]:
    """ecr_deploy's management commands, by name."""
    from django.core.management import load_command_class

    folder = ROOT / "ecr_deploy" / "management" / "commands"
    names = sorted(path.stem for path in folder.glob("*.py") if not path.stem.startswith("_"))
    return [(name, load_command_class("ecr_deploy", name)) for name in names]


def settings_reference(defaults: dict[str, dict[str, Any]], keys: dict[str, tuple[str, str]]) -> str:
    """A table per dict of ECR_DEPLOY (the top level, ECS, STATE): each key's type, default and meaning."""
    tables = []
    for prefix, values in defaults.items():
        rows = []
        for key, default in values.items():
            path = f"{prefix}.{key}" if prefix else key
            if path not in keys:
                raise DocumentationGap(f"ECR_DEPLOY key {path} has no type and meaning in ecr_deploy.defaults.KEYS")
            kind, meaning = keys[path]
            rows.append(f"| `{key}` | `{kind}` | `{default!r}` | {_cell(meaning)} |")
        unknown = {path for path in keys if path.rpartition(".")[0] == prefix} - {
            f"{prefix}.{key}" if prefix else key for key in values
        }
        if prefix and unknown:
            raise DocumentationGap(f"ecr_deploy.defaults.KEYS describes keys that have no default: {sorted(unknown)}")
        title = "`ECR_DEPLOY" + "".join(f'["{part}"]' for part in prefix.split(".") if part) + "`"
        tables.append(f"## {title}\n\n| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return "\n".join(tables)


VARIABLE = re.compile(r'^variable "([^"]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)


def terraform_reference(root: Path = ROOT) -> str:
    """A table per Terraform folder: each variable's type, default and description."""
    sections = []
    for folder, role in TERRAFORM_FOLDERS.items():
        rows = []
        for path in sorted((root / folder).glob("*.tf")):
            for name, body in VARIABLE.findall(path.read_text()):
                description = re.search(r'^  description\s*=\s*"((?:[^"\\]|\\.)*)"', body, re.MULTILINE)
                if not description:
                    raise DocumentationGap(f"{folder}/{path.name}: variable {name} has no description")
                kind = re.search(r"^  type\s*=\s*(.+)$", body, re.MULTILINE)
                default = re.search(r"^  default\s*=\s*(.+)$", body, re.MULTILINE)
                rows.append(
                    f"| `{name}` | `{_cell(kind.group(1)) if kind else 'any'}` | "
                    f"{f'`{_cell(default.group(1))}`' if default else 'required'} | {_cell(description.group(1))} |"
                )
        sections.append(
            f"## `{folder}/`: {role}\n\n| variable | type | default | description |\n|---|---|---|---|\n"
            + "\n".join(rows)
            + "\n"
        )
    return "\n".join(sections)


SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+):(.+)$", re.MULTILINE)


def checkov_skips(root: Path = ROOT) -> str:
    """Every deliberate checkov exception, where it is and why."""
    rows = []
    for pattern in CHECKOV_SCANNED:
        for path in sorted(root.glob(pattern)):
            for check, reason in SKIP.findall(path.read_text()):
                rows.append(f"| `{path.relative_to(root)}` | `{check}` | {_cell(reason)} |")
    return "| file | check | why it is skipped |\n|---|---|---|\n" + "\n".join(rows) + "\n"


def generated(name: str) -> str:
    from ecr_deploy.defaults import DEFAULTS, ECS_DEFAULTS, KEYS, STATE_DEFAULTS, STORAGE_DEFAULTS

    makers = {
        "commands": lambda: command_reference(ecr_deploy_commands()),
        "settings": lambda: settings_reference(
            {"": DEFAULTS, "ECS": ECS_DEFAULTS, "ECS.STORAGE": STORAGE_DEFAULTS, "STATE": STATE_DEFAULTS}, KEYS
        ),
        "terraform": terraform_reference,
        "checkov-skips": checkov_skips,
    }
    if name not in makers:
        raise DocumentationGap(f"no reference is named {name!r} (known: {', '.join(makers)})")
    return makers[name]()


# --- MkDocs' hook events ------------------------------------------------------------------------------------------


def on_config(config, **_):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "setup.settings")
    import django

    django.setup()
    return config


def on_page_markdown(markdown: str, page, **_) -> str:
    from mkdocs.exceptions import PluginError

    try:
        return MARK.sub(lambda found: generated(found.group(1)), markdown)
    except DocumentationGap as gap:
        raise PluginError(f"{page.file.src_uri}: {gap}") from None
