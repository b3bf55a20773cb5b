"""destroy_ecs on a service of its own (the other ECS tests share theirs), provisioned against moto with real
terraform: the plan, the confirmation, what goes, what stays, and a second run that finds nothing left."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import urllib.parse
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.workflows.service import PLAIN_HTTP_WARNING
from tests.conftest import ROOT, run

pytestmark = [pytest.mark.engine]


@pytest.fixture
def published(local_aws, docker_client, project_image, tmp_path, settings) -> dict:
    """A service's repository, published, for this test alone: its settings are in place, nothing is provisioned."""
    infra = tmp_path / "infra"
    shutil.copytree(ROOT / "infra", infra, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    name = f"fim-{uuid.uuid4().hex[:8]}"
    docker_client.images.get(project_image).tag(name, "V1")
    settings.ECR_DEPLOY = {
        "TERRAFORM_DIR": str(infra),
        "REPOSITORY": name,
        "ECS": {
            "TERRAFORM_DIR": str(infra / "ecs"),
            "TIMEOUT_SECONDS": 60,
            "BAKE_SECONDS": 0,
            "TERRAFORM_VARS": {"max_tentativas": 2},
        },
    }
    run("publish_ecr")
    return {"name": name, "infra": infra}


@pytest.fixture
def doomed(published) -> dict:
    """The published service provisioned, with its RDS database, for this test alone."""
    provisioned, log = run("provision_ecs")
    return {**published, "outputs": provisioned, "log": log}


class Terminal(io.StringIO):
    """A stdin that is a terminal, where the user types text."""

    def isatty(self) -> bool:
        return True


def destroy(*flags: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("destroy_ecs", "--json", *flags, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def state_path(doomed: dict):
    return doomed["infra"] / "ecs" / "terraform.tfstate.d" / "default" / f"_ecs+{doomed['name']}.tfstate"


def state_resources(doomed: dict) -> list[str]:
    resources = json.loads(state_path(doomed).read_text())["resources"]
    return sorted(f"{r['type']}.{r['name']}" for r in resources if r["mode"] == "managed")


def rebuilt_group(doomed: dict) -> str:
    """The id of the tasks' security group that the state holds now."""
    resources = json.loads(state_path(doomed).read_text())["resources"]
    (group,) = [r for r in resources if r["type"] == "aws_security_group" and r["name"] == "servico"]
    return group["instances"][0]["attributes"]["id"]


def secret_opens_the_database(name: str) -> bool:
    """The user and password of the secret SERVICE/database open the database on the PostgreSQL that stands in for
    its RDS endpoint."""
    import psycopg

    user = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=f"{name}/database")["SecretString"])
    local = urllib.parse.urlsplit(os.environ["LOCAL_AWS_DATABASE_URL"])
    (instance,) = boto3.client("rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
    with psycopg.connect(
        host=local.hostname,
        port=local.port,
        dbname=instance["DBName"],
        user=user["username"],
        password=user["password"],
        sslmode="require",
    ) as connection:
        return connection.execute("SELECT 1").fetchone() == (1,)


def aws_has(doomed: dict) -> dict:
    """What AWS holds of the service, read directly."""
    name = doomed["name"]
    rds, ec2, secrets = boto3.client("rds"), boto3.client("ec2"), boto3.client("secretsmanager")
    services = boto3.client("ecs").describe_services(cluster=name, services=[name])["services"]
    balancers = boto3.client("elbv2").describe_load_balancers()["LoadBalancers"]
    databases = rds.describe_db_instances()["DBInstances"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{name}-banco"]}])
    listed = secrets.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    ecs, elbv2 = boto3.client("ecs"), boto3.client("elbv2")
    return {
        "cluster": [c["status"] for c in ecs.describe_clusters(clusters=[name])["clusters"]],
        "target_groups": [
            g["TargetGroupName"]
            for g in elbv2.describe_target_groups()["TargetGroups"]
            if g["TargetGroupName"].startswith(name)
        ],
        "task_definitions": ecs.list_task_definitions(familyPrefix=name, status="ACTIVE")["taskDefinitionArns"],
        "service": [s["status"] for s in services],
        "load_balancer": [b["LoadBalancerName"] for b in balancers if b["LoadBalancerName"].startswith(name)],
        "database": [d["DBInstanceStatus"] for d in databases if d["DBInstanceIdentifier"] == name],
        "snapshots": sorted(
            s["DBSnapshotIdentifier"]
            for s in rds.describe_db_snapshots(DBInstanceIdentifier=name)["DBSnapshots"]
            if s["SnapshotType"] == "manual" or "-final-" in s["DBSnapshotIdentifier"]
        ),
        "database_group_rules": [g["IpPermissions"] for g in groups["SecurityGroups"]],
        "secrets": {s["Name"]: "DeletedDate" in s for s in listed if s["Name"].startswith(f"{name}/")},
        "repository": [
            r["repositoryName"]
            for r in boto3.client("ecr").describe_repositories()["repositories"]
            if r["repositoryName"] == name
        ],
    }


@pytest.mark.xdist_group("destroy-keep")  # each destroy test on a worker of its own: they wait on the provider
def test_destroy_asks_keeps_the_database_after_a_snapshot_finds_nothing_left_then_provision_takes_it_back(
    doomed, monkeypatch
):
    name = doomed["name"]
    before, resources = aws_has(doomed), state_resources(doomed)
    assert before["database"] == ["available"] and before["service"] == ["ACTIVE"]
    # Without DOMAINS: plain HTTP on the load balancer's own name, said once; port 80 forwards to the tasks.
    assert doomed["outputs"]["https"] is False and doomed["outputs"]["service_url"].startswith("http://")
    assert doomed["log"].count(PLAIN_HTTP_WARNING) == 1
    elbv2 = boto3.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=[before["load_balancer"][0]])["LoadBalancers"][0]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert (listener["Port"], listener["DefaultActions"][0]["Type"]) == (80, "forward")
    protection = elbv2.describe_load_balancer_attributes(LoadBalancerArn=balancer["LoadBalancerArn"])["Attributes"]
    assert {"Key": "deletion_protection.enabled", "Value": "true"} in protection  # destroy_ecs turns it off
    listeners = [
        listener["ListenerArn"]
        for listener in boto3.client("elbv2").describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])[
            "Listeners"
        ]
    ]
    assert before["target_groups"] and before["task_definitions"] and before["cluster"] == ["ACTIVE"]
    # No terminal and no --yes; then a terminal where the wrong name is typed: nothing changes.
    with pytest.raises(CommandError, match="asks for confirmation on a terminal; with none, pass --yes"):
        destroy()
    monkeypatch.setattr("sys.stdin", Terminal("clientes\n"))
    with pytest.raises(CommandError, match="not the service's name; nothing was changed"):
        destroy()
    assert aws_has(doomed) == before and state_resources(doomed) == resources

    monkeypatch.setattr("sys.stdin", Terminal(f"{name}\n"))
    plan, log = destroy()
    assert f"Type the service's name ({name}) to destroy it:" in log
    assert "destroy  aws_ecs_service.app" in log and "destroy  aws_lb.app" in log
    assert f"keep     the database {name} (db.t4g.micro, 20 GB; about USD 13.98 a month)" in log
    assert plan["monthly_cost_usd"] > plan["kept_monthly_cost_usd"] == 13.98
    assert f"turned off the deletion protection of the load balancer {balancer['LoadBalancerName']}" in plan["done"]
    snapshot = plan["database"]["snapshot"]
    assert re.fullmatch(rf"{name}-final-\d{{8}}-\d{{6}}", snapshot)
    after = aws_has(doomed)
    assert after["service"] in ([], ["INACTIVE"]) and after["cluster"] in ([], ["INACTIVE"])
    assert after["load_balancer"] == after["target_groups"] == after["task_definitions"] == []
    with pytest.raises(Exception, match="ListenerNotFound"):
        boto3.client("elbv2").describe_listeners(ListenerArns=listeners)
    assert after["database"] == ["available"] and snapshot in after["snapshots"]
    assert after["database_group_rules"] == [[]]  # kept, but no longer open to the tasks that are gone
    assert after["secrets"] == {f"{name}/DJANGO_SECRET_KEY": True, f"{name}/database": False}
    assert f"{name}/DJANGO_SECRET_KEY" in " ".join(plan["done"]) and "7-day recovery window" in " ".join(plan["done"])
    assert after["repository"] == [name] and state_resources(doomed) == []

    again, log = destroy("--yes")
    assert again["destroy"] == [] and f"Nothing left to destroy of {name}" in log
    assert f"keep     the database {name}" in log and aws_has(doomed) == after

    # provision_ecs takes the kept database back (imported: it carries this environment's tags), and the secret
    # key that was scheduled for deletion (restored: its name cannot be used again until the window ends).
    _, log = run("provision_ecs")
    assert f"Secrets Manager: {name}/DJANGO_SECRET_KEY was scheduled for deletion; restored" in log
    assert f"Terraform: {name} is there with this environment's tags; importing it as aws_db_instance.banco[0]." in log
    assert secret_opens_the_database(name)  # the password was set in the database and its secret by one apply
    back = aws_has(doomed)
    assert back["database"] == ["available"] and back["service"] == ["ACTIVE"]
    assert back["secrets"] == {f"{name}/DJANGO_SECRET_KEY": False, f"{name}/database": False}
    tasks_group = rebuilt_group(doomed)
    assert [pair["GroupId"] for rule in back["database_group_rules"][0] for pair in rule["UserIdGroupPairs"]] == [
        tasks_group
    ]
    with pytest.raises(CommandError, match=f"The database {name} exists: --from-snapshot only makes a new one"):
        run("provision_ecs", "--from-snapshot", snapshot)
    destroy("--yes", "--delete-database", "--with-repository", "--delete-images")  # leave the local AWS as found
    assert aws_has(doomed)["database"] == [] and state_resources(doomed) == []


