"""/health/ for load balancers and Docker's HEALTHCHECK: 200 when the database answers, 503 when it does not.

It runs first among the middleware, so that it answers whatever the Host header (a load balancer's checks
carry the target's private IP) and before any HTTPS redirect; every other path keeps Django's host validation.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from ecr_deploy.defaults import health_path


def database_problem() -> str | None:
    """None when the default database answers a trivial query; otherwise why not, in one line. (Settings that
    could not make a database name the dummy backend, with the reason as its NAME.)"""
    if connection.settings_dict["ENGINE"] == "django.db.backends.dummy":
        return connection.settings_dict.get("NAME") or "no database is configured in settings.DATABASES"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as err:
        connection.close_if_unusable_or_obsolete()
        text = str(err).strip()
        return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
    return None


class HealthCheckMiddleware:
    """Answers GET/HEAD on ECR_DEPLOY['HEALTH_PATH'] itself; passes every other request on. It reads that one key
    only, so a deploy-side value cannot stop the web process. It logs nothing: `manage.py serve` says once at
    start when the database does not answer, the access log shows each 503."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        try:
            self.path = health_path(getattr(settings, "ECR_DEPLOY", {}))
        except ValueError as err:
            raise ImproperlyConfigured(str(err)) from err

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != self.path or request.method not in {"GET", "HEAD"}:
            return self.get_response(request)
        if database_problem():
            return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
        return JsonResponse({"status": "ok", "database": "up"})
