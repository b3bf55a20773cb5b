"""A catalogue of bad inputs: each gets its clear message, exit status 1, no traceback, and changes nothing.

Every case runs through call_command, in this process: a CommandError is what Django prints as one message
with exit status 1 and no traceback (test_a_refusal_through_the_real_cli shows that once, in a child process),
and any other exception fails the case. A snapshot of what a command could change is compared before and
after: the project's files, the Terraform folder (.tf files and state), the ECR repositories and the local images.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

from tests.conftest import ROOT, project_files
from tests.secrets import AWS_SECRET, assert_no_secrets

CLOSED_PORT = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens: a call that got out would fail differently


@dataclass
class Case:
    id: str
    args: list[str]
    message: str
    ecr_deploy: dict | list = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    prepare: Callable[[Path], None] | None = None
    #: Names that only this case's prepare makes (images, repositories), watched in this case alone.
    own_names: tuple[str, ...] = ()


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


#: The prefix of the state buckets that catalogue cases make: each case has its own bucket.
CATALOGUE = "ecr-deploy-catalogue"
LOCKED_KEY = "ecr_deploy/default/producao-test.tfstate"


def state_locked_by_a_teammate(bucket: str, table: str | None) -> Callable[[Path], None]:
    """The lock that a teammate's running apply holds, as terraform writes it: an S3 lock file, or a DynamoDB item."""

    def prepare(infra: Path) -> None:
        from ecr_deploy.aws.state import bootstrap_state
        from ecr_deploy.environments import StateConfig

        bootstrap_state(StateConfig("s3", bucket, lock_table=table), boto3.Session(), lambda _: None)
        holder = json.dumps(
            {
                "ID": "8d1c5e5a-0000-4000-8000-000000000001",
                "Operation": "OperationTypeApply",
                "Info": "",
                "Who": "alice@her-laptop",
                "Version": "1.11.4",
                "Created": "2026-11-28T09:00:00Z",
                "Path": f"{bucket}/{LOCKED_KEY}",
            }
        )
        if table:
            item = {"LockID": {"S": f"{bucket}/{LOCKED_KEY}"}, "Info": {"S": holder}}
            boto3.client("dynamodb").put_item(TableName=table, Item=item)
        else:
            boto3.client("s3").put_object(Bucket=bucket, Key=f"{LOCKED_KEY}.tflock", Body=holder.encode())

    return prepare


def published_then_made_to_replace(infra: Path) -> None:
    """producao-destroy published, then infra/ changed so that the next plan replaces the repository."""
    import docker

    docker.from_env().images.get("producao-test:V1").tag("producao-destroy", "V1")
    call_command("publish_ecr", "--repository", "producao-destroy", stdout=io.StringIO(), stderr=io.StringIO())
    edit(
        "ecr.tf",
        "  image_scanning_configuration {",
        '  encryption_configuration {\n    encryption_type = "KMS"\n  }\n\n  image_scanning_configuration {',
    )(infra)


