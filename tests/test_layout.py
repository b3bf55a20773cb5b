"""What the layout guarantees: the web process reads only its own key, --plan reports the decisions the run makes,
--json failures are JSON."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy import conf
from ecr_deploy.errors import ConfigurationError

#: Values that only the deploy side reads, each bad.
BAD_DEPLOY_SIDE = {"PUSH_ATTEMPTS": 0, "ECS": {"TIMEOUT_SECONDS": -1}, "STATE": {"BACKEND": "s3"}}


@pytest.mark.django_db
def test_a_bad_deploy_side_value_leaves_health_answering(client, settings):
    settings.ECR_DEPLOY = BAD_DEPLOY_SIDE
    with pytest.raises(ConfigurationError, match="PUSH_ATTEMPTS"):
        conf.get("REPOSITORY")  # the deploy side refuses these settings...
    answer = client.get("/health/")  # ...while the web process answers
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "database": "up"}


def test_the_settings_object_follows_an_override(settings):
    settings.ECR_DEPLOY = {"REPOSITORY": "first"}
    assert conf.get("REPOSITORY") == "first"
    settings.ECR_DEPLOY = {"REPOSITORY": "second"}
    assert conf.get("REPOSITORY") == "second"
    settings.ECR_DEPLOY = {"PUSH_ATTEMPTS": 0}
    assert conf.problems() == ["ECR_DEPLOY['PUSH_ATTEMPTS'] must be at least 1"]


@pytest.mark.engine
def test_plan_reports_the_stop_that_the_run_makes_on_a_foreign_repository(local_aws, infra_copy, unique_image):
    name = unique_image()
    boto3.client("ecr").create_repository(repositoryName=name)  # untagged: not this project's
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, "--plan", "--json", stdout=out, stderr=io.StringIO())
    planned = json.loads(out.getvalue())["planned"]
    assert len(planned) == 1 and planned[0].startswith(f"stop: The repository {name} exists")
    assert "another state may own it" in planned[0] and "--adopt" in planned[0]
    with pytest.raises(CommandError) as stopped:
        call_command("publish_ecr", "--repository", name, stdout=io.StringIO(), stderr=io.StringIO())
    assert planned[0] == f"stop: {stopped.value}"


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (["publish_ecr", "--json", "--tag", "bad tag"], "ConfigurationError", "Invalid tag 'bad tag'"),
        (["deploy_ecs", "--json", "--timeout", "-1"], "CommandError", "--timeout must be a positive number"),
        (["bootstrap_state", "--json", "--env", "nowhere"], "ConfigurationError", "Unknown environment 'nowhere'"),
    ],
)
def test_a_json_failure_is_one_json_record_on_stdout(manage, args, kind, message):
    done = manage(*args)
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["type"] == kind and message in error["message"]
    assert set(error) == {"type", "message", "hint"}
    assert "Traceback" not in done.stderr


def sts_calls(session: boto3.Session) -> list[int]:
    calls: list[int] = []
    session.events.register("after-call.sts.GetCallerIdentity", lambda **_: calls.append(1))
    return calls


@pytest.mark.engine
def test_the_account_of_known_credentials_is_read_once_and_other_credentials_are_asked_again(local_aws, tmp_path):
    from ecr_deploy.aws.session import account_id

    known = tmp_path / "accounts.json"
    session = boto3.Session()
    calls = sts_calls(session)
    first = account_id(session, known)
    assert account_id(session, known) == first and len(calls) == 1
    assert session.get_credentials().access_key not in known.read_text()  # only a digest is kept
    role = f"arn:aws:iam::{local_aws['LOCAL_AWS_SECOND_ACCOUNT']}:role/layout-tests"
    assumed = session.client("sts").assume_role(RoleArn=role, RoleSessionName="layout")["Credentials"]
    other = boto3.Session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )
    other_calls = sts_calls(other)
    assert account_id(other, known) == local_aws["LOCAL_AWS_SECOND_ACCOUNT"] != first and len(other_calls) == 1
    assert account_id(session, known) == first and len(calls) == 1