@pytest.mark.xdist_group("destroy-delete")
def one_off_left_running(name: str) -> str:
    """A one-off task of the service's revision, started as run_ecs starts one, and left running (the local AWS
    keeps it so: tasks that moto runs stop at once)."""
    asks = Path(os.environ["LOCAL_AWS_FAULTS"]) / "keep-task-running"
    asks.mkdir(parents=True, exist_ok=True)
    (asks / name).touch()
    ecs = boto3.client("ecs")
    service = ecs.describe_services(cluster=name, services=[name])["services"][0]
    return ecs.run_task(
        cluster=name,
        taskDefinition=service["taskDefinition"],
        launchType="FARGATE",
        startedBy="ecr_deploy",
        networkConfiguration=service["networkConfiguration"],
    )["tasks"][0]["taskArn"]


def test_destroy_deletes_the_database_after_a_final_snapshot_and_the_repository(
    doomed,
):
    name = doomed["name"]
    run("deploy_ecs")  # a revision of deploy_ecs's, outside Terraform
    left_running = one_off_left_running(name)  # a `run_ecs` whose terminal was closed: AWS keeps a cluster with tasks
    before = aws_has(doomed)
    assert len(before["task_definitions"]) == 2
    with pytest.raises(CommandError, match=rf"The ECR repository {name} holds 1 image\(s\): add --delete-images"):
        destroy("--yes", "--delete-database", "--with-repository")
    assert aws_has(doomed) == before

    last, log = destroy("--yes", "--delete-database", "--with-repository", "--delete-images")
    assert f"stop     the one-off task {left_running}, still running" in log
    assert f"stopped 1 one-off task(s) still running: {left_running}" in last["done"]
    (Path(os.environ["LOCAL_AWS_FAULTS"]) / "keep-task-running" / name).unlink()
    assert f"delete   the database {name}, after a snapshot {last['database']['snapshot']}" in log
    assert f"delete   the ECR repository {name} and its 1 images" in log and last["kept_monthly_cost_usd"] == 0
    gone = aws_has(doomed)
    assert f"deregistered the 1 other revision(s) of {name}" in last["done"] and gone["task_definitions"] == []
    assert gone["database"] == [] and last["database"]["snapshot"] in gone["snapshots"]
    assert gone["database_group_rules"] == [] and gone["repository"] == [] and gone["load_balancer"] == []
    assert gone["secrets"] == {f"{name}/DJANGO_SECRET_KEY": True, f"{name}/database": True}
    with pytest.raises(Exception, match="DBSubnetGroupNotFound"):
        boto3.client("rds").describe_db_subnet_groups(DBSubnetGroupName=name)
    final, log = destroy("--yes")
    assert final["database"] is None and f"Nothing left to destroy of {name}" in log
    snapshot = boto3.client("rds").describe_db_snapshots(DBSnapshotIdentifier=last["database"]["snapshot"])
    assert snapshot["DBSnapshots"][0]["Status"] == "available"  # what the next test builds a service from


