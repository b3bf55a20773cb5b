"""HTTP as a client on the network sees it: one request at a time, any Host header, nothing cached."""

from __future__ import annotations

import base64
import http.client
import json
import time
from urllib.parse import urlsplit


def request(url: str, path: str, method: str = "GET", host: str | None = None, body=None, headers=None):
    """One HTTP request: (status, headers, body bytes)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    sent = {"Host": host or parts.netloc, **(headers or {})}
    if body is not None:
        body = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def wait_for(url: str, path: str = "/health/", seconds: float = 30, host: str = "localhost") -> int:
    """The status of path once the server answers at all."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return request(url, path, host=host)[0]
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")
