"""The local ECR host's front: TLS on the host's address, and ECR's IAM check of every registry call.

ECR authorizes each registry call as an IAM action of the principal whose GetAuthorizationToken made the token
(ECR user guide, "Private registry authentication" and "Pushing an image", IAM permissions; the actions of the
registry API are listed in the ECR API reference as "used by the Docker CLI"): a manifest read is
ecr:BatchGetImage, a layer check ecr:BatchCheckLayerAvailability, a layer download ecr:GetDownloadUrlForLayer,
an upload ecr:InitiateLayerUpload, ecr:UploadLayerPart and ecr:CompleteLayerUpload, a manifest put ecr:PutImage.
A refused call gets 403 with ECR's `denied` message, naming the principal and the action.

A token from a moto that enforces IAM carries a grant (scripts/local_moto.py): the gate asks that moto whether the
grant's principal may take the call's action on the repository, then passes the call on to the registry (Debian's
docker-registry, on a loopback port of its own) with the token's password alone. A token without a grant (the
default moto, which enforces nothing) passes as it is.

usage: registry_gate.py LISTEN_ADDRESS:PORT UPSTREAM_PORT CERTIFICATE KEY
"""

import base64
import binascii
import http.client
import json
import re
import ssl
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: (method, what the path names) -> ECR's action.
ACTIONS = {
    ("GET", "manifests"): "ecr:BatchGetImage",
    ("HEAD", "manifests"): "ecr:BatchGetImage",
    ("PUT", "manifests"): "ecr:PutImage",
    ("DELETE", "manifests"): "ecr:BatchDeleteImage",
    ("GET", "blobs"): "ecr:GetDownloadUrlForLayer",
    ("HEAD", "blobs"): "ecr:BatchCheckLayerAvailability",
    ("POST", "uploads"): "ecr:InitiateLayerUpload",
    ("GET", "uploads"): "ecr:UploadLayerPart",
    ("PATCH", "uploads"): "ecr:UploadLayerPart",
    ("PUT", "uploads"): "ecr:CompleteLayerUpload",
    ("DELETE", "uploads"): "ecr:UploadLayerPart",
    ("GET", "tags"): "ecr:ListImages",
}
CALL = re.compile(r"^/v2/(?P<repository>.+?)/(?:blobs/(?P<uploads>uploads)(?:/|$)|(?P<kind>manifests|blobs|tags)/)")
ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")
#: Hop-by-hop headers (RFC 9110, 7.6.1), never passed on.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
CHUNK = 1 << 16


def action_of(method: str, path: str) -> tuple[str | None, str] | None:
    """The ECR action and repository of a registry call: None for a call that names no repository (/v2/), an
    action of None for a method that ECR has no action for."""
    match = CALL.match(urllib.parse.urlparse(path).path)
    if match is None:
        return None
    kind = "uploads" if match["uploads"] else match["kind"]
    return ACTIONS.get((method, kind)), match["repository"]


def grant_of(authorization: str) -> tuple[str, dict | None]:
    """The Authorization header to pass on, and the grant that the token's password carries (None without one)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return authorization, None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        plain, _, claim = password.rpartition("~")
        grant = json.loads(base64.urlsafe_b64decode(claim)) if plain else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return authorization, None
    if not isinstance(grant, dict):
        return authorization, None
    return "Basic " + base64.b64encode(f"{user}:{plain}".encode()).decode(), grant


def decision(grant: dict, action: str, resource: str) -> dict:
    query = urllib.parse.urlencode({"grant": grant["grant"], "action": action, "resource": resource})
    with urllib.request.urlopen(f"http://{grant['moto']}/moto-api/local-aws/registry-grant?{query}", timeout=30) as r:
        return json.load(r)


class Gate(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream_port: int

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True

    def do_any(self) -> None:
        authorization, grant = grant_of(self.headers.get("Authorization", ""))
        call = action_of(self.command, self.path)
        if grant is not None and call is not None:
            action, repository = call
            if action is None:  # the distribution spec's answer to a method it does not know
                self.answer_error(405, "UNSUPPORTED", f"{self.command} is not supported on this path")
                return
            host = ECR_HOST.match(self.headers.get("Host", ""))
            account, region = (host["account"], host["region"]) if host else ("000000000000", "us-east-1")
            resource = f"arn:aws:ecr:{region}:{account}:repository/{repository}"
            verdict = decision(grant, action, resource)
            if verdict.get("decision") != "allowed":
                self.refuse(verdict.get("principal", "unknown"), action, resource)
                return
        self.pass_on(authorization)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_any

    def refuse(self, principal: str, action: str, resource: str) -> None:
        message = (
            f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action"
        )
        self.answer_error(403, "DENIED", message)

    def answer_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.discard_body()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body_chunks(self):
        """The request's body as it arrives, whether sized or chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                yield self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            chunk = self.rfile.read(min(CHUNK, left))
            if not chunk:
                raise ConnectionError("the client closed the connection mid-body")
            left -= len(chunk)
            yield chunk

    def discard_body(self) -> None:
        for _ in self.body_chunks():
            pass

    def pass_on(self, authorization: str) -> None:
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=300)
        answered = False
        try:
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() == "authorization":
                    continue
                upstream.putheader(name, value)
            if authorization:
                upstream.putheader("Authorization", authorization)
            upstream.putheader("X-Forwarded-Proto", "https")
            if chunked:
                upstream.putheader("Transfer-Encoding", "chunked")
            upstream.endheaders()
            for chunk in self.body_chunks():
                upstream.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                upstream.send(b"0\r\n\r\n")
            answer = upstream.getresponse()
            self.send_response_only(answer.status, answer.reason)
            answered = True
            sized = answer.getheader("Content-Length") is not None
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            has_body = self.command != "HEAD" and answer.status not in (204, 304)
            if has_body and not sized:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while has_body and (chunk := answer.read(CHUNK)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if not sized else chunk)
            if has_body and not sized:
                self.wfile.write(b"0\r\n\r\n")
        except (http.client.HTTPException, OSError) as err:
            self.close_connection = True
            if not answered:
                try:
                    self.send_error(502, f"the registry behind the gate did not answer: {err}")
                except OSError:
                    pass
        finally:
            upstream.close()

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class TlsServer(ThreadingHTTPServer):
    """Each connection's TLS handshake in its own thread, so that a slow client holds up no other."""

    daemon_threads = True
    context: ssl.SSLContext

    def finish_request(self, request, client_address) -> None:
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


def main(listen: str, upstream_port: str, certificate: str, key: str) -> None:
    address, _, port = listen.rpartition(":")
    Gate.upstream_port = int(upstream_port)
    TlsServer.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    TlsServer.context.load_cert_chain(certificate, key)
    TlsServer((address, int(port)), Gate).serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
