"""The API's pages in a real browser: Debian's Chromium driven by Playwright, against the image as it ships
(gunicorn, DEBUG off). Chromium runs inside the site container's network namespace (nsenter), where nothing but
the container's own interface exists: the veth pairs that other tests' containers add and remove on the host
never reach it (on the host, Chromium aborts requests with ERR_NETWORK_CHANGED when they do). It maps the allowed
host name to 127.0.0.1 there; the tests' own requests go to the port published on the host.

A missing /favicon.ico is the one failed request allowed: Django serves none, and the browser asks for it by itself.
Each test leaves a screenshot in .artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import SCREENSHOTS, listening_port
from tests.web import request, wait_for

pytestmark = pytest.mark.engine

CHROMIUM = Path("/usr/bin/chromium")
HOST = "clientes.example.test"  # DJANGO_ALLOWED_HOSTS of the site; Chromium resolves it to 127.0.0.1
ADMIN = ("admin", "admin-s3nha-navegador")


@pytest.fixture(scope="session")
def site_container(docker_client, project_image):
    container = docker_client.containers.run(
        project_image,
        detach=True,
        ports={"8000/tcp": ("127.0.0.1", None)},
        environment={
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_SUPERUSER_USERNAME": ADMIN[0],
            "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
            "DJANGO_SUPERUSER_EMAIL": "admin@example.test",
        },
    )
    listening_port(container)
    yield container
    container.remove(force=True)


class Site(str):
    """The site's URL as Chromium reaches it, with from_host: the address published on the host, for the tests'
    own requests."""

    from_host: str


@pytest.fixture
def site(site_container) -> Site:
    """The site; the container is started again if a serial test stopped the engine meanwhile."""
    site_container.reload()
    if site_container.status != "running":
        restarted = int(time.time())
        site_container.start()
        listening_port(site_container, since=restarted)
        site_container.reload()
    port = site_container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
    assert wait_for(f"http://127.0.0.1:{port}", host=HOST) == 200
    site = Site(f"http://{HOST}:8000")
    site.from_host = f"http://127.0.0.1:{port}"
    return site


@pytest.fixture(scope="session")
def chromium(local_aws, tmp_path_factory):
    """Chromium in the network namespace of a process (the site container's): launched once per namespace."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/local-aws up installs Debian's chromium", pytrace=False)
    if not shutil.which("nsenter"):
        pytest.fail("nsenter (util-linux) is missing: the browser tests run Chromium in the site's namespace")
    launched: dict[int, object] = {}
    with sync_playwright() as playwright:

        def in_namespace_of(pid: int):
            if pid not in launched:
                for browser in launched.values():
                    browser.close()
                launched.clear()
                wrapper = tmp_path_factory.mktemp("chromium") / "chromium"
                wrapper.write_text(f'#!/bin/sh\nexec nsenter --net=/proc/{pid}/ns/net {CHROMIUM} "$@"\n')
                wrapper.chmod(0o755)
                launched[pid] = playwright.chromium.launch(
                    executable_path=str(wrapper),
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                    ],
                )
            return launched[pid]

        yield in_namespace_of
        for browser in launched.values():
            browser.close()


@pytest.fixture
def browser(chromium, site_container, site):
    return chromium(site_container.attrs["State"]["Pid"])


class Problems(list):
    """Console errors and failed requests of a page, but a missing favicon, and requests that Chromium drops
    itself because the next page opens (ERR_ABORTED)."""

    def watch(self, page) -> None:
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and not message.location.get("url", "").endswith("/favicon.ico")
                and self.append(f"console: {message.text}")
            ),
        )
        page.on("requestfailed", self.failed)
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and not response.url.endswith("/favicon.ico")
                and self.append(f"{response.status}: {response.url}")
            ),
        )

    def failed(self, request) -> None:
        if "ERR_ABORTED" not in (request.failure or ""):
            self.append(f"failed: {request.url}: {request.failure}")


@pytest.fixture
def page(browser, request):
    context = browser.new_context()
    page = context.new_page()
    page.problems = Problems()
    page.problems.watch(page)
    page.visit = lambda url: visit(page, url)
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{request.node.name}.png", full_page=True)
    context.close()


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def log_in(page, site: str) -> None:
    page.visit(f"{site}/clientes/")
    page.get_by_role("link", name="Log in").click()
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("#submit-id-submit, button[type=submit], input[type=submit]")
    page.wait_for_url(f"{site}/clientes/")


def api_get(site: str, path: str, host: str | None = None) -> tuple[int, bytes]:
    """GET path from the site's address, with the site's Host header unless another is given."""
    status, _, body = request(site.from_host, path, host=host or urlsplit(site).netloc)
    return status, body


def newest_names(site: str) -> list[str]:
    status, body = api_get(site, "/clientes/?ordering=-id")
    assert status == 200
    return [row["nome"] for row in json.loads(body)["results"]]


def test_the_list_page_is_styled_and_loads_without_errors(page, site):
    page.visit(f"{site}/clientes/")
    assert "Helvetica" in page.evaluate("getComputedStyle(document.body).fontFamily")  # Bootstrap's, not the default
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert page.locator(".response-info").inner_text().startswith("HTTP 200 OK")
    assert page.problems == []


