from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from ecr_deploy.runtime.fixtures import load_once


class Command(BaseCommand):
    help = "Load fixtures this database has never been given (deploy_ecs runs it after migrate); never twice."

    def add_arguments(self, parser):
        parser.add_argument("fixtures", nargs="+", help="fixture names, as for loaddata")

    def handle(self, *args, fixtures, **options):
        try:
            loaded = load_once(fixtures, verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        except DatabaseError as err:
            raise CommandError(f"Loading {' '.join(fixtures)} failed, nothing was loaded: {err}") from err
        remaining = [name for name in fixtures if name not in loaded]
        if remaining:
            self.stdout.write(f"Already loaded into this database, not loaded again: {' '.join(remaining)}")
