"""AWS's own rules, where moto has none: the local AWS refuses what AWS refuses (scripts/aws_rules.py), and
ecr_deploy and infra/ keep to them (names, Fargate sizes, the terraform that the write-only password needs, the
partition, a major database upgrade, access logs in new regions, a task that ECS answers as MISSING)."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.aws.ecs import EcsService
from ecr_deploy.aws.iam import unreadable_secrets
from ecr_deploy.aws.secrets import policy_resources, secret_arn
from ecr_deploy.defaults import problems
from ecr_deploy.errors import DeployError
from ecr_deploy.names import derived_service_name, service_name_problem
from ecr_deploy.terraform.hcl import load_hcl
from tests.conftest import ROOT

INFRA = ROOT / "infra"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def refused(call, code: str) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == code, raised.value.response
    return raised.value.response["Error"]["Message"]


# The local AWS refuses what AWS refuses.


def test_fargate_refuses_a_cpu_and_memory_it_does_not_pair(local_aws):
    ecs = boto3.client("ecs")
    definition = {
        "family": unique("fargate-"),
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "containerDefinitions": [{"name": "app", "image": "x", "memory": 512}],
    }
    message = refused(lambda: ecs.register_task_definition(**definition, cpu="256", memory="4096"), "ClientException")
    assert "No Fargate configuration exists for given values: 256 CPU, 4096 memory" in message
    assert ecs.register_task_definition(**definition, cpu="512", memory="1024")["taskDefinition"]["cpu"] == "512"


def test_a_load_balancer_refuses_two_subnets_of_one_zone_and_names_aws_refuses(local_aws):
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    zones = [zone["ZoneName"] for zone in ec2.describe_availability_zones()["AvailabilityZones"][:2]]
    first, second, other = (
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate([zones[0], zones[0], zones[1]])
    )
    message = refused(
        lambda: elbv2.create_load_balancer(Name=unique("lb-"), Subnets=[first, second, other]),
        "InvalidConfigurationRequest",
    )
    assert "cannot be attached to multiple subnets in the same Availability Zone" in message
    for name in ("internal-api", "api-", f"{'a' * 33}"):
        refused(lambda name=name: elbv2.create_load_balancer(Name=name, Subnets=[first, other]), "ValidationError")
    refused(lambda: elbv2.create_target_group(Name="api-", Protocol="HTTP", Port=80, VpcId=vpc), "ValidationError")
    made = elbv2.create_load_balancer(Name=unique("lb-"), Subnets=[first, other])["LoadBalancers"][0]
    elbv2.delete_load_balancer(LoadBalancerArn=made["LoadBalancerArn"])
    refused(lambda: ec2.create_security_group(GroupName="sg-api", Description="x", VpcId=vpc), "InvalidParameterValue")


@pytest.mark.parametrize(
    ("identifier", "extra"),
    [("1api", {}), ("api--v2", {}), ("api-", {}), (None, {"MasterUsername": "user"}), (None, {"DBName": "order"})],
)
def test_rds_refuses_identifiers_and_reserved_names_as_aws_does(local_aws, identifier, extra):
    rds = boto3.client("rds")
    request = {
        "DBInstanceIdentifier": identifier or unique("db-"),
        "DBInstanceClass": "db.t4g.micro",
        "Engine": "postgres",
        "EngineVersion": "16",
        "AllocatedStorage": 20,
        "MasterUsername": "owner",
        "MasterUserPassword": "a-password-of-test",
        **extra,
    }
    refused(lambda: rds.create_db_instance(**request), "InvalidParameterValue")


def test_rds_refuses_a_new_major_version_without_allow_major_version_upgrade(local_aws):
    rds, name = boto3.client("rds"), unique("db-")
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        EngineVersion="16",
        AllocatedStorage=20,
        MasterUsername="owner",
        MasterUserPassword="a-password-of-test",
    )
    try:
        upgrade = {"DBInstanceIdentifier": name, "EngineVersion": "17", "ApplyImmediately": True}
        message = refused(lambda: rds.modify_db_instance(**upgrade), "InvalidParameterCombination")
        assert "AllowMajorVersionUpgrade" in message
        rds.modify_db_instance(**upgrade, AllowMajorVersionUpgrade=True)
        assert rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["EngineVersion"] == "17"
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)


def test_simulate_principal_policy_judges_each_secret_by_the_roles_own_policies(local_aws):
    iam, secrets = boto3.client("iam"), boto3.client("secretsmanager")
    role = unique("exec-")
    readable = secrets.create_secret(Name=unique("ok/"), SecretString="{}")["ARN"]
    other = secrets.create_secret(Name=unique("no/"), SecretString="{}")["ARN"]
    arn = iam.create_role(
        RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    partial = readable.rsplit("-", 1)[0]  # the name without the six characters Secrets Manager adds
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": policy_resources(partial)}
        ],
    }
    iam.put_role_policy(RoleName=role, PolicyName="ler", PolicyDocument=json.dumps(policy))
    asked = {"GOOD": readable, "AS_JSON_KEY": f"{readable}:password::", "BAD": other}
    assert unreadable_secrets(iam, arn, asked) == [("BAD", "secretsmanager:GetSecretValue", other)]


def test_simulate_principal_policy_counts_a_users_group_policies(local_aws):
    """IAM evaluates a user's own policies and those of its groups (IAM User Guide, "Policy evaluation logic")."""
    iam = boto3.client("iam")
    user, group = unique("ci-"), unique("publishers-")
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    allowed = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:PutImage", "Resource": "*"}]}
    iam.put_group_policy(GroupName=group, PolicyName="push", PolicyDocument=json.dumps(allowed))
    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["ecr:PutImage", "ecr:DeleteRepository"])
    decisions = {result["EvalActionName"]: result["EvalDecision"] for result in results["EvaluationResults"]}
    assert decisions == {"ecr:PutImage": "allowed", "ecr:DeleteRepository": "implicitDeny"}


