"""publish_ecr against the local AWS: moto, the registry as the ECR host, and real terraform."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.workflows.deploy import PREVIOUS_MARK, RUNNING_MARK
from tests.conftest import get_json, local_state, terraform_of

pytestmark = pytest.mark.engine


def publish(*flags: str) -> dict:
    out = io.StringIO()
    call_command("publish_ecr", "--json", *flags, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def ecr():
    return boto3.client("ecr")


def test_publish_creates_the_repository_and_pushes(local_aws, infra_copy, unique_image):
    name = unique_image()
    result = publish("--repository", name)
    repository = ecr().describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repository["imageScanningConfiguration"]["scanOnPush"] is True
    assert (
        terraform_of(infra_copy, name).outputs()["repository_url"]
        == repository["repositoryUri"]
        == result["repository_uri"]
    )
    assert result["reference"] == f"{repository['repositoryUri']}:V1@{result['digest']}"
    assert result["layers_pushed"] >= 1 and result["bytes_pushed"] > 0
    assert result["terraform_changes"] is True and result["skipped"] == []


def test_human_output_ends_with_the_reference(local_aws, infra_copy, unique_image):
    name = unique_image()
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith(f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:V1@sha256:")


def test_pushed_image_pulls_back_by_digest_and_serves_the_api(
    local_aws, docker_client, infra_copy, unique_image, running_container
):
    name = unique_image()
    result = publish("--repository", name)
    image_id = docker_client.images.get(f"{name}:V1").id
    docker_client.images.remove(image_id, force=True)
    auth = {"username": "AWS", "password": _registry_password()}
    docker_client.api.pull(result["repository_uri"], tag=result["digest"], auth_config=auth)
    pulled = docker_client.images.get(f"{result['repository_uri']}@{result['digest']}")
    assert pulled.id == image_id
    _, url = running_container(pulled.id)
    assert get_json(f"{url}/clientes/")["count"] == 36


def _registry_password() -> str:
    import base64

    token = ecr().get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().split(":", 1)[1]


def test_second_publish_changes_nothing_and_says_so(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    state = local_state(infra_copy, name).read_bytes()
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, stdout=out)
    assert "nothing changed since the last apply" in out.getvalue() and "nothing pushed" in out.getvalue()
    assert local_state(infra_copy, name).read_bytes() == state
    again = publish("--repository", name)
    assert again["skipped"] == ["terraform (unchanged)", "push (registry already holds the image)"]
    assert again["bytes_pushed"] == 0


def test_after_a_change_only_new_layers_move(local_aws, infra_copy, unique_image, docker_client):
    name = unique_image()
    first = publish("--repository", name)
    unique_image(name=name, note="a code change")
    second = publish("--repository", name)
    assert second["digest"] != first["digest"]
    assert second["layers_pushed"] == 1 and second["layers_existing"] >= 3
    assert "terraform (unchanged)" in second["skipped"]


def test_a_changed_tf_file_runs_terraform_again(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    variables = infra_copy / "variaveis.tf"
    variables.write_text(variables.read_text().replace('default     = "MUTABLE"', 'default     = "IMMUTABLE"'))
    result = publish("--repository", name)
    assert result["terraform_changes"] is True
    repository = ecr().describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repository["imageTagMutability"] == "IMMUTABLE"


def test_plan_changes_nothing(local_aws, infra_copy, unique_image):
    name = unique_image()
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, "--plan", stdout=out)
    assert "Plan: terraform apply" in out.getvalue() and f"Plan: push {name}:V1" in out.getvalue()
    assert name not in [r["repositoryName"] for r in ecr().describe_repositories()["repositories"]]
    assert not local_state(infra_copy, name).exists()


def test_plan_after_a_publish_says_nothing_would_move(local_aws, infra_copy, unique_image):
    name = unique_image()
    publish("--repository", name)
    state = local_state(infra_copy, name).read_bytes()
    result = publish("--repository", name, "--plan")
    assert result["terraform_changes"] is False
    assert result["planned"][-1].startswith("nothing to push")
    assert local_state(infra_copy, name).read_bytes() == state


def test_skip_terraform_pushes_to_an_existing_repository(local_aws, infra_copy, unique_image):
    name = unique_image()
    ecr().create_repository(repositoryName=name)
    result = publish("--repository", name, "--skip-terraform")
    assert "terraform (--skip-terraform)" in result["skipped"] and result["digest"].startswith("sha256:")
    assert not local_state(infra_copy, name).exists()


def test_skip_terraform_without_the_repository_says_what_to_do(local_aws, infra_copy, unique_image):
    name = unique_image()
    with pytest.raises(CommandError, match="does not exist; run publish_ecr without --skip-terraform"):
        publish("--repository", name, "--skip-terraform")


def test_immutable_tag_pointing_elsewhere_is_a_clear_error(local_aws, infra_copy, unique_image, settings):
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "TERRAFORM_VARS": {"mutabilidade_tags": "IMMUTABLE"}}
    name = unique_image()
    first = publish("--repository", name)
    unique_image(name=name, note="another build")
    with pytest.raises(CommandError, match=f"already points at {first['digest']} and the repository is IMMUTABLE"):
        publish("--repository", name)


def test_image_not_built_says_to_run_build_image(local_aws, infra_copy):
    with pytest.raises(CommandError, match="run `python manage.py build_image --tag never-built:V1` first"):
        publish("--repository", "never-built")


def test_lifecycle_policy_is_optional_and_never_expires_what_an_environment_runs(
    local_aws, infra_copy, unique_image, settings
):
    """ECR never lets a rule expire an image that a rule of higher priority matches (ECR user guide, "Lifecycle
    policy evaluation rules"): the first matches deploy_ecs's marks, and expires them only beyond 100."""
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "TERRAFORM_VARS": {"manter_ultimas_imagens": 5}}
    name = unique_image()
    publish("--repository", name)
    policy = json.loads(ecr().get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
    kept, untagged, last = sorted(policy["rules"], key=lambda rule: rule["rulePriority"])
    assert kept["selection"] == {
        "tagStatus": "tagged",
        "tagPrefixList": ["ecr-deploy-"],
        "countType": "imageCountMoreThan",
        "countNumber": 100,
    }
    assert (untagged["selection"]["tagStatus"], last["selection"]["tagStatus"]) == ("untagged", "any")
    assert RUNNING_MARK.startswith("ecr-deploy-") and PREVIOUS_MARK.startswith("ecr-deploy-")


def test_a_repository_missing_from_a_lost_state_is_imported_not_recreated(local_aws, infra_copy, unique_image):
    name = unique_image()
    first = publish("--repository", name)
    local_state(infra_copy, name).unlink()
    (terraform_of(infra_copy, name).data_dir / "ecr_deploy-applied.json").unlink()
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, stdout=out)
    assert f"importing {name} as aws_ecr_repository.repositorio (it carries this environment's tags" in out.getvalue()
    assert "aws_ecr_repository.repositorio" in terraform_of(infra_copy, name).managed_resources()
    assert out.getvalue().strip().endswith(first["digest"])


