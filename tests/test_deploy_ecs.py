"""provision_ecs and deploy_ecs against moto (ECS, ELBv2, EC2, IAM, Logs, Secrets Manager, Application Auto
Scaling, RDS), real terraform, the registry, the local engine and the PostgreSQL that stands in for RDS. The stack is
applied once (its load balancer alone takes a minute) by the first worker to need it: under `make test` the tests go
to one worker (xdist_group), and file locks keep it so under any other split (tests/test_provision_again.py has a service of its own). Each test
deploys the image it checks: their order does not matter.

moto runs no containers: every task it runs exits 0, and every rollout completes. The two signals it cannot
give, a migrate task that exits non-zero and a FAILED rollout, are played with botocore's Stubber, on recorded
ECS answers; those tests say so."""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.workflows.deploy import FIXTURES_COMMAND, MIGRATE_COMMAND
from ecr_deploy.workflows.service import PLAIN_HTTP_WARNING
from scripts.terminal_svg import save_terminal
from tests.conftest import ROOT, SCHEDULE, SCREENSHOTS, WORKER_COMMAND, applied_outputs, applied_state, run, state_file

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("ecs"), pytest.mark.usefixtures("one_service_test_at_a_time")]


def ecs():
    return boto3.client("ecs")


def live(name: str, cluster: str = "") -> dict:
    """The ECS service of that name, in the cluster of the service of that name unless another is given."""
    return ecs().describe_services(cluster=cluster or name, services=[name])["services"][0]


def revisions(name: str) -> list[str]:
    return ecs().list_task_definitions(familyPrefix=name, status="ACTIVE")["taskDefinitionArns"]


def snapshot(name: str) -> tuple[str, list[str]]:
    """What a refused deploy must leave as it was: the revision the service runs, and the active revisions."""
    return live(name)["taskDefinition"], revisions(name)


def applied_resource(service: dict, kind: str) -> dict:
    """The first resource of that type in the state, as terraform applied it."""
    resources = json.loads(applied_state(service))["resources"]
    return next(r["instances"][0]["attributes"] for r in resources if r["type"] == kind)


def applied_service(service: dict) -> dict:
    """The aws_ecs_service that the environment's state holds (moto's describe_services leaves parts out)."""
    return applied_resource(service, "aws_ecs_service")


def credentials(service: dict) -> dict:
    """The database's master user, as ECS reads it from the secret when a task starts."""
    arn = applied_outputs(service)["banco"]["secret_arn"]
    return json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def in_database(service: dict, query: str, *params) -> list[tuple]:
    """query in the service's database, on the PostgreSQL that stands in for its RDS endpoint, as its user (TLS)."""
    import psycopg

    user, local = credentials(service), urllib.parse.urlsplit(os.environ["LOCAL_AWS_DATABASE_URL"])
    database = applied_outputs(service)["banco"]["name"]
    connection = psycopg.connect(
        host=local.hostname,
        port=local.port,
        dbname=database,
        user=user["username"],
        password=user["password"],
        sslmode="require",
    )
    with connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def publish_new_image(docker_client, service: dict, tag: str) -> str:
    """A new image under tag (one more layer), published; its digest."""
    container = docker_client.containers.create(f"{service['repository']}:V1")  # never started: the image keeps its CMD
    try:
        container.commit(repository=service["repository"], tag=tag, changes=[f"LABEL revision={uuid.uuid4().hex}"])
    finally:
        container.remove(force=True)
    published, _ = run("publish_ecr", "--tag", tag)
    return published["digest"]