def test_the_registry_gate_names_each_calls_ecr_action_and_knows_no_other():
    from scripts.registry_gate import action_of

    assert action_of("HEAD", "/v2/loja/web/blobs/sha256:ab") == ("ecr:BatchCheckLayerAvailability", "loja/web")
    assert action_of("PATCH", "/v2/loja/blobs/uploads/1234?_state=x") == ("ecr:UploadLayerPart", "loja")
    assert action_of("PUT", "/v2/loja/manifests/V1") == ("ecr:PutImage", "loja")
    assert action_of("OPTIONS", "/v2/loja/manifests/V1") == (None, "loja")  # refused as UNSUPPORTED, not guessed
    assert action_of("GET", "/v2/") is None


def test_describe_tasks_answers_missing_for_a_new_task_when_a_test_asks(local_aws):
    ecs, cluster, run_task = one_off_setup(local_aws)
    task = run_task()
    (Path(local_aws["LOCAL_AWS_FAULTS"]) / "missing-task").mkdir(exist_ok=True)
    (Path(local_aws["LOCAL_AWS_FAULTS"]) / "missing-task" / cluster).write_text("1")
    assert ecs.describe_tasks(cluster=cluster, tasks=[task])["failures"] == [{"arn": task, "reason": "MISSING"}]
    assert ecs.describe_tasks(cluster=cluster, tasks=[task])["tasks"][0]["taskArn"] == task


# A one-off task that ECS answers as MISSING at first (eventual consistency).


