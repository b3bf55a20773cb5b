"""The production image, run for real: gunicorn, static files, secrets, authenticated writes, hosts and health,
PostgreSQL, and a graceful stop. Containers that share the local PostgreSQL use host networking and a port each."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT, listening_port
from tests.web import basic, request, wait_for

pytestmark = pytest.mark.engine

SUPERUSER = {
    "DJANGO_SUPERUSER_USERNAME": "admin",
    "DJANGO_SUPERUSER_PASSWORD": "admin-s3nha-longa",
    "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
}
PRODUCTION = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_ALLOWED_HOSTS": "api.example.com"}


@pytest.fixture
def on_host(docker_client, project_image, request):
    """Run the image with host networking (it reaches the local PostgreSQL on 127.0.0.1); gunicorn binds a port
    that the kernel picks (PORT=0), read back from its log, so no other test can take it first."""
    started = request.node.started_containers = []

    def run(environment: dict[str, str], command: list[str] | None = None):
        container = docker_client.containers.run(
            project_image, command, detach=True, network_mode="host", environment={**environment, "PORT": "0"}
        )
        started.append(container)
        return container, f"http://127.0.0.1:{listening_port(container)}"

    yield run
    for container in started:
        container.remove(force=True)


@contextlib.contextmanager
def closed_port():
    """A port of 127.0.0.1 that is bound but never listens: a connection to it is refused, and nothing else can
    bind it while the test runs."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def database(local_aws):
    """A new, empty PostgreSQL database on the local server; its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = local_aws["LOCAL_AWS_DATABASE_URL"]
    admin = urlsplit(url)
    env = {**os.environ, "PGPASSWORD": admin.password}
    psql = ["psql", "-h", admin.hostname, "-p", str(admin.port), "-U", admin.username, "-d", "postgres", "-qc"]
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True, env=env, capture_output=True)
    yield url.rsplit("/", 1)[0] + f"/{name}"
    subprocess.run([*psql, f"DROP DATABASE {name} WITH (FORCE)"], check=True, env=env, capture_output=True)


def test_the_image_serves_with_gunicorn_as_a_non_root_user(docker_client, project_image, running_container):
    config = docker_client.images.get(project_image).attrs["Config"]
    assert config["Cmd"] == ["python", "manage.py", "serve"] and not config["Entrypoint"]
    assert config["User"] == "app" and "8000/tcp" in config["ExposedPorts"]
    container, url = running_container(project_image)
    assert wait_for(url, "/clientes/") == 200
    pid_1 = container.exec_run(["cat", "/proc/1/cmdline"]).output.split(b"\0")
    assert pid_1[1].endswith(b"/gunicorn") and b"setup.wsgi:application" in pid_1  # serve execs gunicorn as PID 1
    assert 'GET /clientes/ HTTP/1.1" 200' in container.logs(stdout=True, stderr=False).decode()


def test_the_code_is_read_only_to_the_runtime_user_and_only_the_sqlite_folder_is_writable(docker_client, project_image):
    script = (
        "touch setup/x 2>/dev/null; echo code=$?; touch data/x && echo data=$?; find . -not -user root -printf '%p\\n'"
    )
    output = docker_client.containers.run(project_image, ["sh", "-c", script], remove=True).decode().split()
    assert output[:2] == ["code=1", "data=0"]
    assert set(output[2:]) == {"./data", "./data/db.sqlite3", "./data/x"}


def test_static_files_are_served_compressed_and_cached_with_debug_off(running_container, project_image):
    _, url = running_container(project_image)
    wait_for(url)
    status, _, page = request(url, "/clientes/", headers={"Accept": "text/html"})
    stylesheet = re.search(rb'href="(/static/rest_framework/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', page)
    assert status == 200 and stylesheet, page[:500]
    status, headers, body = request(url, stylesheet[1].decode(), headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and body[:2] == b"\x1f\x8b"
    assert "max-age=315360000" in headers["Cache-Control"] and "immutable" in headers["Cache-Control"]


@pytest.mark.parametrize(
    "switches",
    [{}, {"DJANGO_SECURE_SSL_REDIRECT": "1", "DJANGO_SECURE_HSTS_SECONDS": "31536000"}],
    ids=["plain-http", "https"],
)
def test_check_deploy_finds_nothing_unjustified_with_the_production_environment(docker_client, project_image, switches):
    output = docker_client.containers.run(
        project_image,
        ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        environment={**PRODUCTION, **switches},
        remove=True,
    ).decode()
    assert "System check identified no issues" in output


def test_no_secret_key_is_in_the_image_or_its_code(docker_client, project_image):
    image = docker_client.images.get(project_image)
    assert not [entry for entry in image.attrs["Config"]["Env"] if "SECRET_KEY" in entry]
    probe = "from django.conf import settings; settings.SECRET_KEY"
    with pytest.raises(Exception, match="The SECRET_KEY setting must not be empty"):
        docker_client.containers.run(project_image, ["python", "-c", probe], remove=True)


def test_without_a_key_a_container_makes_one_shared_by_all_its_workers_and_says_so(on_host):
    container, url = on_host({**SUPERUSER, "WEB_CONCURRENCY": "3"})
    assert wait_for(url) == 200
    assert "DJANGO_SECRET_KEY is not set: a random key was made" in container.logs().decode()
    cookies = admin_session(url)
    # Each worker checks the session against its own SECRET_KEY: a worker with another key would log us out.
    statuses = {request(url, "/admin/clientes/cliente/", headers={"Cookie": cookies})[0] for _ in range(30)}
    assert statuses == {200}


def admin_session(url: str) -> str:
    """Log in to the admin with the superuser's password; the session and CSRF cookies."""
    _, headers, page = request(url, "/admin/login/")
    csrf_cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"])[1]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1].decode()
    form = f"csrfmiddlewaretoken={token}&username=admin&password={SUPERUSER['DJANGO_SUPERUSER_PASSWORD']}&next=/admin/"
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    connection.request(
        "POST",
        "/admin/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
            "Referer": f"{url}/admin/login/",
        },
    )
    response = connection.getresponse()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie") or "")
    assert response.status == 302 and session, response.read()[:300]
    return f"csrftoken={csrf_cookie}; sessionid={session[1]}"