def test_provision_makes_the_service_behind_a_load_balancer_with_its_guards(service):
    name, provisioned = service["name"], service["provisioned"]
    applied = applied_service(service)  # moto's describe_services leaves the deployment configuration out
    assert applied["deployment_circuit_breaker"] == [{"enable": True, "rollback": True}]
    assert (applied["deployment_minimum_healthy_percent"], applied["deployment_maximum_percent"]) == (100, 200)
    described = live(name)
    assert described["loadBalancers"][0]["containerName"] == "app"
    assert described["loadBalancers"][0]["containerPort"] == 8000
    group = boto3.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"][0]
    assert (group["HealthCheckPath"], group["TargetType"]) == ("/health/", "ip")
    target = boto3.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{name}/{name}"]
    )["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    secret_key = boto3.client("secretsmanager").get_secret_value(SecretId=f"{name}/DJANGO_SECRET_KEY")["SecretString"]
    assert len(secret_key) >= 50 and secret_key not in service["provision_log"] + json.dumps(provisioned)
    assert provisioned["service_url"] == "https://clientes.example.com/" and provisioned["https"] is True
    assert provisioned["terraform_changes"] is True and "Warning: no HTTPS" not in service["provision_log"]
    run("provision_ecs")  # another test may have provisioned with another tag meanwhile
    again, _ = run("provision_ecs")
    assert again["skipped"] == ["terraform (unchanged)"] and again["service_url"] == provisioned["service_url"]


def test_provision_makes_postgres_on_rds_reached_only_from_the_tasks_with_no_password_in_the_state(service):
    name, outputs = service["name"], applied_outputs(service)
    instance = boto3.client("rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert (instance["Engine"], instance["EngineVersion"], instance["DBInstanceClass"]) == (
        "postgres",
        "17",
        "db.t4g.micro",
    )
    assert (instance["AllocatedStorage"], instance["StorageType"], instance["StorageEncrypted"]) == (20, "gp3", True)
    assert (instance["PubliclyAccessible"], instance["BackupRetentionPeriod"]) == (False, 7)
    assert (instance["DeletionProtection"], instance["AutoMinorVersionUpgrade"]) == (True, True)
    assert {s["SubnetIdentifier"] for s in instance["DBSubnetGroup"]["Subnets"]} == set(outputs["sub_redes"])
    (group,) = boto3.client("ec2").describe_security_groups(
        GroupIds=[g["VpcSecurityGroupId"] for g in instance["VpcSecurityGroups"]]
    )["SecurityGroups"]
    ingress = [
        (rule["FromPort"], rule["ToPort"], [pair["GroupId"] for pair in rule["UserIdGroupPairs"]], rule["IpRanges"])
        for rule in group["IpPermissions"]
    ]
    assert ingress == [(5432, 5432, [outputs["grupo_seguranca"]], [])]  # the tasks' group, nothing else
    applied = applied_resource(service, "aws_db_instance")
    assert applied["skip_final_snapshot"] is False
    assert re.fullmatch(rf"{name}-final-\d{{8}}-\d{{4}}", applied["final_snapshot_identifier"])
    assert applied["apply_immediately"] is False
    user = credentials(service)
    assert user["username"] == name.replace("-", "_") and len(user["password"]) == 40
    everything = applied_state(service) + service["provision_log"] + json.dumps(service["provisioned"])
    assert user["password"] not in everything
    assert f"Database: PostgreSQL {user['username']} at {name}.aaaaaaaaaa" in service["provision_log"]


def test_a_full_deploy_pins_the_digest_runs_migrate_and_completes_its_rollout(service, docker_client):
    name = service["name"]
    digest = publish_new_image(docker_client, service, "full")
    before = revisions(name)
    result, log = run("deploy_ecs", "--tag", "full")
    uri = service["published"]["repository_uri"]
    assert result["image"] == f"{uri}@{digest}"
    assert result["rollout_state"] == "COMPLETED" and result["migrated"] is True
    assert live(name)["taskDefinition"] == result["task_definition"] not in before
    definition = ecs().describe_task_definition(taskDefinition=result["task_definition"])["taskDefinition"]
    container = definition["containerDefinitions"][0]
    assert container["image"] == result["image"]
    alb = applied_outputs(service)["alb_dns"]
    database = applied_outputs(service)["banco"]
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert result["service_url"] == "https://clientes.example.com/" and "Warning: no HTTPS" not in log
    assert environment == {
        "DJANGO_ALLOWED_HOSTS": f"{alb},clientes.example.com,www.clientes.example.com",
        "DJANGO_SECURE_SSL_REDIRECT": "1",
        "DJANGO_SECURE_HSTS_SECONDS": "31536000",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://clientes.example.com,https://www.clientes.example.com",
        "DATABASE_HOST": f"{name}.aaaaaaaaaa.us-east-1.rds.amazonaws.com",
        "DATABASE_PORT": "5432",
        "DATABASE_NAME": name.replace("-", "_"),
        "SQS_QUEUE_URL_DEFAULT": applied_outputs(service)["filas"]["default"]["url"],
    }
    secrets = {item["name"]: item["valueFrom"] for item in container["secrets"]}
    assert secrets["DATABASE_USER"] == f"{database['secret_arn']}:username::"
    assert secrets["DATABASE_PASSWORD"] == f"{database['secret_arn']}:password::"
    assert secrets["DJANGO_SECRET_KEY"].startswith(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}/")
    password = credentials(service)["password"]
    assert password not in json.dumps(definition, default=str) + log + json.dumps(result)
    one_offs = ecs().describe_tasks(
        cluster=name, tasks=ecs().list_tasks(cluster=name, startedBy="ecr_deploy")["taskArns"]
    )
    commands = {tuple(t["overrides"]["containerOverrides"][0]["command"]) for t in one_offs["tasks"]}
    assert ("python", "manage.py", "migrate", "--noinput") in commands
    assert ("python", "manage.py", "load_fixtures_once", "clientes.json") in commands
    assert "Migrate: `python manage.py migrate --noinput` as a one-off task" in log
    assert result["fixtures_checked"] is True


def test_the_first_tasks_start_after_their_secret_key_has_a_value_and_their_role_may_read_it(service):
    """The service's first tasks read DJANGO_SECRET_KEY as the execution role when they start: Terraform writes its
    value (write-only: never in the state) and the role's secrets policy before it makes the service."""
    resources = {r["type"]: r for r in json.loads(applied_state(service))["resources"] if r["name"] == "secret_key"}
    (value,) = resources["aws_secretsmanager_secret_version"]["instances"]
    assert value["attributes"]["secret_string"] in ("", None) and value["attributes"]["secret_string_wo"] is None
    (applied,) = [
        r
        for r in json.loads(applied_state(service))["resources"]
        if (r["type"], r["name"]) == ("aws_ecs_service", "app")
    ]
    dependencies = applied["instances"][0]["dependencies"]
    assert {"aws_iam_role_policy.segredos", "aws_secretsmanager_secret_version.secret_key"} <= set(dependencies)


def execution_role(service: dict) -> str:
    return applied_outputs(service)["papeis_arns"][0]


def test_a_secret_of_secrets_is_readable_by_the_execution_role_after_provision(service):
    """SECRETS names its secret by a JSON key; the role may read the secret itself, as IAM authorizes it, and
    what it was given is that secret, the service's own and nothing else of Secrets Manager or Parameter Store."""
    extra = service["ecr_deploy"]["ECS"]["SECRETS"]["EXTRA_TOKEN"]
    secret = extra.removesuffix(":token::")
    iam = boto3.client("iam")
    simulated = iam.simulate_principal_policy(
        PolicySourceArn=execution_role(service), ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[secret]
    )
    assert [result["EvalDecision"] for result in simulated["EvaluationResults"]] == ["allowed"]
    role = execution_role(service).rsplit("/", 1)[1]
    (statement,) = iam.get_role_policy(RoleName=role, PolicyName="ler-segredos")["PolicyDocument"]["Statement"]
    outputs = applied_outputs(service)
    (parameters,) = [arn for arn in statement["Resource"] if ":ssm:" in arn]  # config_ecs's path, and no more
    assert re.fullmatch(
        rf"arn:aws:ssm:[a-z0-9-]+:\d{{12}}:parameter/ecr_deploy/{outputs['servico']}/[a-z0-9-]+/\*", parameters
    )
    assert sorted(statement["Resource"]) == sorted(
        [outputs["secret_key_arn"], outputs["banco"]["secret_arn"], secret, f"{secret}-??????", parameters]
    )


def test_config_ecs_variables_reach_the_next_revision_by_arn_and_never_by_value(service, monkeypatch):
    """config_ecs set: a plain value and a secret, each a parameter of the service's path; the next deploy gives the
    tasks both by ARN, which the execution role may read; no value is in the task definition or the output."""
    monkeypatch.setattr("sys.stdin", io.StringIO("a-config-secret-of-test\n"))
    said = io.StringIO()
    call_command("config_ecs", "set", "DJANGO_ADMIN_URL=painel/", "--secret", "API_KEY", stdout=said)
    try:
        deployed, printed = run("deploy_ecs")
        definition = ecs().describe_task_definition(taskDefinition=deployed["task_definition"])["taskDefinition"]
        (container,) = definition["containerDefinitions"]
        secrets = {secret["name"]: secret["valueFrom"] for secret in container["secrets"]}
        for key in ("DJANGO_ADMIN_URL", "API_KEY"):
            assert re.fullmatch(
                rf"arn:aws:ssm:.+:parameter/ecr_deploy/{deployed['service']}/[a-z0-9-]+/{key}", secrets[key]
            )
        simulated = boto3.client("iam").simulate_principal_policy(
            PolicySourceArn=execution_role(service),
            ActionNames=["ssm:GetParameters"],
            ResourceArns=[secrets["API_KEY"]],
        )
        assert [result["EvalDecision"] for result in simulated["EvaluationResults"]] == ["allowed"]
        everything = json.dumps(definition, default=str) + json.dumps(deployed) + printed + said.getvalue()
        assert "a-config-secret-of-test" not in everything and "painel/" not in everything
    finally:
        call_command("config_ecs", "unset", "DJANGO_ADMIN_URL", "API_KEY", stdout=io.StringIO())


def test_a_secret_the_execution_role_may_not_read_is_refused_by_name_before_any_change(service, settings):
    name = service["name"]
    ungranted = boto3.client("secretsmanager").create_secret(Name=f"{name}/{uuid.uuid4().hex[:6]}", SecretString="x")
    ecs_settings = service["ecr_deploy"]["ECS"]
    settings.ECR_DEPLOY = {
        **service["ecr_deploy"],
        "ECS": {**ecs_settings, "SECRETS": {**ecs_settings["SECRETS"], "SENTRY_DSN": ungranted["ARN"]}},
    }
    before = snapshot(name)
    for flags in (["--plan"], []):  # the plan refuses what the run would refuse
        with pytest.raises(CommandError) as refused:
            run("deploy_ecs", *flags)
        message = str(refused.value)
        assert f"SENTRY_DSN ({ungranted['ARN']}) needs secretsmanager:GetSecretValue" in message
        assert execution_role(service) in message and "provision_ecs" in message and "EXTRA_TOKEN" not in message
    assert snapshot(name) == before


def test_a_deploy_marks_the_image_it_runs_and_the_one_before_so_that_no_lifecycle_rule_expires_them(
    service, docker_client
):
    """ECR's lifecycle rules do not know what ECS runs: the course pushes V1 again, and the image that runs is left
    untagged. The marks keep a tag on it, and on the image that a rollback returns to (infra/ecr.tf keeps them)."""
    ecr, repository = boto3.client("ecr"), service["repository"]

    def tags(digest: str) -> list[str]:
        return ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])["imageDetails"][0][
            "imageTags"
        ]

    first = publish_new_image(docker_client, service, "mark-first")
    run("deploy_ecs", "--tag", "mark-first")
    second = publish_new_image(docker_client, service, "mark-second")
    deployed, log = run("deploy_ecs", "--tag", "mark-second")
    assert deployed["marks"] == {"ecr-deploy-default-running": second, "ecr-deploy-default-previous": first}
    assert "ecr-deploy-default-running" in tags(second) and "ecr-deploy-default-previous" in tags(first)
    assert "Marks: ecr-deploy-default-running on sha256:" in log
    rolled_back, _ = run("deploy_ecs", "--rollback")
    assert rolled_back["marks"] == {"ecr-deploy-default-running": first, "ecr-deploy-default-previous": second}
    assert "ecr-deploy-default-running" in tags(first) and "ecr-deploy-default-previous" in tags(second)


