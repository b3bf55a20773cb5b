import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ecr_deploy.runtime.health import database_problem
from ecr_deploy.runtime.serve import (
    asgi_application,
    ensure_superuser,
    gunicorn_argv,
    gunicorn_version,
    with_secret_key,
    wsgi_application,
)


class Command(BaseCommand):
    help = "Start the image's web server: a secret key if none is set, the admin user, then gunicorn on 0.0.0.0:8000."
    requires_system_checks = []

    def handle(self, *args, **options):
        environ, warning = with_secret_key(os.environ)
        if warning:
            self.stderr.write(f"WARNING: {warning}", style_func=self.style.WARNING)
        problem = database_problem()
        if problem:
            self.stderr.write(f"ERROR: the database does not answer ({problem}); /health/ answers 503 until it does.")
        else:
            self.report(ensure_superuser(environ))
        asgi = asgi_application(settings)
        argv = gunicorn_argv(asgi or wsgi_application(settings), environ, gunicorn_version(), asgi=bool(asgi))
        connections.close_all()
        self.stdout.flush()
        try:
            os.execvpe(argv[0], argv, environ)
        except OSError as err:
            raise CommandError(f"Cannot start {argv[0]}: {err.strerror}; install it (requirements.txt).") from err

    def report(self, line: str | None) -> None:
        if line:
            self.stdout.write(line)
