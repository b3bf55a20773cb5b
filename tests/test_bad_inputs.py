"""A catalogue of bad inputs: each gets its clear message, exit status 1, no traceback, and changes nothing.

Every case runs `python manage.py ...` in a child process, as a user would, then compares a snapshot of
what a command could change: the project's files, the Terraform folder (.tf files and state), the
repositories in the ECR API and the local images.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from tests.conftest import ROOT, project_files
from tests.secrets import AWS_SECRET, assert_no_secrets

CLOSED_PORT = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens: a call that got out would fail differently


@dataclass
class Case:
    id: str
    args: list[str]
    message: str
    ecr_deploy: dict = field(default_factory=dict)
    settings_tail: str | None = None
    env: dict = field(default_factory=dict)
    prepare: Callable[[Path], None] | None = None


def edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(infra: Path) -> None:
        path = infra / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new))

    return apply


def write(name: str, text: str) -> Callable[[Path], None]:
    return lambda infra: (infra / name).write_text(text)


def remove(name: str) -> Callable[[Path], None]:
    return lambda infra: (infra / name).unlink()


def settings_file(text: str) -> Callable[[Path], None]:
    return lambda infra: (infra / "settings.py").write_text(text)


BAD_REPOSITORIES = {
    "uppercase": "Producao",
    "one-char": "p",
    "too-long": "p" * 257,
    "space": "pro ducao",
    "leading-dash": "-producao",
    "trailing-dash": "producao-",
    "double-dot": "produ..cao",
    "trailing-slash": "producao/",
    "empty": "",
}
BAD_TAGS = {
    "empty": "",
    "leading-dot": ".v1",
    "leading-dash": "-v1",
    "too-long": "v" * 129,
    "colon": "v1:2",
    "space": "v 1",
}

CASES = [
    *(
        Case(
            f"publish-repository-{k}", ["publish_ecr", f"--repository={v}"], "Invalid repository name", env=CLOSED_PORT
        )
        for k, v in BAD_REPOSITORIES.items()
    ),
    *(
        Case(f"publish-tag-{k}", ["publish_ecr", f"--tag={v}"], "Invalid tag", env=CLOSED_PORT)
        for k, v in BAD_TAGS.items()
    ),
    Case("build-tag-uppercase", ["build_image", "--tag", "Producao:V1"], "Invalid repository name", env=CLOSED_PORT),
    Case("build-tag-without-tag", ["build_image", "--tag", "producao"], "expected NAME:TAG"),
    Case("build-tag-empty-tag", ["build_image", "--tag", "producao:"], "expected NAME:TAG"),
    Case("build-arg-without-equals", ["build_image", "--build-arg", "BASE_IMAGE"], "must be KEY=VALUE"),
    Case("build-arg-without-key", ["build_image", "--build-arg", "=python:3.13"], "must be KEY=VALUE"),
    Case(
        "build-base-image-twice",
        ["build_image", "--base-image", "a:1", "--build-arg", "BASE_IMAGE=b:2"],
        "Give the base image once",
    ),
    Case("build-missing-dockerfile", ["build_image"], "No Dockerfile at", ecr_deploy={"CONTEXT_DIR": "ecr_deploy"}),
    Case(
        "infra-syntax-error",
        ["publish_ecr", "--repository", "producao-test"],
        r"ecr\.tf:4:\d+: malformed HCL",
        prepare=edit(
            "ecr.tf",
            "  name                 = var.nome\n",
            "  name                 = var.nome\n  image_tag_mutability = = \n",
        ),
    ),
    Case(
        "infra-unclosed-block",
        ["publish_ecr", "--repository", "producao-test"],
        r"outputs\.tf:\d+:\d+: malformed HCL",
        prepare=write("outputs.tf", 'output "arn" {\n  value = 1\n'),
    ),
    Case(
        "infra-missing-resource",
        ["publish_ecr", "--repository", "producao-test"],
        r'exactly one resource "aws_ecr_repository" \(found: none\)',
        prepare=write("ecr.tf", ""),
    ),
    Case(
        "infra-two-repositories",
        ["publish_ecr", "--repository", "producao-test"],
        "found: aws_ecr_repository.repositorio, aws_ecr_repository.outro",
        prepare=write("extra.tf", 'resource "aws_ecr_repository" "outro" {\n  name = "outro"\n}\n'),
    ),
    Case(
        "infra-undeclared-variable",
        ["publish_ecr", "--repository", "producao-test"],
        "variable extra is passed but not declared",
        ecr_deploy={"TERRAFORM_VARS": {"extra": "1"}},
    ),
    Case(
        "infra-unset-variable",
        ["publish_ecr", "--repository", "producao-test"],
        r"variaveis\.tf: variable owner has no default and is not supplied",
        prepare=lambda infra: (infra / "variaveis.tf").write_text(
            (infra / "variaveis.tf").read_text() + 'variable "owner" {\n  type = string\n}\n'
        ),
    ),
    Case(
        "infra-nome-not-declared",
        ["publish_ecr", "--repository", "producao-test"],
        "variable nome is passed but not declared",
        prepare=edit("variaveis.tf", 'variable "nome" {', 'variable "nome_do_repo" {'),
    ),
    Case(
        "infra-no-tf-files",
        ["publish_ecr", "--repository", "producao-test"],
        r"No \.tf files in",
        prepare=lambda infra: [p.unlink() for p in infra.glob("*.tf")],
    ),
    Case(
        "infra-provider-version-not-in-mirror",
        ["publish_ecr", "--repository", "producao-test"],
        "terraform init failed.*4\\.",
        prepare=edit("provider.tf", 'version = "~> 5.0"', 'version = "~> 4.0"'),
    ),
    Case(
        "infra-bad-mutability",
        ["publish_ecr", "--repository", "producao-test"],
        "mutabilidade_tags must be MUTABLE or IMMUTABLE",
        ecr_deploy={"TERRAFORM_VARS": {"mutabilidade_tags": "SOMETIMES"}},
    ),
    Case(
        "publish-image-not-built",
        ["publish_ecr", "--repository", "never-built-image"],
        "run `python manage.py build_image --tag never-built-image:V1` first",
    ),
    Case("publish-unknown-profile", ["publish_ecr", "--profile", "no-such-profile"], "no-such-profile"),
    Case(
        "publish-no-credentials",
        ["publish_ecr"],
        "No AWS credentials found",
        env={
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    ),
    Case(
        "publish-terraform-missing",
        ["publish_ecr", "--repository", "producao-test"],
        "Cannot run /nonexistent/terraform",
        ecr_deploy={"TERRAFORM_BIN": "/nonexistent/terraform"},
    ),
    Case(
        "settings-unknown-key",
        ["check"],
        r"ecr_deploy\.E001.*unknown key ECR_DEPLOY\['REPO'\]",
        ecr_deploy={"REPO": "x"},
    ),
    Case("settings-tag-not-str", ["check"], r"ECR_DEPLOY\['TAG'\] must be str, not int", ecr_deploy={"TAG": 1}),
    Case(
        "settings-fixtures-str",
        ["check"],
        r"ECR_DEPLOY\['FIXTURES'\] must be list or tuple, not str",
        ecr_deploy={"FIXTURES": "clientes.json"},
    ),
    Case("settings-attempts-zero", ["check"], r"PUSH_ATTEMPTS'\] must be at least 1", ecr_deploy={"PUSH_ATTEMPTS": 0}),
    Case(
        "settings-attempts-bool",
        ["check"],
        r"PUSH_ATTEMPTS'\] must be int, not bool",
        ecr_deploy={"PUSH_ATTEMPTS": True},
    ),
    Case(
        "settings-build-args-list",
        ["check"],
        r"BUILD_ARGS'\] must be dict, not list",
        ecr_deploy={"BUILD_ARGS": ["A=1"]},
    ),
    Case(
        "settings-not-a-dict",
        ["check"],
        "ECR_DEPLOY must be a dict, not list",
        settings_tail="ECR_DEPLOY = ['producao']\n",
    ),
    Case(
        "settings-bad-value-reaches-commands",
        ["publish_ecr"],
        r"unknown key ECR_DEPLOY\['REGIAO'\]",
        ecr_deploy={"REGIAO": "x"},
    ),
    *(
        Case(
            f"settings-file-{name}",
            ["patch_allowed_hosts", "--file", "INFRA/settings.py"],
            message,
            prepare=settings_file(text),
        )
        for name, text, message in [
            ("from-environment", "import os\nALLOWED_HOSTS = os.environ['H'].split(',')\n", "computed at run time"),
            ("missing", "DEBUG = False\n", "has no ALLOWED_HOSTS assignment"),
            ("typo", "ALLOWED_HOST = []\n", "has no ALLOWED_HOSTS assignment"),
            ("conditional", "if True:\n    ALLOWED_HOSTS = []\n", "conditionally"),
            ("not-python", "ALLOWED_HOSTS = [\n", "not valid Python"),
            ("augmented", "ALLOWED_HOSTS = []\nALLOWED_HOSTS += ['x']\n", "more than once"),
        ]
    ),
    Case(
        "patch-empty-host",
        ["patch_allowed_hosts", "--file", "INFRA/settings.py", "--host", ""],
        "Invalid hosts",
        prepare=settings_file("ALLOWED_HOSTS = []\n"),
    ),
    Case("patch-missing-file", ["patch_allowed_hosts", "--file", "INFRA/nowhere.py"], "Cannot read .*nowhere.py"),
]


def snapshot(infra: Path, docker_client) -> dict:
    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    return {
        "project": {name: digest(ROOT / name) for name in project_files()},
        "infra": {p.name: digest(p) for p in infra.iterdir() if p.suffix in {".tf", ".py"} or ".tfstate" in p.name},
        "repositories": sorted(
            r["repositoryName"] for r in boto3.client("ecr").describe_repositories()["repositories"]
        ),
        "images": sorted((i.id, tuple(sorted(i.tags))) for i in docker_client.images.list()),
    }


@pytest.mark.engine
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(
    case, manage, tmp_path, local_aws, docker_client, project_image
):
    infra = tmp_path / "infra"
    shutil.copytree(ROOT / "infra", infra, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    if case.prepare:
        case.prepare(infra)
    before = snapshot(infra, docker_client)
    args = [arg.replace("INFRA", str(infra)) for arg in case.args]
    env = {"AWS_SECRET_ACCESS_KEY": AWS_SECRET, **case.env}
    done = manage(
        *args, ecr_deploy={"TERRAFORM_DIR": str(infra), **case.ecr_deploy}, settings_tail=case.settings_tail, env=env
    )
    assert done.returncode == 1
    assert_no_secrets(done.stdout, done.stderr)
    assert re.search(case.message, done.stderr, re.DOTALL), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not list(infra.glob("*.tfstate*"))
    assert snapshot(infra, docker_client) == before


def test_the_catalogue_holds_at_least_forty_bad_inputs():
    assert len(CASES) >= 40
