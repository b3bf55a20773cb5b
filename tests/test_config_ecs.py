"""config_ecs on the local AWS's Parameter Store: values set, listed, imported and removed; a secret's value never
in the output; every bad input refused with nothing written."""

import io
import json
import uuid

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.fixture
def service(local_aws, settings):
    name = f"conf-{uuid.uuid4().hex[:8]}"
    settings.ECR_DEPLOY = {"REPOSITORY": name, "ECS": {"DATABASE_VARIABLES": "url"}}
    return name


def config(*args: str) -> str:
    out = io.StringIO()
    call_command("config_ecs", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def stored(service: str) -> dict[str, tuple[str, str]]:
    answer = boto3.client("ssm").get_parameters_by_path(Path=f"/ecr_deploy/{service}/default/", WithDecryption=True)
    return {item["Name"].rsplit("/", 1)[1]: (item["Type"], item["Value"]) for item in answer["Parameters"]}


def test_plain_values_and_a_secret_from_stdin_are_stored_and_listed_without_the_secret(service, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a-mailgun-key-of-test\n"))
    said = config("set", "DJANGO_ADMIN_URL=painel/", "MAILGUN_DOMAIN=mg.example.com", "--secret", "MAILGUN_API_KEY")
    assert "Set DJANGO_ADMIN_URL, MAILGUN_API_KEY, MAILGUN_DOMAIN." in said and "a-mailgun-key" not in said
    assert stored(service) == {
        "DJANGO_ADMIN_URL": ("String", "painel/"),
        "MAILGUN_DOMAIN": ("String", "mg.example.com"),
        "MAILGUN_API_KEY": ("SecureString", "a-mailgun-key-of-test"),
    }
    listed = config("list")
    assert "DJANGO_ADMIN_URL=painel/" in listed and "MAILGUN_API_KEY=(secret, set 20" in listed
    as_json = config("list", "--json")
    assert "a-mailgun-key" not in listed + as_json
    assert {row["key"]: row["value"] for row in json.loads(as_json)["variables"]}["MAILGUN_API_KEY"] is None
    assert config("unset", "MAILGUN_DOMAIN").startswith("Unset MAILGUN_DOMAIN.")
    assert set(stored(service)) == {"DJANGO_ADMIN_URL", "MAILGUN_API_KEY"}


def test_a_env_file_is_imported_with_its_secrets_marked(service, tmp_path):
    env = tmp_path / ".env"
    env.write_text("# production\nexport SENTRY_DSN='https://key@sentry.example/1'\n\nDJANGO_ADMIN_URL=painel/\n")
    assert "Set DJANGO_ADMIN_URL, SENTRY_DSN." in config("import", str(env), "--secret", "SENTRY_DSN")
    assert stored(service) == {
        "SENTRY_DSN": ("SecureString", "https://key@sentry.example/1"),
        "DJANGO_ADMIN_URL": ("String", "painel/"),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "1BAD=x"], r"'1BAD' is not an environment variable's name"),
        (["set", "DJANGO_ALLOWED_HOSTS=*"], r"DJANGO_ALLOWED_HOSTS is set by deploy_ecs itself"),
        (["set", "DATABASE_URL=postgres://x"], r"DATABASE_URL is set by deploy_ecs itself"),
        (["set", "EMPTY="], r"EMPTY has an empty value"),
        (["set", "NOVALUE"], r"'NOVALUE' has no value: write KEY=VALUE, or --secret NOVALUE"),
        (["set", "GOOD=1", "--secret", "bad-name"], r"'bad-name' is not an environment variable's name"),
        (["unset", "NEVER_SET"], r"Not set: NEVER_SET. Nothing was removed."),
        (["set", f"BIG={'x' * 4097}"], r"BIG's value is over Parameter Store's 4096 bytes"),
        (["set", "GOOD=1", "--deploy", "--json"], r"--deploy prints deploy_ecs's report; for JSON, run config_ecs"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(service, args, message):
    with pytest.raises(CommandError, match=message):
        config(*args)
    assert stored(service) == {}


def test_a_file_that_does_not_parse_writes_nothing(service, tmp_path):
    env = tmp_path / ".env"
    env.write_text("GOOD=1\nthis line is no assignment\n")
    with pytest.raises(CommandError, match=r"\.env:2 is not KEY=VALUE\. Nothing was written\."):
        config("import", str(env))
    good = tmp_path / "good.env"
    good.write_text("GOOD=1\n")
    with pytest.raises(CommandError, match=r"--secret names keys that .*good.env lacks: MISSING"):
        config("import", str(good), "--secret", "MISSING")
    assert stored(service) == {}


def test_an_empty_secret_on_stdin_is_refused(service, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    with pytest.raises(CommandError, match=r"API_KEY has an empty value"):
        config("set", "--secret", "API_KEY")
    assert stored(service) == {}


def test_the_storage_buckets_variables_are_refused_when_storage_is_on(service, settings):
    settings.ECR_DEPLOY = {
        **settings.ECR_DEPLOY,
        "ECS": {**settings.ECR_DEPLOY["ECS"], "STORAGE": {"BUCKET_VARIABLE": "DJANGO_AWS_STORAGE_BUCKET_NAME"}},
    }
    for key in ("DJANGO_AWS_STORAGE_BUCKET_NAME", "AWS_S3_REGION_NAME"):
        with pytest.raises(CommandError, match=f"{key} is set by deploy_ecs itself"):
            config("set", f"{key}=x")
    assert "Set AWS_STORAGE_BUCKET_NAME." in config("set", "AWS_STORAGE_BUCKET_NAME=x")  # not the one deploy sets


def test_the_next_deploys_changes_are_said_of_each_variable(service):
    """A variable the revision does not read, one changed after it was registered, one it reads that is gone."""
    from ecr_deploy.environments import resolve_environment
    from ecr_deploy.workflows.config import store, undeployed_changes

    config("set", "KEPT=1", "CHANGED=1")
    parameters = store(resolve_environment(), boto3.Session())
    arns = {parameter.key: parameter.arn for parameter in parameters.parameters()}
    registered = max(parameter.changed for parameter in parameters.parameters())
    config("set", "CHANGED=2", "NEW=1")  # a second call: its change is later than the revision's registration
    read = {"KEPT": arns["KEPT"], "CHANGED": arns["CHANGED"], "GONE": arns["KEPT"].replace("KEPT", "GONE")}
    definition = {
        "family": service,
        "revision": 3,
        "registeredAt": registered,
        "containerDefinitions": [
            {"name": "app", "secrets": [{"name": key, "valueFrom": arn} for key, arn in read.items()]}
        ],
    }
    assert undeployed_changes(parameters, definition, "app") == [
        f"CHANGED changed since {service}:3 was deployed",
        "NEW set, not deployed",
        "GONE unset, still deployed",
    ]
