"""`python -m ecr_deploy init [--settings MODULE] [--ecs] [--force] [--dry-run]`: ecr_deploy_init from the project's
folder, also when its settings need a runtime environment to import (manage.py stops on those with a traceback) or
do not list ecr_deploy yet. It runs with manage.py's default settings (DJANGO_SETTINGS_MODULE when set), each
variable they read with no value given a placeholder; --settings names the module the image runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

USAGE = "usage: python -m ecr_deploy init [--settings MODULE] [--ecs] [--force] [--dry-run] [--dockerfile NAME]"


def main(argv: list[str]) -> int:
    if argv[:1] != ["init"]:
        print(USAGE, file=sys.stderr)
        return 2
    arguments = list(argv[1:])
    image_settings = []
    if "--settings" in arguments:
        at = arguments.index("--settings")
        if at + 1 >= len(arguments):
            print(USAGE, file=sys.stderr)
            return 2
        image_settings = ["--image-settings", arguments[at + 1]]
        del arguments[at : at + 2]
    base_dir = Path.cwd()
    from ecr_deploy.image import project_scan

    module = os.environ.get("DJANGO_SETTINGS_MODULE") or project_scan.manage_py_settings(base_dir)
    if not module:
        print(
            "manage.py sets no default DJANGO_SETTINGS_MODULE; set it to the project's settings, e.g. loja.settings.",
            file=sys.stderr,
        )
        return 1
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    placeholders = project_scan.placeholders(project_scan.environment_reads(base_dir, module))
    for name, value in placeholders.items():
        os.environ.setdefault(name, value)
    sys.path.insert(0, str(base_dir))
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except (ImportError, ImproperlyConfigured, SyntaxError) as err:
        print(f"Cannot import the settings {module!r} ({err}); fix them, then run this again.", file=sys.stderr)
        return 1
    from ecr_deploy.management.commands.ecr_deploy_init import Command

    Command().run_from_argv(["python -m ecr_deploy", "ecr_deploy_init", *image_settings, *arguments])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
