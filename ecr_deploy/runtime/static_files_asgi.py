"""The project's ASGI application with STATIC_ROOT's files served in front of it, as WhiteNoise serves them to WSGI
(its headers, its compressed variants, its caching of hashed names), for an ASGI project that serves none itself:
WhiteNoise has no ASGI side. gunicorn's uvicorn worker serves this one then (manage.py serve)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from whitenoise import WhiteNoise

from ecr_deploy.runtime.serve import project_asgi_application

ASGIApplication = Callable[[dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Any]


class StaticFilesFirst:
    """An ASGI application that answers GET and HEAD for a collected static file, and passes the rest on."""

    def __init__(self, application: ASGIApplication, collected: WhiteNoise) -> None:
        self.application = application
        self.collected = collected

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        found = (
            self.collected.files.get(scope["path"])
            if scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
            else None
        )
        if found is None:
            await self.application(scope, receive, send)
            return
        request_headers = {
            "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        response = found.get_response(scope["method"], request_headers)
        await send(
            {
                "type": "http.response.start",
                "status": int(response.status),
                "headers": [
                    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
                ],
            }
        )
        body = b""
        if response.file is not None:
            with response.file as file:
                body = await asyncio.to_thread(file.read)
        await send({"type": "http.response.body", "body": body})


application = StaticFilesFirst(
    import_string(project_asgi_application(settings)),
    WhiteNoise(None, root=settings.STATIC_ROOT, prefix=settings.STATIC_URL),
)