def test_writes_need_the_superuser_made_once_from_the_environment(running_container, project_image):
    container, url = running_container(project_image, environment={**SUPERUSER, **PRODUCTION})
    wait_for(url, host="api.example.com")
    new = {"nome": "Paula Reis", "email": "paula@example.com"}
    assert request(url, "/clientes/", "POST", "api.example.com", new)[0] == 401
    auth = basic("admin", SUPERUSER["DJANGO_SUPERUSER_PASSWORD"])
    status, _, body = request(url, "/clientes/", "POST", "api.example.com", new, auth)
    assert status == 201, body
    assert "Superuser admin created." in container.logs().decode()
    container.restart(timeout=10)
    container.reload()
    url = f"http://127.0.0.1:{container.attrs['NetworkSettings']['Ports']['8000/tcp'][0]['HostPort']}"
    wait_for(url, host="api.example.com")
    assert "Superuser admin exists." in container.logs().decode()
    assert request(url, f"/clientes/{json.loads(body)['id']}/", "DELETE", "api.example.com", None, auth)[0] == 204


def test_health_answers_any_host_while_every_other_path_keeps_host_validation(running_container, project_image):
    _, url = running_container(project_image, environment=PRODUCTION)
    assert wait_for(url, host="10.0.3.7") == 200
    assert request(url, "/health/", host="10.0.3.7")[2] == b'{"status": "ok", "database": "up"}'
    assert request(url, "/clientes/", host="10.0.3.7")[0] == 400
    assert request(url, "/admin/login/", host="evil.example")[0] == 400
    status, _, body = request(url, "/clientes/", host="api.example.com")
    assert status == 200 and json.loads(body)["next"] == "http://api.example.com/clientes/?page=2"


@pytest.mark.parametrize("hosts", [" api.example.com , ,www.example.com ", "api.example.com,"])
def test_allowed_hosts_with_spaces_or_empty_items_are_normalised(running_container, project_image, hosts):
    _, url = running_container(project_image, environment={**PRODUCTION, "DJANGO_ALLOWED_HOSTS": hosts})
    assert wait_for(url, "/clientes/", host="api.example.com") == 200
    assert request(url, "/clientes/", host="other.example.com")[0] == 400


def test_the_image_healthcheck_runs_against_health(docker_client, running_container, project_image):
    healthcheck = docker_client.images.get(project_image).attrs["Config"]["Healthcheck"]["Test"]
    assert healthcheck[0] == "CMD" and "/health/" in healthcheck[-1]
    container, url = running_container(project_image)
    wait_for(url)
    assert container.exec_run(healthcheck[1:]).exit_code == 0


