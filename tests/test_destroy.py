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
def published(local_aws, docker_client, project_image, tmp_path, settings, request) -> dict:
    """A service's repository, published, for this test alone: its settings are in place (with the test's
    ecs_settings), nothing is provisioned."""
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
            **(marker.kwargs if (marker := request.node.get_closest_marker("ecs_settings")) else {}),
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


def applied_state_text(doomed: dict) -> str:
    return state_path(doomed).read_text()


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
        "storage": stored_files(name),
        "config": sorted(
            p["Name"]
            for p in boto3.client("ssm").describe_parameters(
                ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [f"/ecr_deploy/{name}"]}]
            )["Parameters"]
        ),
    }


def stored_files(name: str) -> dict[str, list[str]]:
    """The service's storage buckets, each with the keys of its current files."""
    s3 = boto3.client("s3")
    buckets = [
        b["Name"] for b in s3.list_buckets()["Buckets"] if re.fullmatch(rf"{name}-.*arquivos-\d{{12}}", b["Name"])
    ]
    return {
        bucket: sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
        for bucket in buckets
    }


@pytest.mark.xdist_group("destroy-keep")  # each destroy test on a worker of its own: they wait on the provider
@pytest.mark.ecs_settings(STORAGE={"MEDIA": True})
def test_destroy_asks_keeps_the_database_after_a_snapshot_finds_nothing_left_then_provision_takes_it_back(
    doomed, monkeypatch
):
    """... and keeps the storage bucket with its files (provision takes it back too), and removes the service's
    config_ecs variables."""
    name = doomed["name"]
    bucket = json.loads(state_path(doomed).read_text())["outputs"]["armazenamento"]["value"]["bucket"]
    boto3.client("s3").put_object(Bucket=bucket, Key="media/avatar.png", Body=b"an upload")
    call_command("config_ecs", "set", "DJANGO_ADMIN_URL=gestao/", stdout=io.StringIO())
    before, resources = aws_has(doomed), state_resources(doomed)
    assert before["storage"] == {bucket: ["media/avatar.png"]}
    assert before["config"] == [f"/ecr_deploy/{name}/default/DJANGO_ADMIN_URL"]
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
    assert f"keep     the storage bucket {bucket} and its 1 files (0.0 MB; S3 bills them by the GB" in log
    assert f"delete   the config_ecs variables under /ecr_deploy/{name}/default/: DJANGO_ADMIN_URL" in log
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
    assert after["storage"] == before["storage"] and after["config"] == []
    tags = boto3.client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {"Key": "ecr_deploy:environment", "Value": "default"} in tags  # what provision_ecs takes it back by

    again, log = destroy("--yes")
    assert again["destroy"] == [] and f"Nothing left to destroy of {name}" in log
    assert f"keep     the database {name}" in log and aws_has(doomed) == after

    # provision_ecs takes the kept database back (imported: it carries this environment's tags), and the secret
    # key that was scheduled for deletion (restored: its name cannot be used again until the window ends).
    _, log = run("provision_ecs")
    assert f"Secrets Manager: {name}/DJANGO_SECRET_KEY was scheduled for deletion; restored" in log
    assert f"Terraform: {name} is there with this environment's tags; importing it as aws_db_instance.banco[0]." in log
    assert (
        f"Terraform: {bucket} is there with this environment's tags; importing it as aws_s3_bucket.arquivos[0]." in log
    )
    assert aws_has(doomed)["storage"] == before["storage"]
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
    last, log = destroy("--yes", "--delete-database", "--delete-storage", "--with-repository", "--delete-images")
    assert f"delete   the storage bucket {bucket}, its 1 files and every old version of them" in log
    assert f"deleted the storage bucket {bucket} and its 1 file versions" in last["done"]
    gone = aws_has(doomed)  # the local AWS as it was found
    assert gone["database"] == [] and gone["storage"] == {} and state_resources(doomed) == []


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


#: A project of the tests' own in cookiecutter-django's S3 variant, and the settings lines that init printed for it.
S3_PROJECT_SETTINGS = {
    "DATABASE_VARIABLES": "url",
    "VARIABLES": {
        "AWS_S3_REGION_NAME": "DJANGO_AWS_S3_REGION_NAME",
        "AWS_ACCESS_KEY_ID": "DJANGO_AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY": "DJANGO_AWS_SECRET_ACCESS_KEY",
    },
    "STORAGE": {"MEDIA": True, "STATIC": True, "BUCKET_VARIABLE": "DJANGO_AWS_STORAGE_BUCKET_NAME"},
}
#: Run in a task of the project's image: what its settings read, then each line of stdin as a file to save (NAME
#: CONTENT) or to read back (NAME).
TASK_SCRIPT = """
import os, sys
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
print("admin", settings.ADMIN_URL, "mailgun", settings.ANYMAIL["MAILGUN_API_KEY"], "bucket", settings.AWS_STORAGE_BUCKET_NAME)
for line in sys.argv[1:]:
    name, _, content = line.partition("=")
    if content:
        print("saved", default_storage.save(name, ContentFile(content.encode())))
    else:
        print("read", default_storage.open(name).read().decode())
"""


