"""provision_ecs run again on a provisioned service (a service of their own, shared by these tests: see
SHARED_SERVICES in conftest.py, so that their minutes of terraform run beside the deploy tests): a resource found
already there, plans that the guards refuse, a setting that the provider refuses, another image."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import applied_state, run, state_file
from tests.test_deploy_ecs import publish_new_image, snapshot

pytestmark = [
    pytest.mark.engine,
    pytest.mark.xdist_group("ecs-again"),
    pytest.mark.usefixtures("one_service_test_at_a_time"),
]


def test_a_resource_that_the_apply_finds_already_there_is_imported_only_with_this_environments_tags(service):
    """As after an apply interrupted before it wrote the state, or a create whose answer was lost: the log group
    exists, and the state does not hold it. Untagged, it may be another stack's: refused. With this environment's
    tags, it is imported and the apply converges in the same run."""
    group, address = f"/ecs/{service['name']}", "aws_cloudwatch_log_group.app"
    logs = boto3.client("logs")
    tags = logs.list_tags_log_group(logGroupName=group)["tags"]
    assert {"ecr_deploy:project", "ecr_deploy:environment"} <= tags.keys()
    forget_in_state(service, address)
    logs.untag_log_group(logGroupName=group, tags=list(tags))
    try:
        with pytest.raises(CommandError) as refused:
            run("provision_ecs")
        assert f"found {address} ({group}) already there, without this project's tags" in str(refused.value)
        assert address not in managed(service)
    finally:
        logs.tag_log_group(logGroupName=group, tags=tags)
    provisioned, log = run("provision_ecs")
    assert f"found {address} ({group}) already there, with this environment's tags; importing it" in log
    assert address in managed(service) and provisioned["service_url"] == service["provisioned"]["service_url"]


def test_security_groups_whose_rules_a_lost_answer_had_changed_are_kept_and_the_apply_goes_on(service, local_aws):
    """This service was provisioned through two lost answers (LOST_RULE_ANSWERS in conftest.py): moto added the
    database group's rule, and removed the load balancer group's default egress, each time answering 500; the
    provider's retries got InvalidPermission.Duplicate and InvalidPermission.NotFound. The run kept both groups (a
    failed create taints them), applied again and converged: each group's rules as declared, none tainted in the
    state, and nothing left to do."""
    faults = Path(local_aws["LOCAL_AWS_FAULTS"])
    state = {r["name"]: r for r in json.loads(applied_state(service))["resources"] if r["type"] == "aws_security_group"}
    rules = {}
    for fault, suffix in (("lose-authorize-answer", "banco"), ("lose-revoke-answer", "alb")):
        group, address = f"{service['name']}-{suffix}", f"aws_security_group.{suffix}"
        assert not (faults / fault / group).exists() and not (faults / fault / f"{group}.held").exists()  # played
        recovered = f"a rule of {address}{'[0]' if suffix == 'banco' else ''} was already as asked (an answer lost"
        assert recovered in service["provision_log"]
        ec2 = boto3.client("ec2")
        (described,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group]}])[
            "SecurityGroups"
        ]
        (instance,) = state[suffix]["instances"]
        assert instance.get("status") != "tainted" and instance["attributes"]["id"] == described["GroupId"]
        rules[suffix] = described
    assert [(rule["FromPort"], rule["ToPort"]) for rule in rules["banco"]["IpPermissions"]] == [(5432, 5432)]
    assert [(rule["IpProtocol"], rule["FromPort"]) for rule in rules["alb"]["IpPermissionsEgress"]] == [("tcp", 8000)]
    assert service["second_plan"]["terraform_changes"] is False


def forget_in_state(service: dict, address: str) -> None:
    """The state without the resource at address (type.name), as terraform would have written it before that
    resource's create was recorded."""
    document = json.loads(applied_state(service))
    kind, name = address.split(".")
    document["resources"] = [r for r in document["resources"] if (r["type"], r["name"]) != (kind, name)]
    document["serial"] += 1
    state_file(service).write_text(json.dumps(document, indent=2))


