from pathlib import Path

from django.core.management.base import CommandError

from ecr_deploy import conf
from ecr_deploy.image.settings_patch import patch_allowed_hosts, settings_file
from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = "Set ALLOWED_HOSTS in the active settings file (default ['*'], as the course's sed did), whatever its formatting."
    own_output = False  # runs inside the image

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", action="append", dest="hosts", metavar="H", help="A host to allow; repeat for more."
        )
        parser.add_argument("--check", action="store_true", help="Write nothing; exit 1 when a change is needed.")
        parser.add_argument("--diff", action="store_true", help="Show the change as a unified diff.")
        parser.add_argument("--file", type=Path, help="The settings file (default: the file of the settings module).")

    def handle(self, *args, hosts, check, diff, file, **options):
        path = file or settings_file(conf.settings_module())
        result = patch_allowed_hosts(path, hosts or list(conf.get("ALLOWED_HOSTS")), write=not check)
        if diff and result.diff:
            self.stdout.write(result.diff, ending="")
        if check and result.changed:
            raise CommandError(f"{path}: ALLOWED_HOSTS is {result.old_hosts!r}; it needs {result.new_hosts!r}.")
        if not result.changed:
            self.progress(f"{path}: ALLOWED_HOSTS is already {result.old_hosts!r}.")
        elif not check:
            self.progress(self.style.SUCCESS(f"{path}: ALLOWED_HOSTS {result.old_hosts!r} -> {result.new_hosts!r}."))