def test_a_malformed_database_url_gives_one_clear_line_and_503_without_a_crash_loop(running_container, project_image):
    container, url = running_container(project_image, environment={"DATABASE_URL": "postgres://u:p@db:notaport/x"})
    assert [wait_for(url) for _ in range(5)] == [503] * 5
    container.reload()
    logs = container.logs().decode()
    assert container.status == "running"
    assert logs.count("DATABASE_URL is malformed") == 1 and "Traceback" not in logs
    assert request(url, "/clientes/")[0] == 500


def test_a_database_down_at_start_gives_one_clear_line_and_503(on_host):
    with closed_port() as port:
        container, url = on_host({"DATABASE_URL": f"postgres://u:p@127.0.0.1:{port}/x", **SUPERUSER})
        assert [wait_for(url) for _ in range(3)] == [503] * 3
    logs = container.logs().decode()
    assert logs.count("the database does not answer") == 1 and "Traceback" not in logs
    container.reload()
    assert container.status == "running"


def test_two_containers_on_one_postgres_see_each_others_writes(docker_client, project_image, on_host, database):
    migrate = docker_client.containers.run(
        project_image,
        ["python", "manage.py", "migrate", "--noinput"],
        network_mode="host",
        environment={"DATABASE_URL": database},
        remove=True,
    )
    assert b"Applying clientes.0001" in migrate
    environment = {"DATABASE_URL": database, **SUPERUSER, **PRODUCTION}
    (_, first), (_, second) = on_host(environment), on_host(environment)
    assert wait_for(first, host="api.example.com") == 200 and wait_for(second, host="api.example.com") == 200
    auth = basic("admin", SUPERUSER["DJANGO_SUPERUSER_PASSWORD"])
    new = {"nome": "Rita Campos", "email": "rita@example.com"}
    status, _, body = request(first, "/clientes/", "POST", "api.example.com", new, auth)
    assert status == 201, body
    status, _, seen = request(second, f"/clientes/{json.loads(body)['id']}/", host="api.example.com")
    assert status == 200 and json.loads(seen)["nome"] == "Rita Campos"


def test_a_superuser_without_its_email_is_reported_in_one_line_and_the_server_still_starts(
    running_container, project_image
):
    environment = {key: value for key, value in SUPERUSER.items() if key != "DJANGO_SUPERUSER_EMAIL"}
    container, url = running_container(project_image, environment=environment)
    assert wait_for(url) == 200
    assert "Superuser admin not created: You must use --email with --noinput." in container.logs().decode()


def test_a_container_start_never_migrates(on_host, database, local_aws):
    _, url = on_host({"DATABASE_URL": database})
    assert wait_for(url) == 200  # the database answers, empty
    address = urlsplit(database)
    tables = subprocess.run(
        [
            "psql",
            "-h",
            address.hostname,
            "-p",
            str(address.port),
            "-U",
            address.username,
            "-d",
            address.path[1:],
            "-Atc",
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PGPASSWORD": address.password},
    ).stdout.strip()
    assert tables == "0"


def test_sigterm_during_a_slow_request_finishes_it_and_exits_0(running_container, project_image):
    container, url = running_container(project_image, environment={**SUPERUSER, **PRODUCTION})
    wait_for(url, host="api.example.com")
    body = json.dumps({"nome": "Lenta Demais", "email": "lenta@example.com"}).encode()
    auth = basic("admin", SUPERUSER["DJANGO_SUPERUSER_PASSWORD"])["Authorization"]
    parts = urlsplit(url)
    slow = socket.create_connection((parts.hostname, parts.port), timeout=30)
    slow.sendall(
        f"POST /clientes/ HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )
    time.sleep(0.5)  # the request is in a worker's hands, its body half sent
    stopping = threading.Thread(target=container.stop, kwargs={"timeout": 10})
    started = time.monotonic()
    stopping.start()
    time.sleep(1.0)
    slow.sendall(body[10:])
    answer = slow.recv(4096).decode()
    stopping.join()
    assert answer.startswith("HTTP/1.1 201"), answer
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0 and time.monotonic() - started < 10


def test_the_lock_pins_every_requirement_with_hashes():
    lock = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[a-z0-9-]+==)", lock.strip())
    pinned = {block.split("==")[0] for block in blocks}
    wanted = re.findall(r"^([A-Za-z0-9-]+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert {name.lower() for name in wanted} <= pinned
    assert all("--hash=sha256:" in block for block in blocks)
