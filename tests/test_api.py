"""The clientes API through HTTP, as a client sees it."""

import base64
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from clientes.models import Cliente
from clientes.serializers import ClienteSerializer

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    """An anonymous client: it may read."""
    return APIClient()


@pytest.fixture
def writer(django_user_model) -> APIClient:
    """A client with a user's HTTP Basic credentials: it may write."""
    django_user_model.objects.create_user(username="editora", password="s3nha-editora")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"editora:s3nha-editora").decode())
    return client


@pytest.fixture
def clientes(db):
    return [
        Cliente.objects.create(nome="Ana Souza", email="ana@gmail.com"),
        Cliente.objects.create(nome="Bruno Lima", email="bruno@empresa.com.br"),
        Cliente.objects.create(nome="Carla Dias", email="carla@gmail.com"),
    ]


def test_api_root_lists_the_clientes_endpoint(api):
    response = api.get("/")
    assert response.status_code == 200
    assert response.json()["clientes"].endswith("/clientes/")


def test_list_is_paginated(api):
    Cliente.objects.bulk_create(Cliente(nome=f"Cliente {i}", email=f"c{i}@x.com") for i in range(15))
    first = api.get("/clientes/").json()
    assert first["count"] == 15 and len(first["results"]) == 10 and first["next"].endswith("?page=2")
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None


def test_search_matches_nome_and_email(api, clientes):
    by_nome = api.get("/clientes/", {"search": "bruno"}).json()["results"]
    by_email = api.get("/clientes/", {"search": "gmail"}).json()["results"]
    assert [c["nome"] for c in by_nome] == ["Bruno Lima"]
    assert [c["nome"] for c in by_email] == ["Ana Souza", "Carla Dias"]


def test_ordering_by_nome_descending(api, clientes):
    results = api.get("/clientes/", {"ordering": "-nome"}).json()["results"]
    assert [c["nome"] for c in results] == ["Carla Dias", "Bruno Lima", "Ana Souza"]


def test_retrieve_one(api, clientes):
    response = api.get(f"/clientes/{clientes[1].pk}/")
    assert response.status_code == 200
    assert response.json() == {"id": clientes[1].pk, "nome": "Bruno Lima", "email": "bruno@empresa.com.br"}


def test_create(writer):
    response = writer.post("/clientes/", {"nome": "Daniel Reis", "email": "daniel@uol.com.br"}, format="json")
    assert response.status_code == 201
    assert Cliente.objects.get(pk=response.json()["id"]).email == "daniel@uol.com.br"


def test_create_ignores_unknown_fields(writer):
    response = writer.post("/clientes/", {"nome": "Eva", "email": "eva@x.com", "cpf": "123"}, format="json")
    assert response.status_code == 201
    assert "cpf" not in response.json()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"nome": "", "email": "a@b.com"}, "nome", "em branco"),
        ({"nome": "x" * 51, "email": "a@b.com"}, "nome", "50"),
        ({"email": "a@b.com"}, "nome", "obrigatório"),
        ({"nome": "Ana", "email": "not-an-email"}, "email", "endereço de email válido"),
        ({"nome": "Ana"}, "email", "obrigatório"),
    ],
    ids=["empty-nome", "long-nome", "missing-nome", "invalid-email", "missing-email"],
)
def test_invalid_input_gets_400_with_the_field_message(writer, body, field, message):
    response = writer.post("/clientes/", body, format="json")
    assert response.status_code == 400
    messages = response.json()[field]
    assert any(message in m.lower() for m in messages), messages
    assert Cliente.objects.count() == 0


def test_update_replaces_the_record(writer, clientes):
    response = writer.put(f"/clientes/{clientes[0].pk}/", {"nome": "Ana Maria", "email": "am@x.com"}, format="json")
    assert response.status_code == 200
    clientes[0].refresh_from_db()
    assert (clientes[0].nome, clientes[0].email) == ("Ana Maria", "am@x.com")


