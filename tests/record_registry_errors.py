"""Records what dockerd says when a registry refuses or fails, for the table-driven tests of
classify_registry_error (tests/data/registry_errors.json). Run as root with dockerd up:

    .venv/bin/python -m tests.record_registry_errors

Each scenario is real: the Debian registry with a wrong password, read-only, or stopped, and a small HTTPS
server that answers every request with one status and the distribution spec's error body.
"""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import docker.errors

from tests.registries import FAULT_REGIONS, FaultRegistry, claim_region, remove_system_changes

OUT = Path(__file__).parent / "data" / "registry_errors.json"
STATUS_BODIES = {
    500: ("UNKNOWN", "unknown error"),
    502: (None, "Bad Gateway"),
    503: ("UNAVAILABLE", "service unavailable"),
    429: ("TOOMANYREQUESTS", "Rate exceeded"),
    403: ("DENIED", "User is not authorized to perform: ecr:InitiateLayerUpload"),
}


def serve_status(status: int, address: str, certfile: Path, keyfile: Path) -> ThreadingHTTPServer:
    code, message = STATUS_BODIES[status]

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if self.path == "/v2/" and status != 401:
                self.send_response(200)
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                return
            body = json.dumps({"errors": [{"code": code, "message": message}]} if code else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "7")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((address, 443), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def push_error(client: docker.DockerClient, uri: str, auth: dict) -> str:
    for chunk in client.api.push(uri, tag="V1", auth_config=auth, stream=True, decode=True):
        if "errorDetail" in chunk or "error" in chunk:
            return (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
    return ""


def inspect_error(client: docker.DockerClient, uri: str, auth: dict) -> str:
    try:
        client.api.inspect_distribution(f"{uri}:V1", auth_config=auth)
    except docker.errors.APIError as err:
        return str(err.explanation)
    return ""


def login_error(client: docker.DockerClient, host: str, password: str) -> str:
    try:
        client.login(username="AWS", password=password, registry=f"https://{host}", reauth=True)
    except docker.errors.APIError as err:
        return str(err.explanation)
    return ""


def main() -> None:
    client = docker.from_env()
    state = Path(tempfile.mkdtemp())
    region, claim = claim_region()
    registry = FaultRegistry(state, region, "right")
    uri = f"{registry.host}/recorded"
    client.images.get("python:3.13-slim").tag(uri, "V1")
    good, bad = {"username": "AWS", "password": "right"}, {"username": "AWS", "password": "wrong"}
    recorded: list[dict] = []

    def record(scenario: str, source: str, message: str, expected: str) -> None:
        recorded.append({"scenario": scenario, "source": source, "message": message, "expected": expected})

    try:
        registry.start()
        record("wrong password", "push", push_error(client, uri, bad), "reauthenticate")
        record("wrong password", "inspect_distribution", inspect_error(client, uri, bad), "reauthenticate")
        record("wrong password", "login", login_error(client, registry.host, "wrong"), "reauthenticate")
        record("tag absent", "inspect_distribution", inspect_error(client, uri, good), "fail")
        registry.stop()
        record("registry stopped", "push", push_error(client, uri, good), "retry")
        record("registry stopped", "inspect_distribution", inspect_error(client, uri, good), "retry")
        record("registry stopped", "login", login_error(client, registry.host, "right"), "retry")
        registry.read_only = True
        registry.start()
        record("read-only registry", "push", push_error(client, uri, good), "fail")
        registry.stop()
        for status in STATUS_BODIES:
            server = serve_status(status, FAULT_REGIONS[region], state / "registry.crt", state / "registry.key")
            expected = "fail" if status == 403 else "retry"
            record(f"HTTP {status}", "push", push_error(client, uri, good), expected)
            record(f"HTTP {status}", "inspect_distribution", inspect_error(client, uri, good), expected)
            server.shutdown()
            server.server_close()
    finally:
        registry.stop()
        remove_system_changes()
        claim.close()
        client.images.remove(f"{uri}:V1")
    OUT.write_text(json.dumps(recorded, indent=2) + "\n")
    print(json.dumps(recorded, indent=2))


if __name__ == "__main__":
    main()
