"""Environments, one state per environment and repository, S3 state with locking, the no-op skip and adoption,
against real terraform, moto (ECR, S3, DynamoDB, STS) and the registry."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.terraform.hcl import OVERRIDE_FILE
from tests.conftest import copy_project, local_state, stack_of, terraform_of

pytestmark = pytest.mark.engine


def publish(*flags: str) -> dict:
    out = io.StringIO()
    call_command("publish_ecr", "--json", *flags, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def s3_state(bucket: str, **extra: object) -> dict:
    return {"BACKEND": "s3", "BUCKET": bucket, **extra}


def state_object(bucket: str, key: str) -> dict:
    return json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def repositories_in(state: dict) -> list[str]:
    return [
        instance["attributes"]["name"]
        for resource in state["resources"]
        if resource["type"] == "aws_ecr_repository"
        for instance in resource["instances"]
    ]


def held_digest(name: str, tag: str = "V1") -> str | None:
    """The digest the registry holds under name:tag, asked as publish_ecr asks it."""
    from ecr_deploy.aws.ecr import EcrApi
    from ecr_deploy.image.engine import engine
    from ecr_deploy.image.registry import EcrRegistry

    uri = boto3.client("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryUri"]
    return EcrRegistry(engine(), EcrApi(boto3.client("ecr")).authorization).remote_digest(uri, tag)


@pytest.fixture
def state_bucket(local_aws) -> str:
    """The name of a state bucket of this test's own, for bootstrap_state to create."""
    return f"tfstate-{uuid.uuid4().hex[:12]}"


def bootstrap(bucket: str, settings, **state: object) -> str:
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "STATE": s3_state(bucket, **state)}
    out = io.StringIO()
    call_command("bootstrap_state", stdout=out)
    return out.getvalue()


def test_two_repositories_published_in_turn_both_exist_and_hold_their_images(local_aws, infra_copy, unique_image):
    first, second = unique_image(), unique_image()
    digests = {first: publish("--repository", first)["digest"]}
    result = publish("--repository", second)
    digests[second] = result["digest"]
    assert result["terraform_changes"] is True
    for name in (first, second):
        assert held_digest(name) == digests[name]
        assert repositories_in(json.loads(local_state(infra_copy, name).read_text())) == [name]


def test_bootstrap_state_creates_the_bucket_and_lock_table_then_finds_them(state_bucket, settings):
    created = bootstrap(state_bucket, settings, LOCK_TABLE=f"{state_bucket}-locks")
    assert f"Bucket {state_bucket}: created" in created and f"Lock table {state_bucket}-locks: created" in created
    found = bootstrap(state_bucket, settings, LOCK_TABLE=f"{state_bucket}-locks")
    assert f"Bucket {state_bucket}: found" in found and f"Lock table {state_bucket}-locks: found" in found
    s3 = boto3.client("s3")
    assert s3.get_bucket_versioning(Bucket=state_bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=state_bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=state_bucket)["PublicAccessBlockConfiguration"].values())
    table = boto3.client("dynamodb").describe_table(TableName=f"{state_bucket}-locks")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]


def test_prod_and_homolog_from_one_checkout_have_separate_states_and_repositories(
    infra_copy, unique_image, state_bucket, settings
):
    bootstrap(state_bucket, settings)
    prod, homolog = unique_image(), unique_image()
    settings.ECR_DEPLOY = {
        **settings.ECR_DEPLOY,
        "ENVIRONMENT": "homolog",
        "ENVIRONMENTS": {
            "prod": {"REPOSITORY": prod, "TERRAFORM_VARS": {"mutabilidade_tags": "IMMUTABLE"}},
            "homolog": {"REPOSITORY": homolog},
        },
    }
    first = publish()
    assert first["environment"] == "homolog"
    result = publish("--env", "prod")
    assert result["state"] == f"s3://{state_bucket}/ecr_deploy/prod/{prod}.tfstate"
    assert repositories_in(state_object(state_bucket, f"ecr_deploy/prod/{prod}.tfstate")) == [prod]
    assert repositories_in(state_object(state_bucket, f"ecr_deploy/homolog/{homolog}.tfstate")) == [homolog]
    described = boto3.client("ecr").describe_repositories(repositoryNames=[prod, homolog])["repositories"]
    assert {r["repositoryName"]: r["imageTagMutability"] for r in described} == {
        prod: "IMMUTABLE",
        homolog: "MUTABLE",
    }
    assert held_digest(prod) == result["digest"] and held_digest(homolog) == first["digest"]


def clone_with_settings(destination: Path, ecr_deploy: dict) -> dict[str, str]:
    """A separate checkout of the project whose settings module sets ecr_deploy; the environment to run it in."""
    copy_project(destination)
    (destination / "team_settings.py").write_text(f"from setup.settings import *\nECR_DEPLOY = {ecr_deploy!r}\n")
    return {**os.environ, "PYTHONPATH": str(destination), "DJANGO_SETTINGS_MODULE": "team_settings"}


