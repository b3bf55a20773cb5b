"""Each piece of scripts/local-aws is real: engine, base image, terraform on moto, the registry as the ECR host."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import boto3
import docker.errors
import pytest

from ecr_deploy.errors import TerraformError
from ecr_deploy.terraform.cli import Terraform
from tests.conftest import LOCAL_AWS, ROOT

pytestmark = pytest.mark.engine
BASE_IMAGE = "python:3.13-slim"


def local_aws_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LOCAL_AWS), *args], check=False, capture_output=True, text=True)


def test_a_container_from_the_base_image_reaches_pypi_with_pip(docker_client):
    output = docker_client.containers.run(
        BASE_IMAGE,
        ["sh", "-c", "python --version && pip download --no-deps -q -d /tmp/d six && ls /tmp/d"],
        remove=True,
    )
    assert b"Python 3.13" in output and b"six-" in output


def test_terraform_with_the_mirror_and_only_the_endpoint_creates_a_repository(local_aws, tmp_path):
    infra = tmp_path / "infra"
    shutil.copytree(ROOT / "infra", infra, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    log = tmp_path / "terraform.log"  # the provider's requests, shown if the apply fails
    terraform = Terraform(infra, env={"TF_LOG_PROVIDER": "DEBUG", "TF_LOG_PATH": str(log)})
    terraform.init(output=lambda _: None)
    name = f"local-aws-terraform-check-{uuid.uuid4().hex[:8]}"
    assert terraform.plan({"nome": name}, output=lambda _: None, summary=lambda _: None).changes
    try:
        terraform.apply_plan(output=lambda _: None, summary=lambda _: None)
    except TerraformError as err:
        exchange = [line for line in log.read_text().splitlines() if re.search(r"CreateRepository|retry|attempt", line)]
        raise AssertionError(f"{err}\nThe provider's CreateRepository requests:\n" + "\n".join(exchange[-60:])) from err
    names = [r["repositoryName"] for r in boto3.client("ecr").describe_repositories()["repositories"]]
    assert name in names
    assert terraform.outputs()["registry_id"] == "123456789012"


def test_login_with_the_ecr_token_push_and_pull_by_digest(local_aws, docker_client):
    ecr = boto3.client("ecr")
    name = f"local-aws-push-check-{uuid.uuid4().hex[:8]}"
    uri = ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    assert (
        docker_client.login(username=user, password=password, registry=data["proxyEndpoint"], reauth=True)["Status"]
        == "Login Succeeded"
    )
    docker_client.images.get(BASE_IMAGE).tag(uri, "base")
    auth = {"username": user, "password": password}
    lines = list(docker_client.api.push(uri, tag="base", auth_config=auth, stream=True, decode=True))
    assert not [line for line in lines if "error" in line]
    digest = next(line["aux"]["Digest"] for line in lines if "Digest" in line.get("aux", {}))
    docker_client.images.remove(f"{uri}:base")
    docker_client.api.pull(uri, tag=digest, auth_config=auth)
    assert docker_client.images.get(f"{uri}@{digest}").id == docker_client.images.get(BASE_IMAGE).id


def test_a_wrong_password_is_refused_with_401(local_aws, docker_client):
    endpoint = boto3.client("ecr").get_authorization_token()["authorizationData"][0]["proxyEndpoint"]
    with pytest.raises(docker.errors.APIError) as refused:
        docker_client.login(username="AWS", password="not-the-token", registry=endpoint, reauth=True)
    assert "401" in str(refused.value)


def test_a_bucket_that_refuses_plain_http_serves_its_files_as_s3_does_over_https(local_aws):
    """A bucket policy's HTTPS-only Deny does not apply to the SDKs' requests (HTTPS on AWS; the local AWS's HTTP
    stands for it), and a Deny without that condition still refuses (scripts/local_moto.py: bucket_permission)."""
    import json

    s3, bucket = boto3.client("s3"), f"https-only-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    arn = f"arn:aws:s3:::{bucket}"

    def deny(condition: dict | None) -> None:
        statement = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"]}
        statement |= {"Condition": condition} if condition else {}
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))

    deny({"Bool": {"aws:SecureTransport": "false"}})
    s3.put_object(Bucket=bucket, Key="media/a.txt", Body=b"kept")
    assert s3.get_object(Bucket=bucket, Key="media/a.txt")["Body"].read() == b"kept"
    deny(None)
    with pytest.raises(s3.exceptions.ClientError, match="403"):
        s3.head_object(Bucket=bucket, Key="media/a.txt")
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="media/a.txt")
    s3.delete_bucket(Bucket=bucket)


def test_describe_parameters_names_each_parameters_arn_as_aws_does(local_aws):
    ssm, name = boto3.client("ssm"), f"/rules/{uuid.uuid4().hex[:8]}/KEY"
    ssm.put_parameter(Name=name, Value="v", Type="String")
    (found,) = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert re.fullmatch(rf"arn:aws:ssm:[a-z0-9-]+:\d{{12}}:parameter{name}", found["ARN"])
    ssm.delete_parameter(Name=name)


def test_up_twice_starts_nothing_twice(local_aws):
    state = ROOT / ".local-aws"
    pids = {name: (state / f"{name}.pid").read_text() for name in ("moto", "registry", "gate", "dns")}
    done = local_aws_cli("up")
    assert done.returncode == 0, done.stderr
    assert "starting" not in done.stdout and "moto: running" in done.stdout and "registry: running" in done.stdout
    assert "dns: running" in done.stdout
    assert {name: (state / f"{name}.pid").read_text() for name in pids} == pids


def test_env_prints_the_exports_a_shell_needs():
    exports = local_aws_cli("env").stdout
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "TF_CLI_CONFIG_FILE",
    ):
        assert f"export {name}=" in exports


@pytest.mark.serial  # before any test that uses the local AWS (conftest): moto restarts empty
def test_down_leaves_no_hosts_line_and_up_restores_everything(local_aws):
    try:
        down = local_aws_cli("down")
        assert down.returncode == 0, down.stderr
        assert "# local-aws" not in Path("/etc/hosts").read_text()
        assert not Path("/etc/docker/certs.d/123456789012.dkr.ecr.us-east-1.amazonaws.com").exists()
        assert "moto: stopped" in local_aws_cli("status").stdout
    finally:
        up = local_aws_cli("up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "# local-aws" in Path("/etc/hosts").read_text()