def test_partial_update_changes_one_field(writer, clientes):
    response = writer.patch(f"/clientes/{clientes[0].pk}/", {"email": "nova@x.com"}, format="json")
    assert response.status_code == 200
    clientes[0].refresh_from_db()
    assert (clientes[0].nome, clientes[0].email) == ("Ana Souza", "nova@x.com")


def test_delete(writer, clientes):
    assert writer.delete(f"/clientes/{clientes[2].pk}/").status_code == 204
    assert not Cliente.objects.filter(pk=clientes[2].pk).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/clientes/"), ("put", "/clientes/{pk}/"), ("patch", "/clientes/{pk}/"), ("delete", "/clientes/{pk}/")],
)
def test_an_anonymous_write_is_refused_with_401_and_changes_nothing(api, clientes, method, path):
    response = getattr(api, method)(path.format(pk=clientes[0].pk), {"nome": "X", "email": "x@x.com"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert sorted(Cliente.objects.values_list("nome", flat=True)) == ["Ana Souza", "Bruno Lima", "Carla Dias"]


def test_a_welcome_message_is_queued_by_a_writer_and_with_no_queue_runs_in_the_request(api, writer, clientes):
    """No SQS_QUEUE_URL_DEFAULT (docker run, these tests): Celery runs the job at once. The worker taking it from the
    queue is make demo's and tests/test_processes.py's."""
    path = f"/clientes/{clientes[0].pk}/boas-vindas/"
    assert api.post(path).status_code == 401 and api.get(path).json() == []
    response = writer.post(path)
    assert response.status_code == 202 and response.json() == {"fila": "default"}
    (mensagem,) = api.get(path).json()
    assert mensagem["texto"].startswith("Bem-vindo, Ana Souza! (")
    assert api.post("/clientes/999999/boas-vindas/").status_code in (401, 404)
    assert writer.post("/clientes/999999/boas-vindas/").status_code == 404


def test_wrong_credentials_are_refused(clientes):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"editora:wrong").decode())
    assert client.delete(f"/clientes/{clientes[0].pk}/").status_code == 401
    assert Cliente.objects.count() == 3


def test_anonymous_reads_list_detail_search_ordering_and_pages(api, clientes):
    assert api.get("/clientes/").json()["count"] == 3
    assert api.get(f"/clientes/{clientes[0].pk}/").status_code == 200
    assert api.get("/clientes/", {"search": "lima", "ordering": "-nome", "page": 1}).json()["count"] == 1


def test_unknown_id_is_404(api):
    assert api.get("/clientes/999/").status_code == 404


def test_the_representation_is_what_drf_would_write_field_by_field(clientes):
    from rest_framework import serializers

    class Generic(serializers.ModelSerializer):
        class Meta:
            model = Cliente
            fields = ClienteSerializer.Meta.fields

    fixture = [
        Cliente(**record["fields"], pk=record["pk"])
        for record in json.loads((Path(settings.BASE_DIR) / "clientes.json").read_text())
    ]
    for cliente in [*clientes, *fixture]:
        assert ClienteSerializer(cliente).data == Generic(cliente).data


def test_str_is_the_nome():
    assert str(Cliente(nome="Ana", email="a@b.com")) == "Ana"


def test_fixture_loads_and_every_record_passes_the_serializer():
    call_command("loaddata", "clientes.json", verbosity=0)
    records = json.loads((Path(settings.BASE_DIR) / "clientes.json").read_text())
    assert len(records) >= 24
    assert Cliente.objects.count() == len(records)
    for record in records:
        assert record["model"] == "clientes.cliente"
        serializer = ClienteSerializer(data=record["fields"])
        assert serializer.is_valid(), (record, serializer.errors)


def test_the_settings_file_is_patchable_and_unpatched_it_serves_no_host(tmp_path):
    from ecr_deploy.image.settings_patch import patch_allowed_hosts

    copy = tmp_path / "settings.py"
    copy.write_bytes((Path(settings.BASE_DIR) / "setup" / "settings.py").read_bytes())
    result = patch_allowed_hosts(copy, ["*"])
    assert (result.old_hosts, result.new_hosts) == ([], ["*"])
    assert result.diff.count("\n-") == 1 and "+ALLOWED_HOSTS = ['*']" in result.diff
