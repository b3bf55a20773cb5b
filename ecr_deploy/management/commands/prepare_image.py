from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError

from ecr_deploy import conf
from ecr_deploy.image.settings_patch import patch_allowed_hosts, settings_file
from ecr_deploy.management.commands._base import EcrDeployCommand


class Command(EcrDeployCommand):
    help = (
        "What the Dockerfile runs at build time: patch ALLOWED_HOSTS, migrate, load the fixtures (all or nothing), "
        "collect the static files (when STATIC_ROOT is set)."
    )
    own_output = False  # runs inside the image

    def handle(self, *args, **options):
        path = settings_file(conf.settings_module())
        result = patch_allowed_hosts(path, list(conf.get("ALLOWED_HOSTS")))
        self.progress(self.style.MIGRATE_HEADING(f"ALLOWED_HOSTS = {result.new_hosts!r} in {path.name}"))
        call_command("migrate", interactive=False, verbosity=self.verbosity, stdout=self.stdout, stderr=self.stderr)
        fixtures = list(conf.get("FIXTURES"))
        if fixtures:
            self.load_fixtures(fixtures)
        if apps.is_installed("django.contrib.staticfiles") and getattr(settings, "STATIC_ROOT", None):
            call_command("collectstatic", interactive=False, verbosity=self.verbosity, stdout=self.stdout)

    def load_fixtures(self, fixtures: list[str]) -> None:
        """Load every fixture in one transaction: any failure leaves none of their rows."""
        try:
            call_command("loaddata", *fixtures, verbosity=self.verbosity, stdout=self.stdout, stderr=self.stderr)
        except (DeserializationError, DatabaseError, ValidationError, ValueError, LookupError) as err:
            first_line = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            raise CommandError(f"loaddata {' '.join(fixtures)} failed, nothing was loaded: {first_line}") from err