def test_the_course_infra_alone_is_enough(local_aws, infra_copy, unique_image):
    for extra in ("provider.tf", "outputs.tf"):
        (infra_copy / extra).unlink()  # the course had only ecr.tf and variaveis.tf
    (infra_copy / "ecr.tf").write_text('resource "aws_ecr_repository" "repositorio" {\n  name = var.nome\n}\n')
    (infra_copy / "variaveis.tf").write_text('variable "nome" {\n  type = string\n}\n')
    name = unique_image()
    result = publish("--repository", name)
    assert result["reference"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:V1@{result['digest']}"


def test_region_reaches_terraform_even_without_a_region_variable(local_aws, infra_copy, unique_image, fault_registry):
    region = fault_registry().region  # a registry of this test's own serves that region's ECR host
    (infra_copy / "provider.tf").unlink()
    (infra_copy / "outputs.tf").unlink()
    (infra_copy / "ecr.tf").write_text('resource "aws_ecr_repository" "repositorio" {\n  name = var.nome\n}\n')
    (infra_copy / "variaveis.tf").write_text('variable "nome" {\n  type = string\n}\n')
    name = unique_image()
    result = publish("--repository", name, "--region", region)
    assert result["repository_uri"] == f"123456789012.dkr.ecr.{region}.amazonaws.com/{name}"
    assert boto3.client("ecr", region_name=region).describe_repositories(repositoryNames=[name])["repositories"]


def test_a_create_whose_answer_was_lost_is_imported_and_applied_in_the_same_run(local_aws, infra_copy, unique_image):
    name = unique_image()
    asks = Path(local_aws["LOCAL_AWS_FAULTS"]) / "lose-create-answer"
    asks.mkdir(parents=True, exist_ok=True)
    (asks / name).touch()  # moto creates the repository, then answers 500: the provider's retry finds it there
    out = io.StringIO()
    call_command("publish_ecr", "--repository", name, stdout=out)
    assert not (asks / name).exists()  # the fault was played
    assert f"the apply found {name} already there" in out.getvalue()
    assert f"importing {name} as aws_ecr_repository.repositorio (it carries this environment's tags" in out.getvalue()
    assert "aws_ecr_repository.repositorio" in terraform_of(infra_copy, name).managed_resources()
    assert out.getvalue().strip().endswith(held_digest_of(name))


def held_digest_of(name: str) -> str:
    return ecr().describe_images(repositoryName=name, imageIds=[{"imageTag": "V1"}])["imageDetails"][0]["imageDigest"]