def test_a_deploy_needs_no_docker_engine(service, docker_client, monkeypatch):
    digest = publish_new_image(docker_client, service, "engineless")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # nothing answers there
    deployed, _ = run("deploy_ecs", "--tag", "engineless", "--no-migrate")
    assert deployed["image"] == f"{service['published']['repository_uri']}@{digest}"
    assert deployed["rollout_state"] == "COMPLETED"
    assert live(service["name"])["taskDefinition"] == deployed["task_definition"]


def test_provision_and_deploy_with_another_accounts_credentials_stop_before_terraform(service, local_aws, monkeypatch):
    name, second = service["name"], local_aws["LOCAL_AWS_SECOND_ACCOUNT"]
    state = state_file(service)
    before = state.read_bytes(), snapshot(name)
    role = f"arn:aws:iam::{second}:role/deployer"
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="tests")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials["SessionToken"])
    for command in ("provision_ecs", "deploy_ecs"):
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError) as refused:
            call_command(command, stdout=out, stderr=err)
        assert f"applied in AWS account 123456789012 (us-east-1), but the credentials act in account {second}" in str(
            refused.value
        )
        assert "Terraform:" not in out.getvalue() + err.getvalue()
    monkeypatch.undo()
    assert (state.read_bytes(), snapshot(name)) == before


def test_deploying_what_already_runs_changes_nothing(service):
    run("deploy_ecs")  # V1 runs now, whatever ran before
    before = snapshot(service["name"])
    result, log = run("deploy_ecs")
    assert result["skipped"] == ["deploy (already running)"] and "nothing to deploy" in log
    assert snapshot(service["name"]) == before


def test_plan_prints_the_task_definition_diff_and_changes_nothing(service, docker_client):
    digest = publish_new_image(docker_client, service, "planned")
    before = snapshot(service["name"])
    out = io.StringIO()
    call_command("deploy_ecs", "--tag", "planned", "--plan", stdout=out)
    assert (
        f'@{digest}"' in out.getvalue()
        and f'-      "image": "{service["published"]["repository_uri"]}@' in out.getvalue()
    )
    assert snapshot(service["name"]) == before


def test_rollback_redeploys_the_previous_revision(service, docker_client):
    publish_new_image(docker_client, service, "rollback")
    running = live(service["name"])["taskDefinition"]
    deployed, _ = run("deploy_ecs", "--tag", "rollback")
    assert live(service["name"])["taskDefinition"] == deployed["task_definition"] != running
    rolled, _ = run("deploy_ecs", "--rollback")
    assert rolled["task_definition"] == running == live(service["name"])["taskDefinition"]
    assert rolled["rollout_state"] == "COMPLETED"