def test_anonymous_visitors_see_no_form_for_writing(page, site):
    page.visit(f"{site}/clientes/")
    assert page.get_by_role("link", name="Log in").is_visible()
    writing = "form[method=POST], form[data-method=PUT], form[data-method=PATCH], form[data-method=DELETE]"
    assert page.locator(writing).count() == 0 and page.get_by_role("button", name="POST").count() == 0
    assert page.problems == []


def test_a_person_logs_in_through_the_login_link(page, site):
    log_in(page, site)
    assert page.locator(".navbar").inner_text().count(ADMIN[0]) == 1
    assert page.locator("form[action='/clientes/'][method=POST]").count() >= 1
    assert page.problems == []


def test_a_customer_is_created_edited_and_deleted_through_the_forms(page, site):
    log_in(page, site)
    name = f"Navegadora {uuid.uuid4().hex[:6]}"
    form = page.locator("#post-object-form form")
    form.locator("[name=nome]").fill(name)
    form.locator("[name=email]").fill("navegadora@example.test")
    with page.expect_response(lambda response: response.request.method == "POST") as post:
        form.get_by_role("button", name="POST").click()
    assert post.value.status == 201
    page.wait_for_selector(".response-info:has-text('HTTP 201 Created')")
    assert newest_names(site)[0] == name
    detail = re.search(r'"id": (\d+)', page.locator(".response-info").inner_text())[1]
    page.visit(f"{site}/clientes/{detail}/")
    form = page.locator("#put-object-form form")
    form.locator("[name=nome]").fill(f"{name} Editada")
    with page.expect_response(lambda response: response.request.method == "PUT") as put:
        form.get_by_role("button", name="PUT").click()
    assert put.value.status == 200
    assert newest_names(site)[0] == f"{name} Editada"
    page.visit(f"{site}/clientes/{detail}/")
    page.get_by_role("button", name="DELETE").click()
    with page.expect_response(lambda response: response.request.method == "DELETE") as delete:
        page.click("#deleteModal button.btn-danger")  # Bootstrap 3 leaves the modal aria-hidden: no role query
    assert delete.value.ok  # DRF's HTML view turns 204 into 200 for the browser; the page says 204
    page.wait_for_selector(".response-info:has-text('HTTP 204 No Content')")
    assert f"{name} Editada" not in newest_names(site)
    assert page.problems == []


def test_a_bad_email_shows_the_fields_message_and_saves_nothing(page, site):
    log_in(page, site)
    before = api_get(site, "/clientes/")
    form = page.locator("#post-object-form form")
    form.locator("[name=nome]").fill("Sem Email")
    form.locator("[name=email]").fill("isto-nao-e-email")
    with page.expect_response(lambda response: response.request.method == "POST") as post:
        form.get_by_role("button", name="POST").click()
    assert post.value.status == 400
    page.wait_for_selector(".response-info:has-text('HTTP 400 Bad Request')")
    field = page.locator("#post-object-form .form-group:has([name=email])")
    assert "Insira um endereço de email válido." in field.inner_text()
    assert api_get(site, "/clientes/") == before


def open_filters(page) -> None:
    """Open the filters dialog and wait until it is shown: Bootstrap 3 focuses the dialog when its opening
    transition ends, which would take the focus from a field typed into before (an Enter then submits nothing)."""
    page.click("button[data-target='#filtersModal']")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'filtersModal'")


def test_search_ordering_and_pagination_work_from_the_page(page, site):
    page.visit(f"{site}/clientes/")
    open_filters(page)
    page.locator("#filtersModal input[name=search]").fill("gmail")
    page.locator("#filtersModal input[name=search]").press("Enter")
    page.wait_for_url(re.compile(r"search=gmail"))
    assert all(
        "gmail" in line for line in re.findall(r'"email": "([^"]+)"', page.locator(".response-info").inner_text())
    )
    page.visit(f"{site}/clientes/")
    open_filters(page)
    page.click("#filtersModal a[href*='ordering=-nome']")
    page.wait_for_url(re.compile(r"ordering=-nome"))
    names = re.findall(r'"nome": "([^"]+)"', page.locator(".response-info").inner_text())
    assert names == sorted(names, reverse=True) and len(names) == 10
    page.visit(f"{site}/clientes/")
    next_link = page.locator("ul.pagination a[aria-label=Next], ul.pagination li.next a").first
    assert next_link.get_attribute("href") == f"{site}/clientes/?page=2"
    next_link.click()
    page.wait_for_url(f"{site}/clientes/?page=2")
    assert f'"previous": "{site}/clientes/"' in page.locator(".response-info").inner_text()
    assert page.problems == []


def test_a_spoofed_host_is_refused(site):
    assert api_get(site, "/clientes/", host="evil.example.test")[0] == 400
    assert api_get(site, "/clientes/")[0] == 200


def test_the_admin_login_is_styled_and_its_customer_list_opens_and_searches(page, site):
    page.visit(f"{site}/admin/")
    assert page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor") != "rgba(0, 0, 0, 0)"
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.locator("input[type=submit]").click()
    page.visit(f"{site}/admin/clientes/cliente/")
    assert page.locator("#result_list tbody tr").count() >= 10
    page.fill("#searchbar", "Souza")
    page.locator("#searchbar").press("Enter")
    page.wait_for_url(re.compile(r"q=Souza"))
    rows = page.locator("#result_list tbody tr").all_inner_texts()
    assert rows and all("Souza" in row for row in rows)
    assert page.problems == []
