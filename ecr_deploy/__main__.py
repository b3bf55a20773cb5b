"""`python -m ecr_deploy init [--force] [--dry-run]`: ecr_deploy_init from the project's folder, also when its
settings do not import yet (manage.py stops on those with a traceback) or do not list ecr_deploy."""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if argv[:1] != ["init"]:
        print("usage: python -m ecr_deploy init [--force] [--dry-run]", file=sys.stderr)
        return 2
    module = os.environ.get("DJANGO_SETTINGS_MODULE")
    if not module:
        print("Set DJANGO_SETTINGS_MODULE to the project's settings, e.g. loja.settings.", file=sys.stderr)
        return 1
    sys.path.insert(0, os.getcwd())
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except (ImportError, ImproperlyConfigured, SyntaxError) as err:
        print(f"Cannot import the settings {module!r} ({err}); fix them, then run this again.", file=sys.stderr)
        return 1
    from ecr_deploy.management.commands.ecr_deploy_init import Command

    Command().run_from_argv(["python -m ecr_deploy", "ecr_deploy_init", *argv[1:]])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
