"""The API under hostile input: random JSON bodies and query strings get 2xx or 4xx, never 5xx."""

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from clientes.models import Cliente

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
def test_no_request_gets_a_server_error(method, path, body, query):
    Cliente.objects.get_or_create(pk=1, defaults={"nome": "Ana", "email": "ana@x.com"})
    client = APIClient(raise_request_exception=False)
    url = f"{path}?{urlencode(query)}"
    if method in {"get", "head"}:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code < 500, (method, url, body, response.content[:300])
