"""The API under hostile input: random JSON bodies and query strings get 2xx or 4xx, never 5xx."""

import base64
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from clientes.models import Cliente
from tests.web import basic, request, wait_for

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
bodies = json_values | st.fixed_dictionaries(
    {}, optional={"nome": json_values, "email": json_values, "id": json_values}
)
query_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
queries = st.dictionaries(
    st.sampled_from(["search", "ordering", "page", "format", "limit", "nome"]) | query_text, query_text, max_size=4
)
paths = st.sampled_from(["/", "/clientes/", "/clientes/1/", "/clientes/999999/", "/clientes/abc/", "/clientes/-1/"])
methods = st.sampled_from(["get", "post", "put", "patch", "delete", "options", "head"])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(method=methods, path=paths, body=bodies, query=queries)
def test_no_request_gets_a_server_error(method, path, body, query, django_user_model):
    Cliente.objects.get_or_create(pk=1, defaults={"nome": "Ana", "email": "ana@x.com"})
    if not django_user_model.objects.filter(username="fuzz").exists():
        django_user_model.objects.create_user(username="fuzz", password="fuzz-password")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"fuzz:fuzz-password").decode())
    url = f"{path}?{urlencode(query)}"
    if method in {"get", "head"}:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code < 500, (method, url, body, response.content[:300])


@pytest.mark.engine
def test_the_production_server_gives_no_server_error_either(running_container, project_image):
    """The same fuzz over HTTP against the image as it ships: gunicorn, DEBUG off, an authenticated writer."""
    credentials = {
        "DJANGO_SUPERUSER_USERNAME": "fuzz",
        "DJANGO_SUPERUSER_PASSWORD": "fuzz-password-long",
        "DJANGO_SUPERUSER_EMAIL": "fuzz@example.com",
    }
    _, url = running_container(project_image, environment=credentials)
    assert wait_for(url) == 200
    auth = basic("fuzz", "fuzz-password-long")

    @settings(max_examples=100, deadline=None)  # each write checks the password with the image's real hasher
    @given(method=methods, path=paths, body=bodies, query=queries)
    def no_server_error(method, path, body, query):
        sent = None if method in {"get", "head"} else body
        status, _, content = request(url, f"{path}?{urlencode(query)}", method.upper(), body=sent, headers=auth)
        assert status < 500, (method, path, query, body, content[:300])

    no_server_error()