def start_publish(clone: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "publish_ecr", "--env", "prod", "--json"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_clones_publishing_at_once_against_one_s3_state_both_end_well(
    tmp_path, unique_image, state_bucket, settings
):
    bootstrap(state_bucket, settings)
    name = unique_image()
    ecr_deploy = {"ENVIRONMENTS": {"prod": {"REPOSITORY": name, "STATE": s3_state(state_bucket)}}}
    clones = {side: tmp_path / side for side in ("alice", "bob")}
    envs = {side: clone_with_settings(path, ecr_deploy) for side, path in clones.items()}
    running = {side: start_publish(clones[side], envs[side]) for side in clones}
    finished = {side: process.communicate(timeout=600) for side, process in running.items()}
    for side, (stdout, stderr) in finished.items():
        assert running[side].returncode == 0, stderr
        assert json.loads(stdout)["digest"].startswith("sha256:")
    assert repositories_in(state_object(state_bucket, f"ecr_deploy/prod/{name}.tfstate")) == [name]
    for side, clone in clones.items():
        rerun = subprocess.run(
            [sys.executable, "manage.py", "publish_ecr", "--env", "prod", "--json"],
            check=False,
            cwd=clone,
            env=envs[side],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rerun.returncode == 0, rerun.stderr
        result = json.loads(rerun.stdout)
        assert result["terraform_changes"] is False and result["bytes_pushed"] == 0


def test_a_teammates_apply_to_the_shared_state_runs_terraform_again(
    infra_copy, tmp_path, unique_image, state_bucket, settings
):
    bootstrap(state_bucket, settings)
    name = unique_image()
    teammate = tmp_path / "teammate-infra"
    shutil.copytree(infra_copy, teammate)
    mine = settings.ECR_DEPLOY
    publish("--repository", name)
    settings.ECR_DEPLOY = {**mine, "TERRAFORM_DIR": str(teammate), "TERRAFORM_VARS": {"manter_ultimas_imagens": 2}}
    assert publish("--repository", name)["terraform_changes"] is True
    settings.ECR_DEPLOY = mine
    again = publish("--repository", name)
    assert "terraform (unchanged)" not in again["skipped"] and again["terraform_changes"] is True
    with pytest.raises(boto3.client("ecr").exceptions.LifecyclePolicyNotFoundException):
        boto3.client("ecr").get_lifecycle_policy(repositoryName=name)  # my infra/ has no policy: applied again


def test_a_changed_tfvars_file_runs_terraform_again(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    (infra_copy / "equipe.auto.tfvars").write_text("manter_ultimas_imagens = 3\n")
    result = publish("--repository", name)
    assert result["terraform_changes"] is True
    assert boto3.client("ecr").get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]


def test_a_changed_tf_var_in_the_environment_runs_terraform_again(local_aws, infra_copy, unique_image, monkeypatch):
    name = unique_image()
    publish("--repository", name)
    monkeypatch.setenv("TF_VAR_mutabilidade_tags", "IMMUTABLE")
    result = publish("--repository", name)
    assert result["terraform_changes"] is True
    described = boto3.client("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]
    assert described["imageTagMutability"] == "IMMUTABLE"


def test_typed_variables_reach_terraform_as_booleans_numbers_and_maps(local_aws, infra_copy, unique_image, settings):
    settings.ECR_DEPLOY = {
        **settings.ECR_DEPLOY,
        "TERRAFORM_VARS": {"scan_on_push": False, "manter_ultimas_imagens": 2, "etiquetas": {"equipe": "clientes"}},
    }
    name = unique_image()
    publish("--repository", name)
    ecr = boto3.client("ecr")
    described = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    assert described["imageScanningConfiguration"]["scanOnPush"] is False
    assert ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=described["repositoryArn"])["tags"]}
    assert tags == {"equipe": "clientes", "ecr_deploy:project": "setup", "ecr_deploy:environment": "default"}


def test_a_repository_of_another_state_is_refused_then_adopted_when_asked(local_aws, infra_copy, unique_image):
    name = unique_image()
    boto3.client("ecr").create_repository(repositoryName=name)  # made elsewhere, without this project's tags
    with pytest.raises(CommandError, match="another state may own it.*--adopt"):
        publish("--repository", name)
    assert not local_state(infra_copy, name).exists()
    assert held_digest(name) is None
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, "--adopt", stdout=out)
    assert f"importing {name} as aws_ecr_repository.repositorio (--adopt)" in out.getvalue()
    assert "aws_ecr_repository.repositorio" in terraform_of(infra_copy, name).managed_resources()
    assert held_digest(name)