def one_off_setup(local_aws):
    ecs, ec2 = boto3.client("ecs"), boto3.client("ec2")
    cluster = unique("tasks-")
    ecs.create_cluster(clusterName=cluster)
    family = ecs.register_task_definition(
        family=cluster,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "x", "memory": 512, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    subnet = ec2.describe_subnets()["Subnets"][0]
    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [subnet["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet["SubnetId"]], "securityGroups": [group]}}

    def run_task() -> str:
        return ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", networkConfiguration=network)[
            "tasks"
        ][0]["taskArn"]

    run_task.family, run_task.network = family, network
    return ecs, cluster, run_task


def ask_missing(local_aws, cluster: str, answers: int) -> None:
    asks = Path(local_aws["LOCAL_AWS_FAULTS"]) / "missing-task"
    asks.mkdir(exist_ok=True)
    (asks / cluster).write_text(str(answers))


def test_a_one_off_task_answered_missing_at_first_is_retried_until_ecs_describes_it(local_aws):
    ecs, cluster, run_task = one_off_setup(local_aws)
    ask_missing(local_aws, cluster, 3)
    service = EcsService(ecs, boto3.client("logs"), cluster, cluster, poll_seconds=0.1)
    seen: list[str] = []
    outcome = service.run_one_off(run_task.family, "app", ["true"], run_task.network, 60, "/ecs/none", seen.append)
    assert outcome.last_status == "STOPPED" and outcome.succeeded
    assert not (Path(local_aws["LOCAL_AWS_FAULTS"]) / "missing-task" / cluster).exists()  # all three answers used


def test_a_one_off_task_missing_past_the_deadline_fails_clearly(local_aws):
    ecs, cluster, run_task = one_off_setup(local_aws)
    ask_missing(local_aws, cluster, 1000)
    service = EcsService(ecs, boto3.client("logs"), cluster, cluster, poll_seconds=0.1)
    try:
        with pytest.raises(DeployError, match=r"as MISSING for 1s after starting it; it may still run"):
            service.run_one_off(run_task.family, "app", ["true"], run_task.network, 1, "/ecs/none", lambda _: None)
    finally:
        (Path(local_aws["LOCAL_AWS_FAULTS"]) / "missing-task" / cluster).unlink(missing_ok=True)


# Names that AWS accepts.


@pytest.mark.parametrize(
    ("repository", "service"),
    [
        ("producao", "producao"),
        ("acme-platform-backend/api-v2", "acme-platform-backend-api"),  # cut at 26, no - at the end
        ("acme/platform__backend.api", "acme-platform-backend-api"),
        ("clientes-api-v2", "clientes-api-v2"),
    ],
)
def test_a_service_name_derived_from_a_repository_is_one_aws_accepts(repository, service):
    assert derived_service_name(repository) == service
    assert service_name_problem(service, rds=True) is None


@pytest.mark.parametrize(
    ("name", "rds", "rule"),
    [
        ("internal-api", False, "internal-"),
        ("sg-web", False, "sg-"),
        ("api--v2", False, "single hyphens"),
        ("api-", False, "no hyphen at either end"),
        ("2048-game", True, "begin with a letter"),
        ("user", True, "PostgreSQL reserves"),
    ],
)
def test_a_service_name_aws_would_refuse_is_named_with_its_rule(name, rds, rule):
    assert rule in service_name_problem(name, rds=rds)


def test_2048_is_a_valid_name_without_an_rds_database():
    assert service_name_problem("2048-game", rds=False) is None


def test_check_warns_and_every_ecs_command_refuses_a_service_name_aws_refuses(settings):
    settings.ECR_DEPLOY = {"REPOSITORY": "internal-api/web", "ECS": {"DATABASE": "none"}}
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "ecr_deploy.W003" in out.getvalue() and "must not begin with internal-" in out.getvalue()
    for command in ("provision_ecs", "deploy_ecs", "status_ecs"):
        with pytest.raises(CommandError, match=r"derived from the repository 'internal-api/web'.*ECS'\]\['SERVICE'\]"):
            call_command(command, stdout=io.StringIO(), stderr=io.StringIO())


def test_check_refuses_a_fargate_size_that_does_not_exist():
    (problem,) = problems({"ECS": {"TERRAFORM_VARS": {"cpu": 256, "memoria": 4096}}})
    assert "Fargate runs no task of cpu 256 with memoria 4096" in problem and "256: 512 to 2048" in problem
    assert problems({"ECS": {"TERRAFORM_VARS": {"cpu": 512, "memoria": 1024}}}) == []
    assert problems({"ECS": {"TERRAFORM_VARS": {"memoria": 1024}}}) == []  # with the default cpu, 256


# The secrets a revision names, as IAM authorizes them.


@pytest.mark.parametrize(
    ("value_from", "resources"),
    [
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:url::",
            [
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf-??????",
            ],
        ),
        (
            "arn:aws:ssm:us-east-1:123456789012:parameter/app/key",
            ["arn:aws:ssm:us-east-1:123456789012:parameter/app/key"],
        ),
    ],
)
def test_a_secret_is_granted_by_its_own_arn_without_a_json_key(value_from, resources):
    assert policy_resources(value_from) == resources
    assert secret_arn(value_from) == resources[0]


# infra/ as AWS and terraform read it.


def tf_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.tf"))


def test_each_folder_asks_for_the_terraform_that_its_features_need():
    """ephemeral resources need 1.10, write-only arguments (*_wo) 1.11: an older terraform must stop at init
    with the version it needs, not with an unrelated message."""
    for folder in (INFRA, INFRA / "ecs", INFRA / "release"):
        text = "\n".join(path.read_text() for path in tf_files(folder))
        needed = (1, 11) if re.search(r"\w+_wo\s*=", text) else (1, 10) if "\nephemeral " in text else (1, 5)
        (block,) = [block for path in tf_files(folder) for block in load_hcl(path).get("terraform", [])]
        declared = tuple(
            int(part) for part in re.search(r">=\s*([\d.]+)", block["required_version"]).group(1).split(".")
        )
        assert declared[:2] >= needed, (folder, declared, needed)


def test_no_arn_in_infra_spells_the_partition():
    for path in tf_files(INFRA) + tf_files(INFRA / "ecs") + tf_files(INFRA / "release"):
        assert not re.search(r"\"arn:aws:", path.read_text()), f"{path}: take the partition from data.aws_partition"


def test_the_database_may_move_to_a_new_major_version():
    (database,) = [
        block["aws_db_instance"]["banco"]
        for block in load_hcl(INFRA / "ecs" / "banco.tf")["resource"]
        if "aws_db_instance" in block
    ]
    assert database["allow_major_version_upgrade"] is True


def test_access_logs_name_a_writer_in_every_region():
    """Regions opened since August 2022 have no ELB account (aws_elb_service_account fails there): the log delivery
    service writes their logs."""
    text = (INFRA / "ecs" / "alb.tf").read_text()
    assert "logdelivery.elasticloadbalancing.amazonaws.com" in text
    (data,) = [
        block["aws_elb_service_account"]["regiao"]
        for block in load_hcl(INFRA / "ecs" / "alb.tf")["data"]
        if "aws_elb_service_account" in block
    ]
    assert "count" in data  # read only where the region has one


def test_a_certificate_of_another_region_is_refused_before_any_call(settings, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: a call that got out would fail
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    certificate = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555"
    settings.ECR_DEPLOY = {"ECS": {"DOMAINS": ["api.example.com"], "CERTIFICATE_ARN": certificate}}
    with pytest.raises(CommandError, match=r"a certificate of eu-west-1, but the service runs in us-east-1"):
        call_command("provision_ecs", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_new_service_gets_the_region_in_its_global_names_and_one_made_before_keeps_its_own(settings, tmp_path):
    """IAM role and S3 bucket names are account-wide: one repository's service in two regions would collide. New
    roles and buckets carry the region; a service made before keeps its names (new roles would replace the ones
    its running tasks hold)."""
    import shutil

    from ecr_deploy.environments import resolve_environment
    from ecr_deploy.workflows.provision import ServiceProvisioner
    from ecr_deploy.workflows.service import service_stack

    shutil.copytree(INFRA / "ecs", tmp_path / "ecs", ignore=shutil.ignore_patterns(".terraform"))
    settings.ECR_DEPLOY = {"REPOSITORY": "loja", "ECS": {"TERRAFORM_DIR": str(tmp_path / "ecs")}}
    environment, session = resolve_environment(), boto3.Session(region_name="sa-east-1")
    stack = service_stack(environment, tmp_path, session, "terraform", 10)
    provisioner = ServiceProvisioner(environment, stack, session, ecr=None, progress=None, tag="V1")
    assert provisioner.global_names_suffix() == {"sufixo_global": "sa-east-1"}  # no state yet: a new service
    state = tmp_path / "ecs" / "terraform.tfstate.d" / "default" / "_ecs+loja.tfstate"
    state.parent.mkdir(parents=True)
    for role, suffix in (("loja-execucao", {}), ("loja-sa-east-1-execucao", {"sufixo_global": "sa-east-1"})):
        resource = {
            "mode": "managed",
            "type": "aws_iam_role",
            "name": "execucao",
            "instances": [{"attributes": {"name": role}}],
        }
        state.write_text(json.dumps({"version": 4, "resources": [resource]}))
        assert provisioner.global_names_suffix() == suffix


def test_a_task_run_locally_reads_its_secrets_as_its_execution_role_and_fails_as_fargate_would(local_aws):
    """As the ECS agent does when a task starts: a secret that the revision's execution role may not read stops the
    task before it starts (the administrator's keys, which read the values, would hide it)."""
    from ecr_deploy.workflows.local_run import run_task_definition_locally

    iam, secrets = boto3.client("iam"), boto3.client("secretsmanager")
    role = iam.create_role(
        RoleName=unique("exec-"), AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    ungranted = secrets.create_secret(Name=unique("api/"), SecretString="s3cr3t-value")["ARN"]
    task_definition = {
        "executionRoleArn": role,
        "containerDefinitions": [
            {"name": "app", "image": "x", "secrets": [{"name": "API_KEY", "valueFrom": ungranted}]}
        ],
    }
    with pytest.raises(DeployError) as refused:
        run_task_definition_locally(None, boto3.Session(), task_definition, "app")
    assert f"API_KEY ({ungranted}) needs secretsmanager:GetSecretValue" in str(refused.value)
    assert "ResourceInitializationError" in str(refused.value) and "s3cr3t-value" not in str(refused.value)


def test_sub_redes_with_two_subnets_of_one_zone_are_refused_before_terraform_naming_them(local_aws, settings):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    first, second = (
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i in (1, 2)
    )
    settings.ECR_DEPLOY = {
        "REPOSITORY": unique("zonas-"),
        "ECS": {"TERRAFORM_VARS": {"vpc_id": vpc, "sub_redes": [first, second]}},
    }
    with pytest.raises(CommandError) as refused:
        call_command("provision_ecs", stdout=io.StringIO(), stderr=io.StringIO())
    assert "one subnet per Availability Zone" in str(refused.value)
    assert f"{' and '.join(sorted([first, second]))} are both in {zone}" in str(refused.value)


def test_a_new_release_role_has_the_region_in_its_name_and_one_made_before_keeps_its_own(settings, tmp_path):
    import shutil

    from ecr_deploy.environments import resolve_environment
    from ecr_deploy.workflows.release import release_role_name
    from ecr_deploy.workflows.stacks import environment_stack

    shutil.copytree(INFRA / "release", tmp_path / "release", ignore=shutil.ignore_patterns(".terraform"))
    settings.ECR_DEPLOY = {"REPOSITORY": "loja"}
    environment, session = resolve_environment(), boto3.Session(region_name="sa-east-1")
    stack = environment_stack(tmp_path / "release", "_release/loja", environment, session, "terraform", 10)
    assert release_role_name(environment, "sa-east-1", stack) == "loja-default-sa-east-1-release"
    state = tmp_path / "release" / "terraform.tfstate.d" / "default" / "_release+loja.tfstate"
    state.parent.mkdir(parents=True)
    resource = {
        "mode": "managed",
        "type": "aws_iam_role",
        "name": "release",
        "instances": [{"attributes": {"name": "loja-default-release"}}],
    }
    state.write_text(json.dumps({"version": 4, "resources": [resource]}))
    assert release_role_name(environment, "sa-east-1", stack) == "loja-default-release"