S3_STATE = {"BACKEND": "s3", "BUCKET": f"{CATALOGUE}-unused"}


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
    Case(
        "publish-account-not-12-digits",
        ["publish_ecr", "--repository", "producao-test"],
        r"ECR_DEPLOY\['ACCOUNT'\] must be an AWS account id of 12 digits",
        ecr_deploy={"ACCOUNT": "12345"},
        env=CLOSED_PORT,
    ),
    Case(
        "publish-pinned-to-another-account",
        ["publish_ecr", "--repository", "producao-test"],
        r"pinned to AWS account 111111111111 \(ACCOUNT\), but the credentials act in account 123456789012",
        ecr_deploy={"ENVIRONMENTS": {"prod": {"ACCOUNT": "111111111111"}}},
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
        r"ecr\.tf:7:\d+: malformed HCL",
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
    Case("publish-malformed-region", ["publish_ecr", "--region", "us east"], "region", env=CLOSED_PORT),
    Case(
        "build-base-image-malformed",
        ["build_image", "--tag", "bad-base:V1", "--base-image", "NOT A REFERENCE"],
        "The build failed at",
    ),
    Case(
        "build-platform-unknown",
        ["build_image", "--tag", "bad-platform:V1", "--platform", "not//valid"],
        "platform specifier",
    ),
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
    Case("settings-not-a-dict", ["check"], "ECR_DEPLOY must be a dict, not list", ecr_deploy=["producao"]),
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
    Case("publish-unknown-env", ["publish_ecr", "--env", "staging"], "Unknown environment 'staging'", env=CLOSED_PORT),
    Case("build-unknown-env", ["build_image", "--env", "staging"], "Unknown environment 'staging'", env=CLOSED_PORT),
    Case(
        "publish-env-not-defined",
        ["publish_ecr", "--env", "homolog"],
        r"Unknown environment 'homolog': ECR_DEPLOY\['ENVIRONMENTS'\] defines prod",
        ecr_deploy={"ENVIRONMENTS": {"prod": {}}},
        env=CLOSED_PORT,
    ),
    Case(
        "publish-env-not-chosen",
        ["publish_ecr"],
        r"Choose an environment with --env \(homolog, prod\)",
        ecr_deploy={"ENVIRONMENTS": {"prod": {}, "homolog": {}}},
        env=CLOSED_PORT,
    ),
    Case(
        "publish-s3-state-without-bucket",
        ["publish_ecr"],
        "an S3 state needs a BUCKET",
        ecr_deploy={"STATE": {"BACKEND": "s3"}},
        env=CLOSED_PORT,
    ),
    Case(
        "publish-state-bucket-missing",
        ["publish_ecr", "--repository", "producao-test"],
        r"The state bucket no-such-state-bucket of environment default does not exist; create it with "
        r"`python manage.py bootstrap_state --env default`",
        ecr_deploy={"STATE": {"BACKEND": "s3", "BUCKET": "no-such-state-bucket"}},
    ),
    Case(
        "publish-state-locked-lockfile",
        ["publish_ecr", "--repository", "producao-test"],
        r"locked by alice@her-laptop \(OperationTypeApply, since 2026-11-28 09:00:00 .*\).*force-unlock",
        ecr_deploy={"STATE": {"BACKEND": "s3", "BUCKET": f"{CATALOGUE}-lockfile"}, "LOCK_TIMEOUT_SECONDS": 1},
        prepare=state_locked_by_a_teammate(f"{CATALOGUE}-lockfile", None),
    ),
    Case(
        "publish-state-locked-dynamodb",
        ["publish_ecr", "--repository", "producao-test"],
        r"locked by alice@her-laptop \(OperationTypeApply, since 2026-11-28 09:00:00 .*\).*force-unlock",
        ecr_deploy={
            "STATE": {
                "BACKEND": "s3",
                "BUCKET": f"{CATALOGUE}-dynamodb",
                "USE_LOCKFILE": False,
                "LOCK_TABLE": f"{CATALOGUE}-locks",
            },
            "LOCK_TIMEOUT_SECONDS": 1,
        },
        prepare=state_locked_by_a_teammate(f"{CATALOGUE}-dynamodb", f"{CATALOGUE}-locks"),
    ),
    Case(
        "publish-plan-replaces-repository",
        ["publish_ecr", "--repository", "producao-destroy"],
        r"would destroy or replace aws_ecr_repository\.repositorio.*--allow-destroy",
        prepare=published_then_made_to_replace,
        own_names=("producao-destroy",),
    ),
    Case(
        "publish-terraform-var-not-a-value",
        ["publish_ecr"],
        r"ECR_DEPLOY\['TERRAFORM_VARS'\]\['portas'\]: a set is not a Terraform value",
        ecr_deploy={"TERRAFORM_VARS": {"portas": {80, 443}}},
        env=CLOSED_PORT,
    ),
    Case(
        "settings-terraform-var-nan",
        ["check"],
        r"\['prod'\]\['TERRAFORM_VARS'\]\['x'\]: nan is not a finite number",
        ecr_deploy={"ENVIRONMENTS": {"prod": {"TERRAFORM_VARS": {"x": float("nan")}}}},
    ),
    Case(
        "settings-environment-unknown-key",
        ["check"],
        r"unknown key ECR_DEPLOY\['ENVIRONMENTS'\]\['prod'\]\['REPO'\]",
        ecr_deploy={"ENVIRONMENTS": {"prod": {"REPO": "x"}}},
    ),
    Case(
        "settings-default-environment-undefined",
        ["check"],
        r"ECR_DEPLOY\['ENVIRONMENT'\] is 'prod', which ECR_DEPLOY\['ENVIRONMENTS'\] does not define",
        ecr_deploy={"ENVIRONMENT": "prod"},
    ),
    Case(
        "settings-s3-state-without-lock",
        ["check"],
        "an S3 state needs a lock",
        ecr_deploy={"STATE": {**S3_STATE, "USE_LOCKFILE": False}},
    ),
    Case(
        "publish-adopt-missing-repository",
        ["publish_ecr", "--repository", "producao-test", "--adopt"],
        "the repository producao-test does not exist .* nothing to adopt",
    ),
    Case(
        "publish-skip-and-force-terraform",
        ["publish_ecr", "--skip-terraform", "--force-terraform"],
        "--skip-terraform runs no terraform",
        env=CLOSED_PORT,
    ),
    Case("bootstrap-unknown-env", ["bootstrap_state", "--env", "staging"], "Unknown environment", env=CLOSED_PORT),
    Case("provision-unknown-env", ["provision_ecs", "--env", "staging"], "Unknown environment", env=CLOSED_PORT),
    Case("provision-tag-malformed", ["provision_ecs", "--tag", "v 1"], "Invalid tag 'v 1'", env=CLOSED_PORT),
    Case(
        "provision-tag-not-published",
        ["provision_ecs", "--tag", "never-published"],
        "The ECR repository producao does not exist|No published image .*:never-published",
    ),
    Case(
        "provision-database-unknown",
        ["provision_ecs"],
        r"\['DATABASE'\] = 'mysql': use 'rds' .*, \{'SECRET_ARN': ARN\} .* or 'none'",
        ecr_deploy={"ECS": {"DATABASE": "mysql"}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-database-secret-arn-malformed",
        ["provision_ecs"],
        r"your own database is \{'SECRET_ARN': ARN\}, the ARN of a Secrets Manager secret or SSM parameter",
        ecr_deploy={"ECS": {"DATABASE": {"SECRET_ARN": "postgres://u:p@db/x"}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-database-url-secret-beside-rds",
        ["provision_ecs"],
        r"SECRETS\['DATABASE_URL'\] would win over the RDS database",
        ecr_deploy={"ECS": {"SECRETS": {"DATABASE_URL": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-sqlite-with-more-than-one-task",
        ["provision_ecs"],
        r"'DATABASE'\] is 'none': each task keeps its own SQLite, so with tarefas_max 4 .* Nothing was applied",
        ecr_deploy={"ECS": {"DATABASE": "none"}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-from-snapshot-without-rds",
        ["provision_ecs", "--from-snapshot", "fim-final-20261202-143428"],
        r"--from-snapshot makes the RDS database: .*\['DATABASE'\] must be 'rds'",
        ecr_deploy={"ECS": {"DATABASE": {"SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-domain-malformed",
        ["provision_ecs"],
        r"\['DOMAINS'\] must be a list of lowercase host names, e.g. \['api.example.com'\], not \['https://x.com'\]",
        ecr_deploy={"ECS": {"DOMAINS": ["https://x.com"], "HOSTED_ZONE": "x.com"}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-hosted-zone-without-domains",
        ["provision_ecs"],
        r"HOSTED_ZONE and CERTIFICATE_ARN serve DOMAINS over HTTPS; list the domains there",
        ecr_deploy={"ECS": {"HOSTED_ZONE": "example.com"}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-certificate-arn-malformed",
        ["provision_ecs"],
        r"\['CERTIFICATE_ARN'\] must be an ACM certificate's ARN \(arn:aws:acm:REGION:ACCOUNT:certificate/ID\)",
        ecr_deploy={"ECS": {"DOMAINS": ["api.example.com"], "CERTIFICATE_ARN": "api.example.com"}},
        env=CLOSED_PORT,
    ),
    Case(
        "deploy-variables-unknown-setting",
        ["deploy_ecs"],
        r"\['VARIABLES'\]\['DEBUG'\]: deploy_ecs sets only SECRET_KEY, ALLOWED_HOSTS",
        ecr_deploy={"ECS": {"VARIABLES": {"DEBUG": "DJANGO_DEBUG"}}},
        env=CLOSED_PORT,
    ),
    Case(
        "deploy-variables-not-a-name",
        ["deploy_ecs"],
        r"\['VARIABLES'\]\['SECRET_KEY'\] must be an environment variable's name, not 'secret key'",
        ecr_deploy={"ECS": {"VARIABLES": {"SECRET_KEY": "secret key"}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-process-named-like-the-web",
        ["provision_ecs"],
        r"\['PROCESSES'\]\['web'\]: 'web' is the web's name; call the process otherwise",
        ecr_deploy={"ECS": {"PROCESSES": {"web": {"command": ["celery", "worker"]}}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-process-command-not-a-list",
        ["provision_ecs"],
        r"\['PROCESSES'\]\['worker'\]\['command'\] must be a list of strings, as ECS runs it",
        ecr_deploy={"ECS": {"PROCESSES": {"worker": {"command": "celery -A loja worker"}}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-process-min-above-max",
        ["provision_ecs"],
        r"\['PROCESSES'\]\['worker'\]: min 3 is above max 2",
        ecr_deploy={"ECS": {"PROCESSES": {"worker": {"command": ["celery"], "min": 3, "max": 2}}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-process-size-fargate-refuses",
        ["provision_ecs"],
        r"\['PROCESSES'\]\['worker'\]: Fargate runs no task of cpu 256 with memoria 4096",
        ecr_deploy={"ECS": {"PROCESSES": {"worker": {"command": ["celery"], "memory": 4096}}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-queue-name-sqs-refuses",
        ["provision_ecs"],
        r"\['QUEUES'\]: 'pedidos.fifo' is not a name SQS takes here: 1 to 40 letters, digits, - and _",
        ecr_deploy={"ECS": {"QUEUES": ["pedidos.fifo"]}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-process-scales-on-a-queue-not-made",
        ["provision_ecs"],
        r"\['PROCESSES'\]\['worker'\]\['queue'\]: 'emails' is not one of QUEUES \(\['default'\]\)",
        ecr_deploy={
            "ECS": {"QUEUES": ["default"], "PROCESSES": {"worker": {"command": ["celery"], "queue": "emails"}}}
        },
        env=CLOSED_PORT,
    ),
    Case(
        "provision-process-scales-on-its-queue-from-zero",
        ["provision_ecs"],
        r"\['PROCESSES'\]\['worker'\]: min must be 1 or more when it scales on its queue",
        ecr_deploy={
            "ECS": {
                "QUEUES": ["default"],
                "PROCESSES": {"worker": {"command": ["celery"], "queue": "default", "min": 0}},
            }
        },
        env=CLOSED_PORT,
    ),
    Case(
        "check-schedule-unknown-expression",
        ["check"],
        r"\['SCHEDULES'\]\['limpeza'\]: 'every night at 3' is not a schedule expression: cron\(minutes hours",
        ecr_deploy={"ECS": {"SCHEDULES": {"limpeza": {"schedule": "every night at 3", "command": ["python"]}}}},
        env=CLOSED_PORT,
    ),
    Case(
        "check-schedule-cron-with-both-days",
        ["check"],
        r"'cron\(0 3 \* \* \* \*\)': one of day-of-month and day-of-week must be \?",
        ecr_deploy={"ECS": {"SCHEDULES": {"limpeza": {"schedule": "cron(0 3 * * * *)", "command": ["python"]}}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-schedule-timezone-that-does-not-exist",
        ["provision_ecs"],
        r"\['SCHEDULES'\]\['limpeza'\]: 'America/Brasilia' is not a time zone",
        ecr_deploy={
            "ECS": {
                "SCHEDULES": {
                    "limpeza": {"schedule": "cron(0 3 * * ? *)", "command": ["python"], "timezone": "America/Brasilia"}
                }
            }
        },
        env=CLOSED_PORT,
    ),
    *(
        Case(
            f"{command}-unknown-process",
            [command, "--process", "beat", *rest],
            r"--process beat: the service has no such process \(it has web, worker\); PROCESSES in",
            ecr_deploy={"ECS": {"PROCESSES": {"worker": {"command": ["celery"]}}}},
            env=CLOSED_PORT,
        )
        for command, rest in (("logs_ecs", []), ("scale_ecs", []), ("run_ecs", ["--", "true"]))
    ),
    Case(
        "logs-unknown-schedule",
        ["logs_ecs", "--schedule", "nightly"],
        r"--schedule nightly: the service has no such scheduled job \(it has none\)",
        env=CLOSED_PORT,
    ),
    Case(
        "provision-storage-unknown-key",
        ["provision_ecs"],
        r"unknown key ECR_DEPLOY\['ECS'\]\['STORAGE'\]\['BUCKET'\]",
        ecr_deploy={"ECS": {"STORAGE": {"BUCKET": "meu-balde"}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-storage-nothing-in-it",
        ["provision_ecs"],
        r"\['STORAGE'\]: MEDIA and STATIC are both off; turn one on, or set STORAGE to None",
        ecr_deploy={"ECS": {"STORAGE": {"MEDIA": False}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-storage-bucket-variable-not-a-name",
        ["provision_ecs"],
        r"\['STORAGE'\]\['BUCKET_VARIABLE'\] must be an environment variable's name, not 'bucket name'",
        ecr_deploy={"ECS": {"STORAGE": {"BUCKET_VARIABLE": "bucket name"}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-storage-by-terraform-vars",
        ["provision_ecs"],
        r"\['TERRAFORM_VARS'\]\['armazenamento'\] is set from ECR_DEPLOY\['ECS'\]\['STORAGE'\]; set that instead",
        ecr_deploy={"ECS": {"TERRAFORM_VARS": {"armazenamento": True}}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-database-variables-unknown",
        ["provision_ecs"],
        r"\['DATABASE_VARIABLES'\] = 'dsn': use 'parts' \(DATABASE_HOST ...\), 'url' \(DATABASE_URL\) or 'postgres'",
        ecr_deploy={"ECS": {"DATABASE_VARIABLES": "dsn"}},
        env=CLOSED_PORT,
    ),
    Case(
        "init-image-settings-absent",
        ["ecr_deploy_init", "--image-settings", "no_such.settings"],
        r"--settings no_such.settings: no such module in ",
    ),
    Case(
        "provision-hsts-negative",
        ["provision_ecs"],
        r"\['HSTS_SECONDS'\] must be a whole number of seconds, 0 or more",
        ecr_deploy={"ECS": {"HSTS_SECONDS": -1}},
        env=CLOSED_PORT,
    ),
    Case(
        "provision-domain-variable-set-by-hand",
        ["provision_ecs"],
        r"\['TERRAFORM_VARS'\]\['zona_dns'\] is set from .*\['DOMAINS'\]; set that instead",
        ecr_deploy={"ECS": {"TERRAFORM_VARS": {"zona_dns": "example.com"}}},
        env=CLOSED_PORT,
    ),
    Case("status-unknown-env", ["status_ecs", "--env", "staging"], "Unknown environment", env=CLOSED_PORT),
    Case("logs-unknown-env", ["logs_ecs", "--env", "staging"], "Unknown environment", env=CLOSED_PORT),
    Case("logs-since-malformed", ["logs_ecs", "--since", "yesterday"], "neither a duration", env=CLOSED_PORT),
    Case(
        "logs-never-provisioned",
        ["logs_ecs", "--filter", "ERROR", "--task", "0" * 32],
        r"was never applied .* run `python manage.py provision_ecs --env default` first",
    ),
    Case("run-unknown-env", ["run_ecs", "--env", "staging", "--", "true"], "Unknown environment", env=CLOSED_PORT),
    Case(
        "run-env-var-secret",
        ["run_ecs", "--env-var", "DB_PASSWORD=hunter2", "--", "true"],
        "DB_PASSWORD: a secret is never passed as a value",
        env=CLOSED_PORT,
    ),
    Case(
        "run-timeout-zero", ["run_ecs", "--timeout", "0", "--", "true"], "--timeout must be a positive", env=CLOSED_PORT
    ),
    Case("scale-unknown-env", ["scale_ecs", "--env", "staging"], "Unknown environment", env=CLOSED_PORT),
    Case("scale-timeout-negative", ["scale_ecs", "--timeout", "-1"], "--timeout must be a positive", env=CLOSED_PORT),
    Case("scale-min-above-max", ["scale_ecs", "--min", "3", "--max", "2"], "give 0 <= min <= max", env=CLOSED_PORT),
    Case(
        "scale-never-provisioned",
        ["scale_ecs", "--desired", "2"],
        r"was never applied .* run `python manage.py provision_ecs --env default` first",
    ),
    Case(
        "release-unknown-env",
        ["release_role", "--env", "staging", "--github", "acme/clientes"],
        "Unknown environment",
        env=CLOSED_PORT,
    ),
    Case(
        "release-github-not-owner-repo",
        ["release_role", "--github", "https://github.com/acme/clientes"],
        "give the GitHub repository as OWNER/REPO",
        env=CLOSED_PORT,
    ),
    Case(
        "release-branch-malformed",
        ["release_role", "--github", "acme/clientes", "--branch", "main..x"],
        "--branch 'main..x' is not a branch name",
        env=CLOSED_PORT,
    ),
    Case(
        "release-never-provisioned",
        ["release_role", "--github", "acme/clientes"],
        r"was never applied .* run `python manage.py provision_ecs --env default` first",
    ),
    Case("destroy-unknown-env", ["destroy_ecs", "--env", "staging"], "Unknown environment", env=CLOSED_PORT),
    Case("destroy-images-without-repository", ["destroy_ecs", "--delete-images"], "add --with-repository"),
    Case(
        "destroy-process-still-in-the-settings",
        ["destroy_ecs", "--process", "worker", "--yes"],
        r"--process worker: ECR_DEPLOY\['ECS'\]\['PROCESSES'\] still names it, and the next provision_ecs would make",
        ecr_deploy={"ECS": {"PROCESSES": {"worker": {"command": ["celery"]}}}},
        env=CLOSED_PORT,
    ),
    Case(
        "destroy-process-with-the-services-flags",
        ["destroy_ecs", "--process", "worker", "--delete-database"],
        r"--process destroys one process alone: it takes no --delete-database",
    ),
    Case("deploy-unknown-env", ["deploy_ecs", "--env", "staging"], "Unknown environment", env=CLOSED_PORT),
    Case(
        "deploy-timeout-zero", ["deploy_ecs", "--timeout", "0"], "--timeout must be a positive number", env=CLOSED_PORT
    ),
    Case("deploy-tag-malformed", ["deploy_ecs", "--tag", "v 1"], "Invalid tag 'v 1'", env=CLOSED_PORT),
    Case(
        "deploy-bake-negative",
        ["deploy_ecs", "--bake", "-5"],
        "--bake must be a number of seconds, 0 or more, not -5",
        env=CLOSED_PORT,
    ),
    Case(
        "deploy-bake-longer-than-timeout",
        ["deploy_ecs", "--bake", "300", "--timeout", "60"],
        r"--bake 300 is longer than the deploy's timeout \(60s\)",
        env=CLOSED_PORT,
    ),
    Case("deploy-digest-malformed", ["deploy_ecs", "--digest", "sha256:abc"], "Invalid digest", env=CLOSED_PORT),
    Case(
        "deploy-tag-and-digest",
        ["deploy_ecs", "--tag", "V1", "--digest", "sha256:" + "0" * 64],
        "not allowed with argument",
        env=CLOSED_PORT,
    ),
    Case(
        "deploy-never-provisioned",
        ["deploy_ecs"],
        r"was never applied .* run `python manage.py provision_ecs --env default` first",
    ),
    Case(
        "bootstrap-malformed-region",
        ["bootstrap_state", "--region", "us east"],
        "region",
        ecr_deploy={"STATE": S3_STATE},
        env=CLOSED_PORT,
    ),
    Case(
        "bootstrap-unknown-profile",
        ["bootstrap_state", "--profile", "no-such-profile"],
        "no-such-profile",
        ecr_deploy={"STATE": S3_STATE},
    ),
]


#: Every image and repository name a case could touch; other tests, on other workers, change the rest meanwhile.
TOUCHABLE = {
    "producao",
    "producao-test",
    "never-built-image",
    "bad-base",
    "bad-platform",
    *BAD_REPOSITORIES.values(),
}


def snapshot(infra: Path, docker_client, ecr, s3, own_names: tuple[str, ...] = ()) -> dict:
    watched = TOUCHABLE | set(own_names)

    def digest(path: Path) -> str:
        return f"-> {path.readlink()}" if path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()

    def touchable(reference: str) -> bool:
        return reference.rpartition(":")[0].rpartition("/")[2] in watched

    return {
        "project": {name: digest(ROOT / name) for name in project_files()},
        "infra": {  # the .tf files and every state; .terraform holds only what init and this run keep
            str(p.relative_to(infra)): digest(p)
            for p in infra.rglob("*")
            if p.is_file() and ".terraform" not in p.relative_to(infra).parts
        },
        "states_in_s3": [  # the catalogue's state buckets: no case may write a state there
            f"{bucket}/{o['Key']}"
            for bucket in sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(CATALOGUE))
            for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            if o["Key"].endswith(".tfstate")
        ],
        "repositories": sorted(
            r["repositoryName"] for r in ecr.describe_repositories()["repositories"] if r["repositoryName"] in watched
        ),
        "images": sorted(  # one listing call: other workers remove images meanwhile
            (image["Id"], tuple(sorted(tag for tag in image["RepoTags"] or () if touchable(tag))))
            for image in docker_client.api.images()
            if any(map(touchable, image["RepoTags"] or ()))
        ),
    }


@pytest.mark.engine
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(
    case, tmp_path, settings, monkeypatch, local_aws, docker_client, project_image
):
    infra = tmp_path / "infra"
    shutil.copytree(ROOT / "infra", infra, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    settings.ECR_DEPLOY = (
        {"TERRAFORM_DIR": str(infra), "ECS": {"TERRAFORM_DIR": str(infra / "ecs")}, **case.ecr_deploy}
        if isinstance(case.ecr_deploy, dict)
        else case.ecr_deploy
    )
    if case.prepare:
        case.prepare(infra)
    # The clients are made before the case's environment, which may hide the local AWS.
    ecr, s3 = boto3.client("ecr"), boto3.client("s3")
    for name, value in {"AWS_SECRET_ACCESS_KEY": AWS_SECRET, **case.env}.items():
        monkeypatch.setenv(name, value)
    before = snapshot(infra, docker_client, ecr, s3, case.own_names)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(*[arg.replace("INFRA", str(infra)) for arg in case.args], stdout=out, stderr=err)
    assert refused.value.returncode == 1
    assert re.search(case.message, str(refused.value), re.DOTALL), str(refused.value)
    assert_no_secrets(out.getvalue(), err.getvalue(), str(refused.value))
    assert snapshot(infra, docker_client, ecr, s3, case.own_names) == before


def test_a_refusal_through_the_real_cli_exits_1_with_one_message_and_no_traceback(manage, tmp_path):
    done = manage("publish_ecr", "--repository", "Producao", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert done.returncode == 1
    assert done.stderr.startswith("CommandError: Invalid repository name 'Producao'")
    assert "Traceback" not in done.stderr and done.stdout == ""


def value_flags(command: str) -> set[str]:
    """The flags of one of our commands that take a value (Django's common options left out)."""
    usage = load_command_class("ecr_deploy", command).create_parser("manage.py", command).format_usage()
    return set(re.findall(r"\[(--[a-z-]+) [A-Z_:=]+\]", usage)) - {"--settings", "--pythonpath", "--verbosity"}


@pytest.mark.parametrize(
    "command",
    [
        "build_image",
        "publish_ecr",
        "patch_allowed_hosts",
        "bootstrap_state",
        "provision_ecs",
        "deploy_ecs",
        "status_ecs",
        "logs_ecs",
        "run_ecs",
        "scale_ecs",
        "destroy_ecs",
        "release_role",
    ],
)
def test_the_catalogue_gives_every_flag_of_every_command_a_bad_value(command):
    tried = {arg.partition("=")[0] for case in CASES if case.args[0] == command for arg in case.args[1:]}
    assert value_flags(command) <= tried, f"flags of {command} with no bad-input case: {value_flags(command) - tried}"