def test_a_release_rolls_the_web_its_worker_and_its_schedule_and_a_worker_that_fails_rolls_it_all_back(
    service, docker_client
):
    """PROCESSES' worker: an ECS service of its own from the web's image, with its command, the web's variables and
    secrets and a log stream prefix of its own, rolled in the web's release, scaling on its queue's backlog per task.
    QUEUES' queue: encrypted, with a dead-letter queue, its URL given to the tasks, the task role's to use and no
    other's. SCHEDULES' job: a schedule that follows the web's revision through a deploy and a rollback. A worker
    whose rollout FAILED (the local AWS's fail-rollout fault: moto runs no tasks) sends every service back to the
    revision it ran."""
    name = service["name"]
    worker = f"{name}-worker"
    publish_new_image(docker_client, service, "release")
    deployed, log = run("deploy_ecs", "--tag", "release")
    moved = live(worker, name)["taskDefinition"]
    assert deployed["processes"]["worker"]["task_definition"] == moved
    definition = ecs().describe_task_definition(taskDefinition=moved)["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    (web,) = running_definition(service)["containerDefinitions"]
    assert definition["family"] == worker and container["image"] == deployed["image"] == web["image"]
    assert container["command"] == WORKER_COMMAND and not container.get("portMappings")
    assert container["secrets"] == web["secrets"] and container["environment"] == web["environment"]
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "worker"
    assert f"Service {worker}: deployment" in log

    queue_url = applied_outputs(service)["filas"]["default"]["url"]
    assert {"name": "SQS_QUEUE_URL_DEFAULT", "value": queue_url} in container["environment"]
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert attributes["SqsManagedSseEnabled"] == "true" and redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"].endswith(f":{name}-default-dlq")
    # A dead letter judges a release as a 5xx does: the bake watches its alarm with the web's.
    (dead_letters,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"{name}-default-dlq"])["MetricAlarms"]
    assert dead_letters["Dimensions"] == [{"Name": "QueueName", "Value": f"{name}-default-dlq"}]
    assert f"{name}-default-dlq" in applied_outputs(service)["alarmes"]
    (task_role,) = {definition["taskRoleArn"].rsplit("/", 1)[-1]}
    queues_policy = boto3.client("iam").get_role_policy(RoleName=task_role, PolicyName="filas")["PolicyDocument"]
    assert [statement["Resource"] for statement in queues_policy["Statement"]] == [[attributes["QueueArn"]]]
    policies = boto3.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=f"service/{name}/{worker}"
    )["ScalingPolicies"]
    (scaling,) = [policy for policy in policies if policy["ResourceId"] == f"service/{name}/{worker}"]
    metrics = scaling["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]["Metrics"]
    assert {metric["Id"]: metric.get("Expression") for metric in metrics} == {
        "mensagens": None,
        "tarefas": None,
        "por_tarefa": "mensagens / tarefas",
    }

    scheduler = boto3.client("scheduler")
    web_revision = live(name)["taskDefinition"]

    def scheduled() -> str:
        found = scheduler.get_schedule(GroupName=name, Name="limpeza")
        assert json.loads(found["Target"]["Input"])["containerOverrides"][0]["command"] == SCHEDULE["command"]
        return found["Target"]["EcsParameters"]["TaskDefinitionArn"]

    assert deployed["schedules"] == {"limpeza": web_revision} and scheduled() == web_revision
    status = io.StringIO()
    call_command("status_ecs", stdout=status, stderr=io.StringIO())
    revision = web_revision.rsplit("/", 1)[-1]
    assert f"process: worker: {moved.rsplit('/', 1)[-1]}, 1/1 tasks, COMPLETED" in status.getvalue()
    assert "queue: default: 0 waiting, 0 in flight, 0 dead letters" in status.getvalue()
    assert "schedule: limpeza: cron(0 3 * * ? *) (America/Sao_Paulo), next 20" in status.getvalue()
    assert f"T03:00:00-03:00, {revision}, no run listed" in status.getvalue()

    publish_new_image(docker_client, service, "broken-worker")
    asks = Path(os.environ["LOCAL_AWS_FAULTS"]) / "fail-rollout"
    asks.mkdir(parents=True, exist_ok=True)
    (asks / worker).touch()
    with pytest.raises(CommandError) as failed:
        run("deploy_ecs", "--tag", "broken-worker")
    assert (
        f"The process worker did not roll out: The rollout of {worker} FAILED: ECS deployment circuit breaker"
        in str(failed.value)
    )
    assert f"The release was rolled back: {name} runs {web_revision} again, worker {moved}." in str(failed.value)
    assert live(name)["taskDefinition"] == web_revision and live(worker, name)["taskDefinition"] == moved
    assert scheduled() == web_revision

    rolled, _ = run("deploy_ecs", "--rollback")
    assert rolled["schedules"] == {"limpeza": rolled["task_definition"]} != {"limpeza": web_revision}
    assert scheduled() == rolled["task_definition"] == live(name)["taskDefinition"]


def test_a_process_the_settings_no_longer_name_is_destroyed_alone_and_provision_makes_it_again(service, settings):
    """destroy_ecs --process: a targeted terraform destroy of its service, scaling and task definition, and its
    family deregistered; the web, the queue and the schedule untouched. While the settings still name it, refused."""
    name, worker = service["name"], f"{service['name']}-worker"
    with pytest.raises(CommandError, match=r"--process worker: ECR_DEPLOY\['ECS'\]\['PROCESSES'\] still names it"):
        call_command("destroy_ecs", "--process", "worker", "--yes", stdout=io.StringIO(), stderr=io.StringIO())
    web_before = live(name)["taskDefinition"]
    settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": {**service["ecr_deploy"]["ECS"], "PROCESSES": {}}}
    out = io.StringIO()
    call_command("destroy_ecs", "--process", "worker", "--yes", stdout=out, stderr=out)
    assert 'destroy  aws_ecs_service.processo["worker"]' in out.getvalue()
    assert f"deregister every revision of the task definition {worker}" in out.getvalue()
    assert live(worker, name)["status"] != "ACTIVE" and revisions(worker) == []
    assert "worker" not in applied_outputs(service)["processos"]
    assert live(name)["taskDefinition"] == web_before
    assert boto3.client("sqs").get_queue_url(QueueName=f"{name}-default")["QueueUrl"]
    assert boto3.client("scheduler").get_schedule(GroupName=name, Name="limpeza")["State"] == "ENABLED"
    settings.ECR_DEPLOY = service["ecr_deploy"]
    run("provision_ecs")
    assert live(worker, name)["status"] == "ACTIVE" and revisions(worker)


def running_definition(service: dict) -> dict:
    arn = live(service["name"])["taskDefinition"]
    return ecs().describe_task_definition(taskDefinition=arn)["taskDefinition"]


def one_off(docker_client, definition: dict, command: list[str], environment: dict | None = None) -> tuple[int, str]:
    """A one-off task of the revision, as deploy_ecs runs it on Fargate, run locally to its end."""
    from ecr_deploy.workflows.local_run import run_one_off_locally

    return run_one_off_locally(docker_client, boto3.Session(), definition, "app", command, environment=environment)


def prepare_database(docker_client, definition: dict) -> str:
    """What deploy_ecs's one-off tasks did on Fargate (moto ran nothing): migrate, then the fixtures; their log."""
    logs = ""
    for command in (MIGRATE_COMMAND, [*FIXTURES_COMMAND, "clientes.json"]):
        code, log = one_off(docker_client, definition, command)
        assert code == 0, log
        logs += log
    return logs


def an_admin(docker_client, definition: dict) -> tuple[str, str]:
    """A new superuser, made by a one-off task (`createsuperuser --noinput`); its name and password."""
    user = (f"admin-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex)
    made = {"DJANGO_SUPERUSER_USERNAME": user[0], "DJANGO_SUPERUSER_PASSWORD": user[1]}
    code, log = one_off(
        docker_client, definition, ["python", "manage.py", "createsuperuser", "--noinput", "--email", "a@x.com"], made
    )
    assert code == 0, log
    return user


@contextmanager
def serving_tasks(docker_client, definition: dict, count: int = 1):
    """count tasks of the revision on the local engine, each answering /health/; their ports."""
    from ecr_deploy.workflows.local_run import run_task_definition_locally

    containers = [run_task_definition_locally(docker_client, boto3.Session(), definition, "app") for _ in range(count)]
    try:
        yield [serving_port(container) for container in containers]
    finally:
        for container in containers:
            container.remove(force=True)


def serving_port(container, seconds: float = 60) -> str:
    container.reload()
    port = container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]
    deadline = time.monotonic() + seconds
    while not answers_health(port):
        assert time.monotonic() < deadline, container.logs().decode()[-3000:]
        time.sleep(0.5)
    return port


def answers_health(port: str) -> bool:
    """/health/ answers 200 (the published port resets connections until gunicorn listens)."""
    try:
        return answer(port, "/health/", "10.0.1.17", proto="")[0] == 200
    except OSError:
        return False


def api(port: str, path: str, host: str, body: dict | None = None, user: tuple[str, str] | None = None):
    """The API's status and JSON body, asked as the load balancer's HTTPS listener forwards a request; a POST of body
    when one is given, with HTTP Basic when user is."""
    headers = {"Host": host, "Content-Type": "application/json", "X-Forwarded-Proto": "https"}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(user).encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data, headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, None


def test_the_deployed_task_definition_runs_locally_behind_https_as_the_load_balancer_forwards_to_it(
    service, docker_client
):
    run("deploy_ecs")
    definition = running_definition(service)
    prepare_database(docker_client, definition)
    user = an_admin(docker_client, definition)
    from ecr_deploy.workflows.local_run import run_task_definition_locally

    # Django's deployment checks with the deploy's environment (HTTPS-only settings, HSTS, trusted origins).
    code, log = one_off(
        docker_client, definition, ["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    )
    assert code == 0 and "System check identified no issues" in log, log
    container = run_task_definition_locally(docker_client, boto3.Session(), definition, "app")
    try:
        port = serving_port(container)
        assert health_check_exit_code(container) == 0
        # The target group's checks: plain HTTP to the task's IP, answered before the redirect and host checks.
        assert answer(port, "/health/", "10.0.1.17", proto="")[0] == 200
        domain = "clientes.example.com"
        code, headers, _ = answer(port, "/clientes/", domain, proto="http")
        assert (code, headers["location"]) == (301, f"https://{domain}/clientes/")
        code, headers, _ = answer(port, "/admin/login/", domain)
        assert code == 200 and headers["strict-transport-security"] == "max-age=31536000"
        token = cookie(headers, "csrftoken")
        assert "Secure" in token["flags"]
        form = urllib.parse.urlencode(
            {"username": user[0], "password": user[1], "csrfmiddlewaretoken": token["value"], "next": "/admin/"}
        )
        code, headers, body = answer(
            port,
            "/admin/login/",
            domain,
            form,
            {"Cookie": f"csrftoken={token['value']}", "Origin": f"https://{domain}"},
        )
        assert code == 302, body[-2000:]
        assert {"Secure", "HttpOnly"} <= cookie(headers, "sessionid")["flags"]
        assert answer(port, "/clientes/", "attacker.example")[0] == 400
    finally:
        container.remove(force=True)


def answer(
    port: str, path: str, host: str, form: str | None = None, headers: dict | None = None, proto: str = "https"
) -> tuple[int, dict, str]:
    """One request as the load balancer forwards it (X-Forwarded-Proto: proto, none when empty), redirects not
    followed: its status, its headers (lowercase names; Set-Cookie as a list) and its body."""
    import http.client

    sent = {"Host": host, **({"X-Forwarded-Proto": proto} if proto else {}), **(headers or {})}
    if form is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
    try:
        connection.request("POST" if form is not None else "GET", path, form, sent)
        response = connection.getresponse()
        received = {name.lower(): value for name, value in response.getheaders()}
        received["set-cookie"] = response.headers.get_all("Set-Cookie") or []
        return response.status, received, response.read().decode(errors="replace")
    finally:
        connection.close()


def cookie(headers: dict, name: str) -> dict:
    """The Set-Cookie of name: its value and its flags (Secure, HttpOnly, ...)."""
    for line in headers["set-cookie"]:
        first, *attributes = [part.strip() for part in line.split(";")]
        if first.startswith(f"{name}="):
            return {"value": first.split("=", 1)[1], "flags": {a.split("=")[0] for a in attributes}}
    raise AssertionError(f"no {name} cookie in {headers['set-cookie']}")


def test_the_fixtures_are_loaded_into_the_database_once_and_never_over_real_data(service, docker_client):
    run("deploy_ecs")
    definition = running_definition(service)
    prepare_database(docker_client, definition)  # the first of these in this database loaded the fixture
    fixture = json.loads((ROOT / "clientes.json").read_text())
    loaded = in_database(service, "SELECT loaded_at FROM ecr_deploy_loadedfixture WHERE name = 'clientes.json'")
    assert len(loaded) == 1
    first = fixture[0]["pk"]
    in_database(service, "UPDATE clientes_cliente SET nome = 'Renamed by a user' WHERE id = %s", first)
    code, log = one_off(docker_client, definition, [*FIXTURES_COMMAND, "clientes.json"])
    assert code == 0 and "Already loaded into this database, not loaded again: clientes.json" in log
    assert in_database(service, "SELECT nome FROM clientes_cliente WHERE id = %s", first) == [("Renamed by a user",)]
    assert in_database(service, "SELECT loaded_at FROM ecr_deploy_loadedfixture") == loaded
    assert in_database(
        service, "SELECT count(*) FROM clientes_cliente WHERE id = ANY(%s)", [r["pk"] for r in fixture]
    ) == [(len(fixture),)]


def test_a_write_survives_the_next_deploy_and_two_tasks_of_a_revision_share_it(service, docker_client):
    alb = applied_outputs(service)["alb_dns"]
    run("deploy_ecs")
    before = running_definition(service)
    prepare_database(docker_client, before)
    user = an_admin(docker_client, before)
    with serving_tasks(docker_client, before) as (port,):
        code, created = api(port, "/clientes/", alb, {"nome": "Kept", "email": "kept@example.com"}, user)
    assert code == 201
    publish_new_image(docker_client, service, "kept")
    deployed, _ = run("deploy_ecs", "--tag", "kept")
    after = running_definition(service)
    assert after["taskDefinitionArn"] == deployed["task_definition"] != before["taskDefinitionArn"]
    prepare_database(docker_client, after)
    with serving_tasks(docker_client, after, count=2) as (first, second):
        assert api(first, f"/clientes/{created['id']}/", alb) == (200, created)
        code, made = api(first, "/clientes/", alb, {"nome": "From task A", "email": "a@example.com"}, user)
        assert code == 201
        assert api(second, f"/clientes/{made['id']}/", alb) == (200, made)


def test_the_web_queues_a_job_on_sqs_and_the_worker_run_from_its_deployed_revision_does_it(service, docker_client):
    """moto runs no tasks: the web's and the worker's deployed revisions run on the local engine as Fargate runs them,
    each with the task role's credentials and SQS_QUEUE_URL_DEFAULT. The web queues the job (202) and it waits in
    the service's queue until the worker, started after, takes it and writes its result into the database."""
    from ecr_deploy.workflows.local_run import run_task_definition_locally

    name, alb = service["name"], applied_outputs(service)["alb_dns"]
    run("deploy_ecs")
    web = running_definition(service)
    worker = ecs().describe_task_definition(taskDefinition=live(f"{name}-worker", name)["taskDefinition"])
    prepare_database(docker_client, web)
    user = an_admin(docker_client, web)
    queue = applied_outputs(service)["filas"]["default"]["url"]
    waiting = functools.partial(
        boto3.client("sqs").get_queue_attributes, QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
    )
    with serving_tasks(docker_client, web) as (port,):
        code, created = api(port, "/clientes/", alb, {"nome": "Fila", "email": "fila@example.com"}, user)
        assert code == 201
        path = f"/clientes/{created['id']}/boas-vindas/"
        assert api(port, path, alb, {}, user) == (202, {"fila": "default"})
        assert api(port, path, alb) == (200, []) and waiting()["Attributes"]["ApproximateNumberOfMessages"] == "1"
        container = run_task_definition_locally(docker_client, boto3.Session(), worker["taskDefinition"], "app")
        try:
            deadline = time.monotonic() + 120
            while (found := api(port, path, alb)[1]) == [] and time.monotonic() < deadline:
                time.sleep(0.5)
            log = container.logs().decode()
        finally:
            container.remove(force=True)
    (message,) = found
    assert message["texto"] == f"Bem-vindo, Fila! ({container.id[:12]})", log
    assert "clientes.tasks.enviar_boas_vindas" in log and "succeeded" in log
    assert waiting()["Attributes"]["ApproximateNumberOfMessages"] == "0"


def health_check_exit_code(container) -> int:
    """The container's own health check (the task definition's, as the engine was given it) run once inside it,
    now: the engine's first scheduled check comes only after the 30 s interval."""
    test = container.attrs["Config"]["Healthcheck"]["Test"]
    assert test[0] == "CMD", test
    return container.exec_run(test[1:]).exit_code


@pytest.mark.parametrize(
    ("flags", "ecs_settings", "message"),
    [
        (["--tag", "never-published"], {}, "No published image .*:never-published; run `python manage.py publish_ecr"),
        (["--digest", "sha256:" + "0" * 64], {}, "@sha256:0+ is not in the registry"),
        ([], {"CONTAINER": "web"}, "has no container named 'web' \\(it has app\\)"),
        (
            [],
            {"SERVICE": "never-provisioned"},
            "was never applied .* run `python manage.py provision_ecs --env default`",
        ),
        (["--timeout", "0"], {}, "--timeout must be a positive number"),
        (["--rollback", "--tag", "V2"], {}, "--rollback redeploys the previous revision"),
    ],
    ids=[
        "tag-not-published",
        "digest-absent",
        "container-mismatch",
        "never-provisioned",
        "timeout-zero",
        "rollback-with-tag",
    ],
)
def test_a_bad_deploy_is_refused_clearly_and_changes_nothing(service, settings, flags, ecs_settings, message):
    settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": {**service["ecr_deploy"]["ECS"], **ecs_settings}}
    before = snapshot(service["name"])
    with pytest.raises(CommandError, match=message) as refused:
        call_command("deploy_ecs", *flags, stdout=io.StringIO(), stderr=io.StringIO())
    assert refused.value.returncode == 1
    assert snapshot(service["name"]) == before


def test_rollback_without_an_earlier_revision_is_refused(service):
    name = service["name"]
    running = live(name)["taskDefinition"]
    for arn in revisions(name):
        if int(arn.rsplit(":", 1)[1]) < int(running.rsplit(":", 1)[1]):
            ecs().deregister_task_definition(taskDefinition=arn)
    with pytest.raises(CommandError, match="has no earlier active revision to roll back to"):
        call_command("deploy_ecs", "--rollback", stdout=io.StringIO(), stderr=io.StringIO())
    assert live(name)["taskDefinition"] == running


# The failures moto cannot produce, on recorded ECS answers (botocore's Stubber): the deploy must read them.


def stubbed_service(name: str, cluster: str = "c"):
    from ecr_deploy.aws.ecs import EcsService

    client, logs = boto3.client("ecs"), boto3.client("logs")
    stubber, logs_stubber = Stubber(client), Stubber(logs)
    ticks = iter(range(1_000_000))
    service = EcsService(client, logs, cluster, name, poll_seconds=0, clock=lambda: next(ticks), sleep=lambda _: None)
    return service, stubber, logs_stubber


SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/c/web"


def described(
    deployments: list[dict], task_definition: str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
):
    return {
        "services": [
            {
                "serviceArn": SERVICE_ARN,
                "serviceName": "web",
                "status": "ACTIVE",
                "taskDefinition": task_definition,
                "deployments": deployments,
                "events": [{"id": "e1", "message": "(service web) deployment failed: tasks failed to start."}],
            }
        ]
    }


def test_a_failed_rollout_is_a_failure_with_its_reason_recorded_answers():
    service, stubber, _ = stubbed_service("web")
    stubber.add_response(
        "describe_services",
        described(
            [
                {
                    "id": "ecs-svc/1",
                    "status": "PRIMARY",
                    "rolloutState": "IN_PROGRESS",
                    "runningCount": 0,
                    "desiredCount": 1,
                }
            ]
        ),
    )
    stubber.add_response(
        "describe_services",
        described(
            [
                {
                    "id": "ecs-svc/1",
                    "status": "PRIMARY",
                    "rolloutState": "FAILED",
                    "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.",
                    "runningCount": 0,
                    "desiredCount": 1,
                }
            ]
        ),
    )
    seen: list[str] = []
    with stubber, pytest.raises(Exception, match="FAILED: ECS deployment circuit breaker: tasks failed to start"):
        service.wait_for_rollout("ecs-svc/1", 60, seen.append)
    assert seen == [
        "Rollout ecs-svc/1: IN_PROGRESS (0/1 tasks running)",
        "Rollout ecs-svc/1: FAILED (0/1 tasks running)",
    ]


def test_a_deployment_replaced_by_a_rollback_is_a_failure_recorded_answers():
    service, stubber, _ = stubbed_service("web")
    stubber.add_response(
        "describe_services",
        described(
            [
                {
                    "id": "ecs-svc/0",
                    "status": "PRIMARY",
                    "rolloutState": "IN_PROGRESS",
                    "runningCount": 1,
                    "desiredCount": 1,
                }
            ]
        ),
    )
    with stubber, pytest.raises(Exception, match="ecs-svc/1 of web is gone: it was replaced"):
        service.wait_for_rollout("ecs-svc/1", 60, lambda _: None)


def test_a_rollout_past_the_timeout_says_what_runs_and_leaves_it_going_recorded_answers():
    service, stubber, _ = stubbed_service("web")
    for _ in range(3):
        stubber.add_response(
            "describe_services",
            described(
                [
                    {
                        "id": "ecs-svc/1",
                        "status": "PRIMARY",
                        "rolloutState": "IN_PROGRESS",
                        "runningCount": 1,
                        "desiredCount": 2,
                        "failedTasks": 1,
                    }
                ]
            ),
        )
    with (
        stubber,
        pytest.raises(Exception, match=r"still IN_PROGRESS after 2s \(1 of 2 tasks running, 1 failed\); it goes on"),
    ):
        service.wait_for_rollout("ecs-svc/1", 2, lambda _: None)


def test_a_migrate_task_that_exits_non_zero_gives_its_code_reason_and_log_recorded_answers():
    service, stubber, logs_stubber = stubbed_service("web")
    task_arn = "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef"
    stubber.add_response("run_task", {"tasks": [{"taskArn": task_arn, "lastStatus": "PROVISIONING"}], "failures": []})
    stubber.add_response("describe_tasks", {"tasks": [{"taskArn": task_arn, "lastStatus": "RUNNING"}], "failures": []})
    stubber.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": task_arn,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                    "containers": [{"name": "app", "exitCode": 1}],
                }
            ],
            "failures": [],
        },
    )
    logs_stubber.add_response(
        "get_log_events",
        {"events": [{"message": "django.db.utils.OperationalError: could not connect to server"}]},
        {"logGroupName": "/ecs/web", "logStreamName": "app/app/0123456789abcdef", "limit": 20, "startFromHead": False},
    )
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}}
    with stubber, logs_stubber:
        outcome = service.run_one_off(
            "arn:td:8", "app", ["python", "manage.py", "migrate"], network, 60, "/ecs/web", lambda _: None
        )
    assert not outcome.succeeded and outcome.exit_code == 1
    assert outcome.stop_code == "EssentialContainerExited"
    assert outcome.log_tail == ["django.db.utils.OperationalError: could not connect to server"]