@pytest.mark.xdist_group("destroy-rebuild")
def test_provision_from_a_snapshot_makes_a_new_database_from_it_with_a_new_password(published):
    """As after destroy --delete-database (above): the database is gone, its snapshot stays. Here the database
    that the snapshot was taken of is made and deleted directly, so that this test need not wait for a
    provision and a destroy first; it is another service's, with its own database and master user, which the
    restored instance keeps and the secret must name."""
    name, rds = published["name"], boto3.client("rds")
    database, snapshot_name = f"outro_{uuid.uuid4().hex[:6]}", f"{name}-final-20260101-000000"
    source = {
        "DBInstanceIdentifier": name,
        "Engine": "postgres",
        "EngineVersion": "17",
        "DBInstanceClass": "db.t4g.micro",
        "AllocatedStorage": 20,
        "StorageEncrypted": True,
        "DBName": database,
        "MasterUsername": database,
        "MasterUserPassword": uuid.uuid4().hex,
    }
    rds.create_db_instance(**source)
    rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=snapshot_name)
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)

    with pytest.raises(CommandError, match="No DB snapshot nunca-tirado"):
        run("provision_ecs", "--from-snapshot", "nunca-tirado")
    unencrypted, old = f"{name}-sem-cifra", f"{name}-velho"  # a snapshot of an instance made unencrypted
    rds.create_db_instance(
        **{
            **source,
            "DBInstanceIdentifier": old,
            "StorageEncrypted": False,
            "DBName": "velho",
            "MasterUsername": "velho",
        }
    )
    rds.create_db_snapshot(DBInstanceIdentifier=old, DBSnapshotIdentifier=unencrypted)
    rds.delete_db_instance(DBInstanceIdentifier=old, SkipFinalSnapshot=True)
    with pytest.raises(CommandError, match=rf"The DB snapshot {unencrypted} is not encrypted.*copy-db-snapshot"):
        run("provision_ecs", "--from-snapshot", unencrypted)
    assert not state_path(published).exists()
    run("provision_ecs", "--from-snapshot", snapshot_name)
    restored = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert restored["DBInstanceStatus"] == "available" and secret_opens_the_database(name)
    assert (restored["MasterUsername"], restored["DBName"]) == (database, database)
    again, log = run("provision_ecs", "--plan", "--force-terraform", "--verbosity=2")  # the names it kept, as they are
    assert again["terraform_changes"] is False, log
    state = json.loads(state_path(published).read_text())
    (instance,) = [r for r in state["resources"] if r["type"] == "aws_db_instance"]
    assert instance["instances"][0]["attributes"]["snapshot_identifier"] == snapshot_name
    destroy("--yes", "--delete-database", "--with-repository", "--delete-images")  # leave the local AWS as found
    assert aws_has(published)["database"] == [] and state_resources(published) == []


def test_delete_images_without_with_repository_is_refused():
    with pytest.raises(CommandError, match="add --with-repository"):
        call_command("destroy_ecs", "--delete-images", stdout=io.StringIO(), stderr=io.StringIO())
