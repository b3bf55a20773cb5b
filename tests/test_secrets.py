"""Nothing secret leaves its place: not into an image layer, an output, a --json result or a file of ours."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import ROOT
from tests.secrets import AWS_SECRET, TOKEN_PASSWORD, assert_no_secrets

pytestmark = pytest.mark.engine

FORBIDDEN_NAMES = re.compile(r"(^|/)(\.git|\.env|\.terraform|\.aws|\.docker|id_rsa)(/|$)|\.tfstate|(^|/)\.venv(/|$)")
#: An access key id (AWS's documented placeholders, ending in EXAMPLE, are in boto3's and botocore's own examples),
#: a private key with its key material after the header (libssh2 carries the bare header as a parser's constant), a
#: secret key given a value as a credentials file writes it (boto3's code names the parameter, valueless), the
#: tests' secret.
FORBIDDEN_CONTENT = re.compile(
    rb"(?<![0-9A-Z])AKIA(?![0-9A-Z]{9}EXAMPLE)[0-9A-Z]{16}(?![0-9A-Z])|"
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{16}|"
    rb"aws_secret_access_key\s*=\s*[A-Za-z0-9/+]{40}|" + re.escape(AWS_SECRET.encode())
)
BAIT = {
    ".git/config": '[remote "origin"]\n\turl = git@example.com:team/app.git\n',
    ".env": f"AWS_ACCESS_KEY_ID=AKIA4ECRDEPLOYBAIT72\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n",
    "infra/terraform.tfstate": '{"version": 4}',
    "infra/.terraform/providers/x": "provider",
    "id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n",
    ".docker/config.json": '{"auths": {"x": {"auth": "QVdTOnNlY3JldA=="}}}',
    ".aws/credentials": f"[default]\naws_secret_access_key = {AWS_SECRET}\n",
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
}


def layer_findings(image_tar: Path) -> list[str]:
    """Every forbidden path or content in any layer of a `docker save` archive."""
    findings = []
    with tarfile.open(image_tar) as image:
        manifest = json.load(image.extractfile("manifest.json"))
        for layer_name in manifest[0]["Layers"]:
            with tarfile.open(fileobj=image.extractfile(layer_name)) as layer:
                for member in layer:
                    if FORBIDDEN_NAMES.search(member.name):
                        findings.append(f"{layer_name}: {member.name}")
                    elif (
                        member.isfile()
                        and member.size < 50_000_000
                        and FORBIDDEN_CONTENT.search(layer.extractfile(member).read())
                    ):
                        findings.append(f"{layer_name}: content of {member.name}")
    return findings


def test_no_layer_of_the_image_carries_git_env_state_keys_or_docker_config(docker_client, project_copy, tmp_path):
    for name, text in BAIT.items():
        (project_copy / name).parent.mkdir(parents=True, exist_ok=True)
        (project_copy / name).write_text(text)
    call_command("build_image", "--tag", "secrets-check:V1", stdout=io.StringIO())
    archive = tmp_path / "image.tar"
    with archive.open("wb") as handle:
        for chunk in docker_client.images.get("secrets-check:V1").save():
            handle.write(chunk)
    assert layer_findings(archive) == []
    docker_client.images.remove("secrets-check:V1")


def test_the_layer_scan_finds_what_it_looks_for(tmp_path):
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as archive:
        for name, text in BAIT.items():
            info = tarfile.TarInfo(f"home/ubuntu/tcc/{name}")
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    image = tmp_path / "image.tar"
    with tarfile.open(image, mode="w") as archive:
        for name, data in (
            ("manifest.json", json.dumps([{"Layers": ["l/layer.tar"]}]).encode()),
            ("l/layer.tar", layer.getvalue()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert len(layer_findings(image)) == len(BAIT)


def test_token_and_secret_never_appear_in_output_json_or_files_of_a_publish(manage, infra_copy, unique_image):
    name = unique_image()
    env = {"AWS_SECRET_ACCESS_KEY": AWS_SECRET}
    verbose = manage(
        "publish_ecr", "--repository", name, "-v", "3", ecr_deploy={"TERRAFORM_DIR": str(infra_copy)}, env=env
    )
    as_json = manage(
        "publish_ecr", "--repository", name, "--json", ecr_deploy={"TERRAFORM_DIR": str(infra_copy)}, env=env
    )
    assert verbose.returncode == 0 and as_json.returncode == 0, verbose.stderr + as_json.stderr
    assert "Terraform: apply" in verbose.stdout and json.loads(as_json.stdout)["digest"]
    assert_no_secrets(verbose.stdout, verbose.stderr, as_json.stdout, as_json.stderr)
    for path in infra_copy.rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            assert_no_secrets(path.read_text(errors="replace"))


def test_after_a_publish_the_token_is_in_no_image_metadata_engine_log_or_file_of_ours(
    manage, infra_copy, unique_image, docker_client
):
    engine_log = ROOT / ".local-aws" / "dockerd.log"
    log_start = engine_log.stat().st_size if engine_log.exists() else 0
    name = unique_image()
    done = manage("publish_ecr", "--repository", name, "-v", "3", ecr_deploy={"TERRAFORM_DIR": str(infra_copy)})
    assert done.returncode == 0, done.stderr
    image = docker_client.images.get(f"{name}:V1")
    places = {
        "image attributes": json.dumps(image.attrs),
        "image history": json.dumps(image.history()),
        "engine log": engine_log.read_text(errors="replace")[log_start:] if engine_log.exists() else "",
        **{
            str(p): p.read_text(errors="replace")
            for p in infra_copy.rglob("*")
            if p.is_file() and p.stat().st_size < 10_000_000
        },
    }
    assert any(image.id in text for text in places.values())  # the places searched are the right ones
    for place, text in places.items():
        assert TOKEN_PASSWORD not in text, place
        assert_no_secrets(text)