def bucket_guards(bucket: str) -> dict:
    """How the storage bucket is kept, as S3 describes it."""
    s3 = boto3.client("s3")
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    (policy,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    return {
        "public_access_block": s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
        "ownership": s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0][
            "ObjectOwnership"
        ],
        "encryption": encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "versioning": s3.get_bucket_versioning(Bucket=bucket)["Status"],
        "old_versions_days": rule["NoncurrentVersionExpiration"]["NoncurrentDays"],
        "plain_http": policy["Effect"] if policy["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} else None,
    }


def in_task(docker_client, revision: str, *arguments: str) -> str:
    """TASK_SCRIPT run locally as a one-off task of the revision: its output."""
    from ecr_deploy.workflows.local_run import run_one_off_locally

    definition = boto3.client("ecs").describe_task_definition(taskDefinition=revision)["taskDefinition"]
    command = ["python", "manage.py", "shell", "-c", TASK_SCRIPT.replace("sys.argv[1:]", repr(list(arguments)))]
    code, output = run_one_off_locally(docker_client, boto3.Session(), definition, "app", command)
    assert code == 0, output
    return output


def s3_project_image(tmp_path: Path, wheel: Path, tag: str) -> None:
    """The S3 project initialised by ecr_deploy_init from a wheel in its dist/, and built as tag."""
    from tests.test_any_project import run as run_in_project
    from tests.test_any_project import shipped_in
    from tests.test_project_shapes import COOKIECUTTER_S3, make

    project = make(tmp_path / "vitrine", COOKIECUTTER_S3)
    python = shipped_in(project, wheel, tmp_path / "venv")
    developer = {"DATABASE_URL": "sqlite:///dev.sqlite3"}  # what local settings read, as the developer's shell has
    said = run_in_project(python, project, "ecr_deploy_init", "--ecs", env=developer).stdout
    stored = S3_PROJECT_SETTINGS["STORAGE"]
    assert f'"STORAGE": {{{", ".join(f"{json.dumps(k)}: {v!r}" for k, v in stored.items())}}}'.replace("'", '"') in said
    run_in_project(python, project, "build_image", "--tag", tag, env=developer)


@pytest.mark.xdist_group("destroy-delete")
@pytest.mark.ecs_settings(**S3_PROJECT_SETTINGS)
def test_a_projects_uploads_and_static_files_live_in_its_bucket_across_revisions_then_destroy_deletes_it_all(
    doomed, wheel, docker_client, tmp_path, monkeypatch, settings
):
    """The S3 project deployed with its configuration from config_ecs: collectstatic and an upload reach the bucket
    from a task of one revision, another revision reads the upload back; the bucket's name and region reach the
    tasks by their variables, the task role signs (no key, no endpoint in any revision); no value is in a state, an
    output or a revision. Then destroy_ecs deletes the database, the bucket, the configuration and the repository."""
    name, ecs = doomed["name"], boto3.client("ecs")
    s3_project_image(tmp_path, wheel, f"{name}:V2")
    settings.ECR_DEPLOY = {**settings.ECR_DEPLOY, "TAG": "V2"}  # the project's release, after the course's V1
    run("publish_ecr")
    said = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO("key-of-mailgun-0123\n"))
    call_command("config_ecs", "set", "DJANGO_ADMIN_URL=gestao/", "MAILGUN_DOMAIN=mg.example.test", stdout=said)
    call_command("config_ecs", "set", "--secret", "MAILGUN_API_KEY", stdout=said)
    bucket = json.loads(state_path(doomed).read_text())["outputs"]["armazenamento"]["value"]["bucket"]
    assert bucket_guards(bucket) == {
        "public_access_block": dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ),
        "ownership": "BucketOwnerEnforced",
        "encryption": "AES256",
        "versioning": "Enabled",
        "old_versions_days": 30,
        "plain_http": "Deny",
    }
    iam = boto3.client("iam")
    role = f"{name}-{boto3.Session().region_name}-tarefa"
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["arquivos"]  # the task role: this and no more
    granted = iam.get_role_policy(RoleName=role, PolicyName="arquivos")["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"]) for s in granted] == [
        (["s3:ListBucket"], [f"arn:aws:s3:::{bucket}"]),
        (["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{bucket}/*"]),
    ]
    with pytest.raises(CommandError, match="DJANGO_AWS_STORAGE_BUCKET_NAME is set by deploy_ecs itself"):
        call_command("config_ecs", "set", f"DJANGO_AWS_STORAGE_BUCKET_NAME={bucket}", stdout=said)

    first, first_log = run("deploy_ecs")
    assert "Collectstatic: `python manage.py collectstatic --noinput` as a one-off task" in first_log
    assert first["static_collected"] is True
    definition = ecs.describe_task_definition(taskDefinition=first["task_definition"])["taskDefinition"]
    (container,) = definition["containerDefinitions"]
    environment = {item["name"]: item["value"] for item in container["environment"]}
    region = boto3.Session().region_name
    assert environment["DJANGO_AWS_STORAGE_BUCKET_NAME"] == bucket
    assert environment["DJANGO_AWS_S3_REGION_NAME"] == environment["AWS_S3_REGION_NAME"] == region
    assert environment["DJANGO_AWS_ACCESS_KEY_ID"] == environment["DJANGO_AWS_SECRET_ACCESS_KEY"] == ""
    written = json.dumps(definition, default=str)
    endpoint = urllib.parse.urlsplit(os.environ["AWS_ENDPOINT_URL"]).netloc  # the local AWS's: never in a revision
    assert "AWS_ENDPOINT_URL" not in written and endpoint not in written and '"AWS_ACCESS_KEY_ID"' not in written

    collected = in_task(docker_client, first["task_definition"])
    assert f"admin gestao/ mailgun key-of-mailgun-0123 bucket {bucket}" in collected  # as the execution role reads
    from ecr_deploy.workflows.local_run import run_one_off_locally

    code, log = run_one_off_locally(
        docker_client, boto3.Session(), definition, "app", ["python", "manage.py", "collectstatic", "--noinput"]
    )
    assert code == 0, log
    uploaded = in_task(docker_client, first["task_definition"], "avatars/ana.txt=uploaded by revision one")
    assert "saved avatars/ana.txt" in uploaded
    files = stored_files(name)[bucket]
    assert "media/avatars/ana.txt" in files and "static/shop.css" in files

    # A new value, deployed at once: another revision, which reads the upload back.
    call_command("config_ecs", "set", "DJANGO_ADMIN_URL=painel/", "--deploy", stdout=said)
    second = ecs.describe_services(cluster=name, services=[name])["services"][0]["taskDefinition"]
    assert second != first["task_definition"] and "Configuration: changed since" in said.getvalue()
    read_back = in_task(docker_client, second, "avatars/ana.txt")
    assert "admin painel/" in read_back and "read uploaded by revision one" in read_back

    call_command("config_ecs", "set", "SENTRY_ENVIRONMENT=prod", stdout=said)
    status = io.StringIO()
    call_command("status_ecs", stdout=status, stderr=io.StringIO())
    shown = status.getvalue()
    assert re.search(rf"storage: s3://{bucket}, {len(files)} files, \d+\.\d MB", shown), shown
    assert "config: SENTRY_ENVIRONMENT set, not deployed" in shown
    planned, plan_log = run("deploy_ecs", "--plan")
    assert planned["configuration_pending"] == ["SENTRY_ENVIRONMENT set, not deployed"]
    everything = applied_state_text(doomed) + first_log + plan_log + said.getvalue() + shown + json.dumps(first)
    assert "key-of-mailgun-0123" not in everything

    left_running = one_off_left_running(name)  # a `run_ecs` whose terminal was closed: AWS keeps a cluster with tasks
    before = aws_has(doomed)
    assert len(before["task_definitions"]) == 3
    with pytest.raises(CommandError, match=rf"The ECR repository {name} holds 2 image\(s\): add --delete-images"):
        destroy("--yes", "--delete-database", "--with-repository")
    assert aws_has(doomed) == before

    last, log = destroy("--yes", "--delete-database", "--delete-storage", "--with-repository", "--delete-images")
    assert f"stop     the one-off task {left_running}, still running" in log
    assert f"deleted the storage bucket {bucket} and its" in " ".join(last["done"])
    assert f"stopped 1 one-off task(s) still running: {left_running}" in last["done"]
    (Path(os.environ["LOCAL_AWS_FAULTS"]) / "keep-task-running" / name).unlink()
    assert f"delete   the database {name}, after a snapshot {last['database']['snapshot']}" in log
    assert f"delete   the ECR repository {name} and its 2 images" in log and last["kept_monthly_cost_usd"] == 0
    gone = aws_has(doomed)
    assert f"deregistered the 2 other revision(s) of {name}" in last["done"] and gone["task_definitions"] == []
    assert gone["storage"] == {} and gone["config"] == []
    assert gone["database"] == [] and last["database"]["snapshot"] in gone["snapshots"]
    assert gone["database_group_rules"] == [] and gone["repository"] == [] and gone["load_balancer"] == []
    assert gone["secrets"] == {
        f"{name}/DJANGO_SECRET_KEY": True,
        f"{name}/database": True,
        f"{name}/DATABASE_URL": True,
    }
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