def managed(service: dict) -> set[str]:
    return {
        f"{r['type']}.{r['name']}" for r in json.loads(applied_state(service))["resources"] if r["mode"] == "managed"
    }


def test_a_plan_that_would_replace_or_destroy_the_database_is_refused(service, settings):
    name, ecs_settings = service["name"], service["ecr_deploy"]["ECS"]
    before = applied_state(service), snapshot(name)
    replacing = {**ecs_settings, "TERRAFORM_VARS": {**ecs_settings["TERRAFORM_VARS"], "banco_criptografado": False}}
    dropping = {
        **ecs_settings,
        "DATABASE": "none",
        "TERRAFORM_VARS": {**ecs_settings["TERRAFORM_VARS"], "tarefas_max": 1},
    }
    # Dropping the database would destroy its secret too; terraform names the guarded resources it stopped at.
    for changed, guarded in ((replacing, r"aws_db_instance"), (dropping, r"aws_(db_instance|secretsmanager_secret)")):
        settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": changed}
        with pytest.raises(CommandError, match=rf"would destroy or replace .*{guarded}\.banco\[0\].*--allow-destroy"):
            call_command("provision_ecs", stdout=io.StringIO(), stderr=io.StringIO())
    assert (applied_state(service), snapshot(name)) == before
    assert boto3.client("rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["StorageEncrypted"]


def test_a_database_setting_that_the_provider_refuses_gives_terraforms_own_message(service, settings):
    name, ecs_settings = service["name"], service["ecr_deploy"]["ECS"]
    before = applied_state(service), snapshot(name)
    refused = {**ecs_settings, "TERRAFORM_VARS": {**ecs_settings["TERRAFORM_VARS"], "banco_backup_dias": 40}}
    settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": refused}
    with pytest.raises(
        CommandError, match=r"expected backup_retention_period to be in the range \(0 - 35\), got 40"
    ) as failed:
        call_command("provision_ecs", stdout=io.StringIO(), stderr=io.StringIO())
    assert failed.value.returncode == 1
    assert (applied_state(service), snapshot(name)) == before


def test_provisioning_again_with_another_image_never_touches_the_running_revision(service, docker_client):
    publish_new_image(docker_client, service, "reprovision")
    before = snapshot(service["name"])
    again, _ = run("provision_ecs", "--tag", "reprovision")
    assert again["skipped"] == [] and again["terraform_changes"] is False  # terraform ran, and changed nothing
    assert snapshot(service["name"]) == before


def test_a_repository_path_longer_than_a_service_name_provisions_and_deploys_under_names_aws_accepts(service):
    """Its 26 first characters end with a hyphen, which AWS refuses at the end of a load balancer's and a target
    group's name (after the plan, leaving what it had made): the derived name drops it, and nothing is half-made."""
    name, repository = service["name"], service["repository"]
    assert repository.endswith("/acme12/api-v2") and name == repository.split("/")[0] + "-acme12"
    assert boto3.client("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]["State"]["Code"] == "active"
    assert boto3.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    assert boto3.client("rds").describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
    # container_insights, an option, left off: no process of this service scales on a queue.
    (cluster,) = boto3.client("ecs").describe_clusters(clusters=[name], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "disabled"} in cluster["settings"]
    deployed, _ = run("deploy_ecs")
    assert deployed["rollout_state"] == "COMPLETED" and deployed["service"] == name


def test_settings_that_read_database_url_get_the_rds_database_as_a_secret_that_no_state_holds(service, docker_client):
    """DATABASE_VARIABLES 'url': provision_ecs puts the database's URL into a secret of its own through the API,
    the tasks read it by ARN, and the revision run locally serves the API from it; SECRET_KEY (VARIABLES) is
    Terraform's DJANGO_SECRET_KEY under the project's name, and plain HTTP turns the HTTPS redirect off."""
    from ecr_deploy.workflows.local_run import run_task_definition_locally
    from tests.test_deploy_ecs import answer, prepare_database, running_definition, serving_port

    run("deploy_ecs")
    definition = running_definition(service)
    (container,) = definition["containerDefinitions"]
    secrets_by_name = {item["name"]: item["valueFrom"] for item in container["secrets"]}
    environment = {item["name"]: item["value"] for item in container["environment"]}
    url_arn = secrets_by_name["DATABASE_URL"]
    assert url_arn.split(":secret:")[1].startswith(f"{service['name']}/DATABASE_URL-")
    assert secrets_by_name["SECRET_KEY"] == secrets_by_name["DJANGO_SECRET_KEY"]
    assert not {"DATABASE_HOST", "DATABASE_USER", "DATABASE_PASSWORD"} & (secrets_by_name.keys() | environment.keys())
    assert environment["DJANGO_SECURE_SSL_REDIRECT"] == "0"
    url = boto3.client("secretsmanager").get_secret_value(SecretId=url_arn)["SecretString"]
    password = url.split("@")[0].rsplit(":", 1)[1]
    assert url.startswith("postgres://") and url.endswith("?sslmode=require") and len(password) >= 20
    assert password not in applied_state(service) and url not in applied_state(service)
    prepare_database(docker_client, definition)
    served = run_task_definition_locally(docker_client, boto3.Session(), definition, "app")
    try:
        host = service["provisioned"]["service_url"].split("/")[2]
        code, _, body = answer(serving_port(served), "/clientes/", host, headers={"Accept": "application/json"})
        assert code == 200 and json.loads(body)["count"] > 0
    finally:
        served.remove(force=True)


def test_in_a_vpc_with_two_subnets_in_one_zone_the_load_balancer_gets_one_per_zone_a_public_one(service):
    """A usual VPC has a public and a private subnet per zone; AWS refuses a load balancer on two of one zone."""
    (balancer,) = boto3.client("elbv2").describe_load_balancers(Names=[service["name"]])["LoadBalancers"]
    subnets = service["vpc"]["subnets"]
    assert sorted(zone["SubnetId"] for zone in balancer["AvailabilityZones"]) == sorted(
        [subnets["public_a"], subnets["public_b"]]
    )
    assert balancer["VpcId"] == service["vpc"]["vpc_id"]


def test_a_new_cpu_and_memory_reach_the_running_revision_at_the_next_deploy(service, settings):
    """Terraform owns a revision's shape, deploy_ecs its image, environment and secrets: the size set in
    TERRAFORM_VARS is registered by provision_ecs (which says it reaches the service at the next deploy), shown by
    deploy_ecs --plan, and run after deploy_ecs. The service's own size is put back at the end."""
    name, ecs_settings = service["name"], service["ecr_deploy"]["ECS"]
    ecs = boto3.client("ecs")
    larger = {**ecs_settings, "TERRAFORM_VARS": {**ecs_settings["TERRAFORM_VARS"], "cpu": 512, "memoria": 1024}}
    settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": larger}
    try:
        provisioned, log = run("provision_ecs")
        assert provisioned["terraform_changes"] is True
        assert "(a new cpu, memory, port, health check, logs or roles); it reaches the service at the next" in log
        planned, _ = run("deploy_ecs", "--plan")
        assert '-  "cpu": "256"' in planned["diff"] and '+  "cpu": "512"' in planned["diff"]
        deployed, _ = run("deploy_ecs")
        running = ecs.describe_task_definition(taskDefinition=deployed["task_definition"])["taskDefinition"]
        assert (running["cpu"], running["memory"]) == ("512", "1024")
        assert (
            ecs.describe_services(cluster=name, services=[name])["services"][0]["taskDefinition"]
            == (deployed["task_definition"])
        )
    finally:
        settings.ECR_DEPLOY = service["ecr_deploy"]
        run("provision_ecs")