def test_a_failed_migrate_stops_the_deploy_before_the_service_changes_recorded_answers(service, settings):
    """The ECS answers are recorded (moto's tasks always exit 0); the image is the real published one."""
    from ecr_deploy.aws.ecr import EcrApi
    from ecr_deploy.environments import resolve_environment
    from ecr_deploy.workflows.deploy import Deployer, DeployOptions
    from ecr_deploy.workflows.service import Progress

    ecs_service, stubber, logs_stubber = stubbed_service("web")
    current = {
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
        "family": "web",
        "revision": 7,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "old@sha256:" + "1" * 64, "memory": 512}],
    }
    task_arn = "arn:aws:ecs:us-east-1:123456789012:task/c/fedcba9876543210"
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}}
    live_service = described([{"id": "ecs-svc/0", "status": "PRIMARY", "rolloutState": "COMPLETED"}])
    live_service["services"][0]["networkConfiguration"] = network
    stubber.add_response("describe_services", live_service)
    stubber.add_response("describe_task_definition", {"taskDefinition": current})
    stubber.add_response(
        "register_task_definition",
        {"taskDefinition": {**current, "revision": 8, "taskDefinitionArn": current["taskDefinitionArn"][:-1] + "8"}},
    )
    stubber.add_response("run_task", {"tasks": [{"taskArn": task_arn}], "failures": []})
    stubber.add_response(
        "describe_tasks",
        {
            "tasks": [
                {
                    "taskArn": task_arn,
                    "lastStatus": "STOPPED",
                    "stopCode": "EssentialContainerExited",
                    "containers": [{"name": "app", "exitCode": 3}],
                }
            ],
            "failures": [],
        },
    )
    logs_stubber.add_response("get_log_events", {"events": [{"message": "migrate: boom"}]})
    stubber.add_response(
        "deregister_task_definition",
        {"taskDefinition": current},
        {"taskDefinition": current["taskDefinitionArn"][:-1] + "8"},
    )
    outputs = {
        "servico": "web",
        "alb_dns": "web-1.elb.amazonaws.com",
        "container": "app",
        "grupo_logs": "/ecs/web",
        "usa_banco_externo": True,
        "filas": {"default": {"url": "https://sqs.us-east-1.amazonaws.com/123456789012/web-default"}},
    }
    headings: list[str] = []
    progress = Progress(heading=headings.append, summary=lambda _: None, line=lambda _: None)
    deployer = Deployer(
        resolve_environment(),
        outputs,
        ecs_service,
        EcrApi(boto3.client("ecr")),
        progress,
        DeployOptions(timeout_seconds=60),
        alarms=lambda names: [],
        iam=boto3.client("iam"),
    )
    with stubber, logs_stubber, pytest.raises(Exception) as failed:
        deployer.run()
    assert "exit code 3" in str(failed.value) and "migrate: boom" in str(failed.value)
    assert "the service was not updated and the new revision was deregistered" in str(failed.value)
    assert PLAIN_HTTP_WARNING in headings  # no domain behind HTTPS in these outputs
    stubber.assert_no_pending_responses()  # no update_service was answered: none was made


