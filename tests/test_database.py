"""The database a deployed task is given: the settings that choose it, the connection the image assembles from
DATABASE_HOST and its companions, secrets read by JSON key as ECS reads them, the fixtures loaded once, and the
changes RDS holds for its maintenance window."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.stub import Stubber
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from clientes.models import Cliente
from ecr_deploy import conf
from ecr_deploy.aws.rds import pending_changes
from ecr_deploy.aws.secrets import secret_values
from ecr_deploy.environments import resolve_environment
from ecr_deploy.models import LoadedFixture
from ecr_deploy.runtime.database import database_from_environment

SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}
RDS_TASK = {
    "DATABASE_HOST": "clientes.aaaaaaaaaa.us-east-1.rds.amazonaws.com",
    "DATABASE_PORT": "5432",
    "DATABASE_NAME": "clientes",
    "DATABASE_USER": "clientes",
    "DATABASE_PASSWORD": "from-the-secret",
}


def test_a_task_given_the_rds_values_connects_to_postgresql_with_tls_required():
    database = database_from_environment(SQLITE, RDS_TASK)
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"], database["PASSWORD"]) == (
        RDS_TASK["DATABASE_HOST"],
        "5432",
        "clientes",
        "clientes",
        "from-the-secret",
    )
    assert database["OPTIONS"]["sslmode"] == "require"


def test_database_sslmode_and_the_ca_bundle_give_verify_full():
    given = {**RDS_TASK, "DATABASE_SSLMODE": "verify-full", "DATABASE_SSLROOTCERT": "/etc/ssl/rds/global-bundle.pem"}
    options = database_from_environment(SQLITE, given)["OPTIONS"]
    assert (options["sslmode"], options["sslrootcert"]) == ("verify-full", "/etc/ssl/rds/global-bundle.pem")


def test_database_url_wins_and_no_host_keeps_the_default():
    assert database_from_environment(SQLITE, {**RDS_TASK, "DATABASE_URL": "postgres://elsewhere/x"}) is SQLITE
    assert database_from_environment(SQLITE, {}) is SQLITE


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({**RDS_TASK, "DATABASE_PASSWORD": ""}, "DATABASE_HOST is set, but DATABASE_PASSWORD is not"),
        ({**RDS_TASK, "DATABASE_SSLMODE": "sometimes"}, "DATABASE_SSLMODE='sometimes' one of disable"),
        ({**RDS_TASK, "DATABASE_PORT": "five"}, "DATABASE_PORT='five' must be a number"),
    ],
    ids=["no-password", "bad-sslmode", "bad-port"],
)
def test_incomplete_or_malformed_rds_values_are_refused_by_name(given, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_environment(SQLITE, given)


def test_the_database_choice_defaults_to_rds_and_takes_your_own_or_none(settings):
    assert resolve_environment().ecs.database == "rds"
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:clientes/DATABASE_URL-AbCdEf"
    settings.ECR_DEPLOY = {"ECS": {"DATABASE": {"SECRET_ARN": arn}}}
    assert resolve_environment().ecs.database_secret_arn == arn
    settings.ECR_DEPLOY = {"ECS": {"DATABASE": "none"}}
    assert (resolve_environment().ecs.database, resolve_environment().ecs.database_secret_arn) == ("none", "")


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("postgres", "use 'rds' (PostgreSQL made by provision_ecs)"),
        ({"SECRET_ARN": "arn:aws:s3:::bucket"}, "your own database is {'SECRET_ARN': ARN}"),
        ({"SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x", "EXTRA": 1}, "your own database is"),
    ],
    ids=["unknown", "not-a-secret-arn", "extra-key"],
)
def test_manage_py_check_reports_a_bad_database_choice(settings, database, message):
    settings.ECR_DEPLOY = {"ECS": {"DATABASE": database}}
    assert any(message in problem for problem in conf.problems())


def test_the_database_variables_are_refused_in_terraform_vars(settings):
    settings.ECR_DEPLOY = {"ECS": {"TERRAFORM_VARS": {"banco_rds": False}}}
    assert (
        "ECR_DEPLOY['ECS']['TERRAFORM_VARS']['banco_rds'] is set from ECR_DEPLOY['ECS']['DATABASE']; set that "
        "instead" in conf.problems()
    )


@pytest.mark.django_db
def test_load_fixtures_once_loads_them_the_first_time_only():
    out = io.StringIO()
    call_command("load_fixtures_once", "clientes.json", stdout=out, verbosity=0)
    count = Cliente.objects.count()
    assert count > 0 and list(LoadedFixture.objects.values_list("name", flat=True)) == ["clientes.json"]
    first = Cliente.objects.order_by("pk").first()
    first.nome = "Changed by a user"
    first.save()
    call_command("load_fixtures_once", "clientes.json", stdout=out, verbosity=0)
    assert "Already loaded into this database, not loaded again: clientes.json" in out.getvalue()
    assert Cliente.objects.count() == count and Cliente.objects.get(pk=first.pk).nome == "Changed by a user"


@pytest.mark.engine
def test_a_secret_read_by_json_key_gives_that_key_as_ecs_does(local_aws):
    client = boto3.client("secretsmanager")
    arn = client.create_secret(
        Name=f"json-key-{id(client)}", SecretString=json.dumps({"username": "app", "password": "p4ss"})
    )["ARN"]
    definition = {
        "secrets": [
            {"name": "DATABASE_USER", "valueFrom": f"{arn}:username::"},
            {"name": "DATABASE_PASSWORD", "valueFrom": f"{arn}:password:AWSCURRENT:"},
            {"name": "WHOLE", "valueFrom": arn},
        ]
    }
    try:
        values = secret_values(boto3.Session(), definition)
    finally:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    assert values == {
        "DATABASE_USER": "app",
        "DATABASE_PASSWORD": "p4ss",
        "WHOLE": json.dumps({"username": "app", "password": "p4ss"}),
    }


def test_changes_held_for_the_maintenance_window_are_read_from_rds_recorded_answers():
    """moto applies every modification at once: the held change is a recorded RDS answer."""
    client = boto3.client("rds", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {"DBInstanceIdentifier": "clientes", "PendingModifiedValues": {"DBInstanceClass": "db.t4g.small"}}
            ]
        },
        {"DBInstanceIdentifier": "clientes"},
    )
    stubber.add_client_error("describe_db_instances", "DBInstanceNotFound", http_status_code=404)
    with stubber:
        assert pending_changes(client, "clientes") == {"DBInstanceClass": "db.t4g.small"}
        assert pending_changes(client, "gone") == {}


def test_migrations_that_cannot_run_backwards_are_named_after_migrate():
    from django.db import migrations

    from ecr_deploy.apps import EcrDeployConfig
    from ecr_deploy.runtime.migrations import IRREVERSIBLE_MARK, irreversible, report_irreversible

    data = type("Migration", (migrations.Migration,), {"operations": [migrations.RunPython(lambda apps, schema: None)]})
    safe = type("Migration", (migrations.Migration,), {"operations": [migrations.RunSQL("SELECT 1", "SELECT 1")]})
    plan = [(data("0002_fill_emails", "clientes"), False), (safe("0003_index", "clientes"), False)]
    assert irreversible(plan) == ["clientes.0002_fill_emails"]
    assert irreversible([(data("0002_fill_emails", "clientes"), True)]) == []  # unapplying is not this release
    out = io.StringIO()
    sender = EcrDeployConfig("ecr_deploy", __import__("ecr_deploy"))
    report_irreversible(sender, plan=plan, stdout=out)
    assert out.getvalue() == f"{IRREVERSIBLE_MARK} clientes.0002_fill_emails\n"