def test_a_plan_that_replaces_the_repository_is_refused_unless_allowed(local_aws, infra_copy, unique_image):
    ecr_tf = infra_copy / "ecr.tf"
    ecr_tf.write_text(ecr_tf.read_text().replace("  tags ", "  force_delete         = true\n  tags "))
    name = unique_image()
    first = publish("--repository", name)
    state = local_state(infra_copy, name).read_bytes()
    ecr_tf.write_text(
        ecr_tf.read_text().replace(
            "  image_scanning_configuration {",
            '  encryption_configuration {\n    encryption_type = "KMS"\n  }\n\n  image_scanning_configuration {',
        )
    )
    with pytest.raises(CommandError, match="would destroy or replace aws_ecr_repository.repositorio.*--allow-destroy"):
        publish("--repository", name)
    assert local_state(infra_copy, name).read_bytes() == state
    assert held_digest(name) == first["digest"]
    replaced = publish("--repository", name, "--allow-destroy")
    assert replaced["terraform_changes"] is True and replaced["digest"] == first["digest"]
    described = boto3.client("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]
    assert described["encryptionConfiguration"]["encryptionType"] == "KMS"


def test_changed_provider_requirements_run_init_again(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    assert not terraform_of(infra_copy, name).needs_init()
    provider = infra_copy / "provider.tf"
    provider.write_text(provider.read_text().replace('version = "~> 5.0"', 'version = ">= 5.0, < 6.0"'))
    assert terraform_of(infra_copy, name).needs_init()
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, stdout=out)
    assert f"Terraform: init in {infra_copy} for environment default" in out.getvalue()
    assert not terraform_of(infra_copy, name).needs_init()


def test_force_terraform_applies_even_when_nothing_changed(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    forced = publish("--repository", name, "--force-terraform")
    assert "terraform (unchanged)" not in forced["skipped"] and forced["terraform_changes"] is False


def test_a_run_leaves_no_override_plan_or_var_file_behind(local_aws, infra_copy, unique_image, state_bucket, settings):
    bootstrap(state_bucket, settings)
    publish("--repository", unique_image())
    assert not (infra_copy / OVERRIDE_FILE).exists()
    assert not [p for p in infra_copy.rglob("*") if p.suffix == ".tfplan" or p.name.startswith("ecr_deploy-vars")]


def test_a_backend_that_infra_declares_is_used_as_is_and_never_skipped(local_aws, infra_copy, unique_image):
    (infra_copy / "backend.tf").write_text('terraform {\n  backend "local" {\n    path = "ours.tfstate"\n  }\n}\n')
    name = unique_image()
    first = publish("--repository", name)
    assert first["state"] == f"the backend declared in {infra_copy}"
    assert repositories_in(json.loads((infra_copy / "ours.tfstate").read_text())) == [name]
    again = publish("--repository", name)
    assert "terraform (unchanged)" not in again["skipped"] and again["terraform_changes"] is False


def test_a_state_from_before_environments_is_moved_to_its_place(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    local_state(infra_copy, name).rename(infra_copy / "terraform.tfstate")  # the course's layout, and ours before
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, stdout=out)
    assert (
        f"State: moved terraform.tfstate (from before environments) to terraform.tfstate.d/default/{name}.tfstate"
        in out.getvalue()
    )
    assert not (infra_copy / "terraform.tfstate").exists()
    assert repositories_in(json.loads(local_state(infra_copy, name).read_text())) == [name]


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_the_state_read_without_terraform_says_what_terraform_says(
    local_aws, infra_copy, unique_image, state_bucket, settings, backend
):
    from ecr_deploy.environments import StateConfig

    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "TERRAFORM_VARS": {"manter_ultimas_imagens": 2}}  # a count: [0]
    state = StateConfig()
    if backend == "s3":
        bootstrap(state_bucket, settings)
        state = StateConfig("s3", state_bucket)
    name = unique_image()
    publish("--repository", name)
    stack = stack_of(infra_copy, name, state=state)
    assert (
        stack.managed_resources()
        == stack.terraform.managed_resources()
        == {"aws_ecr_repository.repositorio", "aws_ecr_lifecycle_policy.limpeza[0]"}
    )
    assert stack.state_outputs() == stack.terraform.outputs()
    assert stack.state_outputs()["repository_url"].endswith(f"/{name}")


def test_an_environment_in_another_region_than_the_state_bucket_addresses_the_bucket_in_its_own(
    local_aws, infra_copy, state_bucket, settings
):
    """docs/how-to/environments.md's two regions with one state bucket: terraform's S3 backend follows no redirect (the local AWS
    answers 301 as S3 does), so the backend names the bucket's region, found with HeadBucket, not the environment's."""
    from ecr_deploy.environments import StateConfig
    from ecr_deploy.workflows.stacks import open_stack

    bootstrap(state_bucket, settings)  # in us-east-1
    name = f"oeste-{uuid.uuid4().hex[:8]}"
    stack = open_stack(
        infra_copy,
        name=name,
        environment="oeste",
        state=StateConfig(backend="s3", bucket=state_bucket),
        session=boto3.Session(region_name="us-west-2"),
    )
    assert stack.location.config["region"] == "us-east-1"
    stack.prepare(lambda _: None, lambda _: None)
    assert stack.terraform.apply({"nome": name, "regiao": "us-west-2"}, lambda _: None, lambda _: None)
    assert repositories_in(state_object(state_bucket, f"ecr_deploy/oeste/{name}.tfstate")) == [name]
    assert boto3.client("ecr", region_name="us-west-2").describe_repositories(repositoryNames=[name])["repositories"]