# The alarms that judge a release, and the bake after a rollout.


def alarms():
    return boto3.client("cloudwatch")


def test_provision_makes_the_alarms_that_judge_a_release_and_names_them_in_the_service(service):
    name = service["name"]
    (rate,) = alarms().describe_alarms(AlarmNames=[f"{name}-5xx"])["MetricAlarms"]
    assert (rate["Threshold"], rate["EvaluationPeriods"], rate["DatapointsToAlarm"]) == (1.0, 3, 2)
    assert rate["ComparisonOperator"] == "GreaterThanThreshold"
    queries = {query["Id"]: query for query in rate["Metrics"]}
    assert queries["taxa"]["Expression"] == "IF(pedidos > 0, 100 * FILL(erros, 0) / pedidos, 0)"
    assert queries["erros"]["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert queries["pedidos"]["MetricStat"]["Metric"]["MetricName"] == "RequestCount"
    (hosts,) = alarms().describe_alarms(AlarmNames=[f"{name}-alvos-doentes"])["MetricAlarms"]
    assert (hosts["MetricName"], hosts["Threshold"], hosts["ComparisonOperator"]) == (
        "UnHealthyHostCount",
        0.0,
        "GreaterThanThreshold",
    )
    assert applied_service(service)["alarms"] == [
        {"alarm_names": [f"{name}-5xx", f"{name}-alvos-doentes"], "enable": True, "rollback": True}
    ]


def test_a_bake_that_passes_keeps_the_new_revision_and_records_its_verdict(service, docker_client):
    publish_new_image(docker_client, service, "baked")
    deployed, log = run("deploy_ecs", "--tag", "baked", "--bake", "2")
    assert deployed["bake"] == {
        "seconds": 2.0,
        "verdict": "passed",
        "alarms": [f"{service['name']}-5xx", f"{service['name']}-alvos-doentes", f"{service['name']}-default-dlq"],
    }
    assert f"{service['name']}-5xx OK" in log and "Bake: passed (2s, no alarm fired)." in log
    assert live(service["name"])["taskDefinition"] == deployed["task_definition"]


def test_bake_0_skips_the_bake_and_says_so(service, docker_client):
    publish_new_image(docker_client, service, "unbaked")
    deployed, log = run("deploy_ecs", "--tag", "unbaked", "--bake", "0")
    assert deployed["bake"] == {"seconds": 0, "verdict": "skipped", "reason": "--bake 0"}
    assert "Bake: skipped (--bake 0)." in log


def test_a_5xx_alarm_that_fires_during_the_bake_rolls_the_service_back(service, docker_client):
    """The alarm is set to ALARM with CloudWatch's SetAlarmState as soon as the bake's first line is out."""
    name = service["name"]
    run("deploy_ecs")  # a known revision runs before
    before = live(name)["taskDefinition"]
    publish_new_image(docker_client, service, "failing")
    out, err = io.StringIO(), io.StringIO()

    def fire_when_the_bake_starts():
        deadline = time.monotonic() + 120
        while "Bake: " not in err.getvalue() and time.monotonic() < deadline:
            time.sleep(0.1)
        alarms().set_alarm_state(
            AlarmName=f"{name}-5xx", StateValue="ALARM", StateReason="Threshold Crossed: 2 of 3 datapoints above 1"
        )

    setter = threading.Thread(target=fire_when_the_bake_starts)
    setter.start()
    try:
        with pytest.raises(CommandError) as failed:
            call_command(
                "deploy_ecs", "--json", "--tag", "failing", "--bake", "60", "--timeout", "120", stdout=out, stderr=err
            )
    finally:
        setter.join()
        alarms().set_alarm_state(AlarmName=f"{name}-5xx", StateValue="OK", StateReason="the test is over")
    message = str(failed.value)
    assert failed.value.returncode == 1
    assert f"{name}-5xx went into ALARM (Threshold Crossed: 2 of 3 datapoints above 1)" in message
    assert f"rolled back and runs {before} again" in message
    assert "the schema is at the new version" in message  # this release ran migrate
    assert live(name)["taskDefinition"] == before


@pytest.mark.parametrize(
    ("flags", "ecs_settings", "message"),
    [
        (["--bake", "-1"], {}, r"--bake must be a number of seconds, 0 or more, not -1"),
        (["--bake", "soon"], {}, r"argument --bake: invalid float value: 'soon'"),
        (["--bake", "120", "--timeout", "60"], {}, r"--bake 120 is longer than the deploy's timeout \(60s\)"),
        (["--bake", "5"], {"ALARMS": ["never-made"]}, r"No CloudWatch alarm named never-made; fix .*\['ALARMS'\]"),
    ],
    ids=["negative", "not-a-number", "longer-than-timeout", "unknown-alarm"],
)
def test_a_bad_bake_is_refused_before_anything_changes(service, docker_client, settings, flags, ecs_settings, message):
    publish_new_image(docker_client, service, "bad-bake")
    settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": {**service["ecr_deploy"]["ECS"], **ecs_settings}}
    before = snapshot(service["name"])
    with pytest.raises(CommandError, match=message) as refused:
        call_command("deploy_ecs", "--tag", "bad-bake", *flags, stdout=io.StringIO(), stderr=io.StringIO())
    assert refused.value.returncode == 1
    assert snapshot(service["name"]) == before


def unreadable_alarms_after_the_first_read(names: list[str]):
    """A CloudWatch client on recorded answers: the alarms read once before the deploy, then ServiceUnavailable
    (moto's CloudWatch never fails)."""
    from ecr_deploy.aws.cloudwatch import alarm_states

    client = boto3.client("cloudwatch")
    stubber = Stubber(client)
    stubber.add_response(
        "describe_alarms",
        {"MetricAlarms": [{"AlarmName": n, "StateValue": "OK"} for n in names]},
        {"AlarmNames": names},
    )
    stubber.add_client_error("describe_alarms", "ServiceUnavailable", "CloudWatch is unavailable", 503)
    stubber.activate()
    return functools.partial(alarm_states, client)


@pytest.mark.parametrize("keep", [False, True], ids=["rolled-back", "kept"])
def test_alarms_that_cannot_be_read_during_the_bake_fail_it_unless_kept_recorded_answers(service, docker_client, keep):
    from ecr_deploy.aws.ecr import EcrApi
    from ecr_deploy.aws.ecs import EcsService
    from ecr_deploy.environments import resolve_environment
    from ecr_deploy.errors import DeployError
    from ecr_deploy.workflows.deploy import Deployer, DeployOptions
    from ecr_deploy.workflows.service import Progress

    name, outputs = service["name"], applied_outputs(service)
    run("deploy_ecs")
    before = live(name)["taskDefinition"]
    publish_new_image(docker_client, service, "unjudged")
    seen: list[str] = []
    progress = Progress(heading=seen.append, summary=seen.append, line=seen.append)
    deployer = Deployer(
        resolve_environment(),
        outputs,
        EcsService(ecs(), boto3.client("logs"), name, name, poll_seconds=0.2),
        EcrApi(boto3.client("ecr")),
        progress,
        DeployOptions(tag="unjudged", migrate=False, bake_seconds=5, keep_on_bake_error=keep),
        alarms=unreadable_alarms_after_the_first_read(outputs["alarmes"]),
        iam=boto3.client("iam"),
        scheduler=boto3.client("scheduler"),
    )
    if keep:
        result = deployer.run()
        assert result.bake["verdict"] == "unjudged, kept"
        assert live(name)["taskDefinition"] == result.task_definition != before
    else:
        with pytest.raises(DeployError, match=r"the alarms could not be read: .*ServiceUnavailable.* runs .* again"):
            deployer.run()
        assert live(name)["taskDefinition"] == before


def test_a_failed_bake_after_irreversible_migrations_does_not_roll_back_recorded_answers(service, docker_client):
    """The migrate task's log and the alarm going into ALARM are recorded answers (moto's tasks print nothing, and its
    alarms change only when asked); the service, its revisions and the rollout are moto's."""
    from ecr_deploy.aws.cloudwatch import alarm_states
    from ecr_deploy.aws.ecr import EcrApi
    from ecr_deploy.aws.ecs import EcsService
    from ecr_deploy.environments import resolve_environment
    from ecr_deploy.errors import DeployError
    from ecr_deploy.runtime.migrations import IRREVERSIBLE_MARK
    from ecr_deploy.workflows.deploy import Deployer, DeployOptions
    from ecr_deploy.workflows.service import Progress

    name, outputs = service["name"], applied_outputs(service)
    publish_new_image(docker_client, service, "irreversible")
    logs, cloudwatch = boto3.client("logs"), boto3.client("cloudwatch")
    logs_stubber, alarms_stubber = Stubber(logs), Stubber(cloudwatch)
    logs_stubber.add_response(
        "get_log_events",
        {
            "events": [
                {"message": "  Applying clientes.0002_fill_emails... OK"},
                {"message": f"{IRREVERSIBLE_MARK} clientes.0002_fill_emails"},
            ]
        },
    )
    names = outputs["alarmes"]
    ok = {"MetricAlarms": [{"AlarmName": n, "StateValue": "OK"} for n in names]}
    firing = {
        "MetricAlarms": [
            {"AlarmName": names[0], "StateValue": "ALARM", "StateReason": "5xx above 1 %"},
            *ok["MetricAlarms"][1:],
        ]
    }
    alarms_stubber.add_response("describe_alarms", ok, {"AlarmNames": names})
    alarms_stubber.add_response("describe_alarms", firing, {"AlarmNames": names})
    deployer = Deployer(
        resolve_environment(),
        outputs,
        EcsService(ecs(), logs, name, name, poll_seconds=0.2),
        EcrApi(boto3.client("ecr")),
        Progress(heading=lambda _: None, summary=lambda _: None, line=lambda _: None),
        DeployOptions(tag="irreversible", bake_seconds=5),
        alarms=functools.partial(alarm_states, cloudwatch),
        iam=boto3.client("iam"),
        scheduler=boto3.client("scheduler"),
    )
    with logs_stubber, alarms_stubber, pytest.raises(DeployError) as failed:
        deployer.run()
    assert f"{names[0]} went into ALARM (5xx above 1 %)" in str(failed.value)
    assert (
        "It was not rolled back: this release applied migrations that cannot run backwards (clientes.0002_fill_emails)"
        in str(failed.value)
    )
    assert deployer.result.bake["verdict"] == "failed, not rolled back"
    assert live(name)["taskDefinition"] == deployer.result.task_definition  # the new revision still runs


def status_of(*flags: str) -> tuple[str, int]:
    """status_ecs's stdout and exit code (0 steady, 3 not: it exits with that code after printing)."""
    out = io.StringIO()
    try:
        call_command("status_ecs", *flags, stdout=out, stderr=io.StringIO())
    except SystemExit as exited:
        return out.getvalue(), exited.code
    return out.getvalue(), 0


def test_status_shows_what_runs_its_tags_counts_database_and_cost_and_exits_0_when_steady(service):
    deployed, _ = run("deploy_ecs")
    text, code = status_of("--json")
    status = json.loads(text)
    assert code == 0 and status["steady"] is True and status["not_steady_because"] == []
    assert status["url"] == service["provisioned"]["service_url"]
    assert status["image"] == deployed["image"] and "V1" in status["image_tags"]
    assert status["task_definition"] == deployed["task_definition"] == live(service["name"])["taskDefinition"]
    assert (status["desired"], status["running"], status["pending"]) == (1, 1, 0)
    assert (status["min_tasks"], status["max_tasks"]) == (1, 4)
    assert [(d["rollout_state"], d["task_definition"]) for d in status["deployments"]] == [
        ("COMPLETED", deployed["task_definition"])  # the deployment of the revision deployed, not the first one
    ]
    database = status["database"]
    assert database["status"] == "available" and database["engine"].startswith("postgres 17")
    assert (database["class"], database["storage_gb"]) == ("db.t4g.micro", 20)
    # One 0.25 vCPU / 0.5 GB task, the load balancer and its LCU, db.t4g.micro and 20 GB gp3, at PRICES.
    task = (0.25 * 0.04048 + 0.5 * 0.004445) * 730
    assert status["monthly_cost_usd"] == round(task + (0.0225 + 0.008) * 730 + 0.016 * 730 + 20 * 0.115, 2)
    assert "us-east-1 as of 2026-12-01" in status["cost_basis"]
    text, code = status_of()  # not a terminal: one `key: value` line each
    assert code == 0 and "state: steady" in text.splitlines()
    assert f"url: {status['url']}" in text and f"tags: {', '.join(status['image_tags'])}" in text
    picture = save_terminal(SCREENSHOTS / "status_ecs.svg", text, "$ python manage.py status_ecs")  # for docs/
    assert "state: steady" in picture.read_text()


def test_status_is_not_steady_during_a_rollout_says_why_and_exits_3_recorded_answers(service, monkeypatch):
    """moto reports every service as steady (one COMPLETED deployment, every task running), so the ECS client
    answers with botocore's Stubber: moto's own answers, recorded, with a rollout under way (one of two tasks)."""
    from ecr_deploy.environments import resolve_environment
    from ecr_deploy.workflows.service import Progress, service_stack
    from ecr_deploy.workflows.status import service_status

    run("deploy_ecs")
    name = service["name"]
    recorded = ecs().describe_services(cluster=name, services=[name])
    definition = ecs().describe_task_definition(taskDefinition=recorded["services"][0]["taskDefinition"])
    for answer in (recorded, definition):
        answer.pop("ResponseMetadata")
    steady = recorded["services"][0]
    rolling = {**steady["deployments"][0], "id": "ecs-svc/2", "rolloutState": "IN_PROGRESS", "runningCount": 0}
    old = {**steady["deployments"][0], "status": "ACTIVE"}
    recorded["services"][0] = {**steady, "desiredCount": 2, "pendingCount": 1, "deployments": [rolling, old]}
    family = definition["taskDefinition"]["family"]
    # What status_ecs asks next, each answer moto's: the worker's service, and the family's tasks (the schedule's).
    later = [("describe_services", ecs().describe_services(cluster=name, services=[f"{name}-worker"]))]
    arns = []
    for desired in ("RUNNING", "STOPPED"):
        listed = ecs().list_tasks(cluster=name, family=family, desiredStatus=desired)
        arns += listed["taskArns"]
        later.append(("list_tasks", listed))
    if arns:
        later.append(("describe_tasks", ecs().describe_tasks(cluster=name, tasks=arns[:100])))
    for _, answer in later:
        answer.pop("ResponseMetadata")
    client = boto3.client("ecs")
    stubber = Stubber(client)

    def record() -> None:
        stubber.add_response("describe_services", recorded)
        stubber.add_response("describe_task_definition", definition)
        for method, answer in later:
            stubber.add_response(method, answer)

    record()

    class Session:
        """A boto3 session whose ECS client is the stubbed one."""

        def __init__(self) -> None:
            self.real = boto3.Session()

        def client(self, kind: str, **options):
            return client if kind == "ecs" else self.real.client(kind, **options)

        def __getattr__(self, name: str):
            return getattr(self.real, name)

    environment = resolve_environment(None)
    stack = service_stack(environment, ROOT, boto3.Session(), "terraform", 60)
    with stubber:
        status = service_status(environment, Session(), stack, Progress(print, print, print))
    assert status.steady is False
    assert status.not_steady_because == [
        "2 deployments",
        "the rollout is not COMPLETED",
        "1 of 2 tasks running, 1 pending",
    ]
    assert [(d["id"], d["rollout_state"]) for d in status.deployments] == [
        ("ecs-svc/2", "IN_PROGRESS"),
        (steady["deployments"][0]["id"], "COMPLETED"),
    ]
    record()
    monkeypatch.setattr("ecr_deploy.aws.session.aws_session", lambda *_: Session())
    with stubber:
        text, code = status_of()
    assert code == 3
    assert "state: not steady: 2 deployments; the rollout is not COMPLETED; 1 of 2 tasks running, 1 pending" in text


def test_status_of_an_environment_never_provisioned_is_a_clear_error(service, settings):
    settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": {**service["ecr_deploy"]["ECS"], "SERVICE": "nunca-feito"}}
    with pytest.raises(CommandError, match="was never applied .* run `python manage.py provision_ecs"):
        status_of()
