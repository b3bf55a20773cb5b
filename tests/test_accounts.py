"""A state is bound to the account and region it was applied in: other credentials are refused before any
terraform call, whatever the state's backend, and an environment may pin its account (terraform's provider gets
it as allowed_account_ids). Against real terraform, moto (ECR, S3, STS AssumeRole) and the registry."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import local_state

pytestmark = pytest.mark.engine

BINDING = ".account.json"


def publish(*flags: str) -> dict:
    out = io.StringIO()
    call_command("publish_ecr", "--json", *flags, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def act_in_second_account(local_aws: dict, monkeypatch) -> boto3.Session:
    """From now on this process's credentials act in the second account (STS AssumeRole); a session of them (the
    default session keeps the credentials it first found)."""
    account = local_aws["LOCAL_AWS_SECOND_ACCOUNT"]
    role = f"arn:aws:iam::{account}:role/deployer"
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="tests")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    session = boto3.Session()
    assert session.client("sts").get_caller_identity()["Account"] == account
    return session


def test_a_state_applied_in_one_account_is_refused_in_another_and_nothing_there_is_touched(
    local_aws, infra_copy, unique_image, monkeypatch
):
    name = unique_image()
    first = publish("--repository", name)
    state = local_state(infra_copy, name)
    assert json.loads(state.with_name(state.name + BINDING).read_text()) == {
        "account": first["repository_uri"].split(".")[0],
        "region": "us-east-1",
    }
    before = state.read_bytes()
    other = act_in_second_account(local_aws, monkeypatch)
    second = local_aws["LOCAL_AWS_SECOND_ACCOUNT"]
    ecr = other.client("ecr")
    arn = ecr.create_repository(repositoryName=name)["repository"]["repositoryArn"]  # its own, without our tags
    with pytest.raises(CommandError) as refused:
        publish("--repository", name)
    message = str(refused.value)
    assert f"applied in AWS account {first['repository_uri'].split('.')[0]} (us-east-1)" in message
    assert f"act in account {second} (us-east-1); nothing was run" in message
    assert "an environment per account" in message and "ACCOUNT" in message
    assert state.read_bytes() == before
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == []
    assert ecr.list_images(repositoryName=name)["imageIds"] == []
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName=name)


def test_a_state_from_before_bindings_is_bound_by_the_arns_it_lists(local_aws, infra_copy, unique_image, monkeypatch):
    name = unique_image()
    publish("--repository", name)
    state = local_state(infra_copy, name)
    state.with_name(state.name + BINDING).unlink()
    act_in_second_account(local_aws, monkeypatch)
    with pytest.raises(CommandError, match="was applied in AWS account 123456789012 .us-east-1."):
        publish("--repository", name)
    assert not state.with_name(state.name + BINDING).exists()


def test_another_region_than_the_states_is_refused(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    with pytest.raises(
        CommandError, match=r"\(us-east-1\), but the credentials act in account 123456789012 \(eu-west-1\)"
    ):
        publish("--repository", name, "--region", "eu-west-1")


def test_the_binding_of_an_s3_state_is_beside_it_and_guards_a_fresh_checkout(
    local_aws, infra_copy, unique_image, settings, monkeypatch, tmp_path
):
    from ecr_deploy.aws.state import bootstrap_state
    from ecr_deploy.environments import StateConfig

    bucket = f"accounts-{tmp_path.name[-20:].lower().replace('_', '-')}".strip("-")
    bootstrap_state(StateConfig("s3", bucket), boto3.Session(), lambda _: None)
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "STATE": {"BACKEND": "s3", "BUCKET": bucket}}
    name = unique_image()
    publish("--repository", name)
    key = f"ecr_deploy/default/{name}.tfstate"
    binding = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key + BINDING)["Body"].read())
    assert binding == {"account": "123456789012", "region": "us-east-1"}
    shutil.rmtree(infra_copy / ".terraform")  # a teammate's fresh checkout: no local record of any kind
    version = boto3.client("s3").head_object(Bucket=bucket, Key=key)["ETag"]
    act_in_second_account(local_aws, monkeypatch)
    with pytest.raises(CommandError, match="applied in AWS account 123456789012"):
        publish("--repository", name)
    monkeypatch.undo()
    assert boto3.client("s3").head_object(Bucket=bucket, Key=key)["ETag"] == version


def test_an_environment_pinned_to_another_account_stops_before_terraform(local_aws, infra_copy, unique_image, settings):
    second = local_aws["LOCAL_AWS_SECOND_ACCOUNT"]
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "ENVIRONMENTS": {"prod": {"ACCOUNT": second}}}
    name = unique_image()
    with pytest.raises(
        CommandError, match=f"Environment prod is pinned to AWS account {second} .ACCOUNT.*123456789012"
    ):
        publish("--repository", name)
    assert not local_state(infra_copy, name, "prod").exists()
    assert not (infra_copy / ".terraform" / "ecr_deploy" / "prod").exists()
    assert name not in {r["repositoryName"] for r in boto3.client("ecr").describe_repositories()["repositories"]}


def test_an_environment_pinned_to_its_account_publishes_and_terraform_itself_refuses_any_other(
    local_aws, infra_copy, unique_image, settings
):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "ENVIRONMENTS": {"prod": {"ACCOUNT": "123456789012"}}}
    name = unique_image()
    assert publish("--repository", name)["digest"]
    second = local_aws["LOCAL_AWS_SECOND_ACCOUNT"]
    subprocess.run(["terraform", "init", "-input=false"], cwd=infra_copy, check=True, capture_output=True)
    by_hand = subprocess.run(  # a hand-run terraform with our files and the pin of another account
        ["terraform", "plan", "-input=false", "-var", f"nome={name}", "-var", f'contas_permitidas=["{second}"]'],
        cwd=infra_copy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert by_hand.returncode == 1
    assert "123456789012" in by_hand.stderr and "not allowed" in by_hand.stderr
