"""The project's WSGI application with its static files served by WhiteNoise, for a project that serves none itself
(no WhiteNoise middleware, no storage of its own for them): gunicorn serves this one then (manage.py serve)."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string
from whitenoise import WhiteNoise

application = WhiteNoise(
    import_string(settings.WSGI_APPLICATION), root=settings.STATIC_ROOT, prefix=settings.STATIC_URL
)
