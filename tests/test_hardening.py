"""What provision_ecs applies around the service, read back from moto: HTTPS for the domains in their hosted zone
(an ISSUED certificate, the 443 listener and its TLS policy, the 301 on port 80, ALIAS records) and the hardened
load balancer, target group, security groups, log group and cluster. The shared service of conftest is provisioned
with DOMAINS and HOSTED_ZONE; the service of tests/test_destroy.py, without them, shows the plain-HTTP side."""

from __future__ import annotations

import boto3
import pytest

from tests.conftest import ZONE, applied_outputs

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("ecs"), pytest.mark.usefixtures("one_service_test_at_a_time")]

DOMAINS = ["clientes.example.com", "www.clientes.example.com"]


def load_balancer(name: str) -> dict:
    return boto3.client("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]


def listeners(name: str) -> dict[int, dict]:
    arn = load_balancer(name)["LoadBalancerArn"]
    return {item["Port"]: item for item in boto3.client("elbv2").describe_listeners(LoadBalancerArn=arn)["Listeners"]}


def attributes(described: list[dict]) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in described}


def security_group(name: str) -> dict:
    groups = boto3.client("ec2").describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    (group,) = groups["SecurityGroups"]
    return group


def rules(group: dict, direction: str) -> list[tuple]:
    """(from port, to port, CIDRs, group ids, descriptions) of each rule of the group in that direction."""
    return sorted(
        (
            rule.get("FromPort"),
            rule.get("ToPort"),
            tuple(r["CidrIp"] for r in rule.get("IpRanges", [])),
            tuple(p["GroupId"] for p in rule.get("UserIdGroupPairs", [])),
            tuple(r.get("Description", "") for r in [*rule.get("IpRanges", []), *rule.get("UserIdGroupPairs", [])]),
        )
        for rule in group["IpPermissions" if direction == "in" else "IpPermissionsEgress"]
    )


def test_https_listens_on_443_with_the_tls13_policy_and_an_issued_certificate_for_the_domains(service):
    https = listeners(service["name"])[443]
    assert (https["Protocol"], https["SslPolicy"]) == ("HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert https["DefaultActions"][0]["Type"] == "forward"
    certificate = boto3.client("acm").describe_certificate(CertificateArn=https["Certificates"][0]["CertificateArn"])
    certificate = certificate["Certificate"]
    assert (certificate["Status"], certificate["DomainName"]) == ("ISSUED", DOMAINS[0])
    assert set(certificate["SubjectAlternativeNames"]) == set(DOMAINS)
    assert applied_outputs(service)["url"] == f"https://{DOMAINS[0]}/"


def test_port_80_answers_every_request_with_a_301_to_https(service):
    (action,) = listeners(service["name"])[80]["DefaultActions"]
    assert action["Type"] == "redirect"
    redirect = action["RedirectConfig"]
    assert (redirect["Protocol"], redirect["Port"], redirect["StatusCode"]) == ("HTTPS", "443", "HTTP_301")


def test_each_domain_is_an_alias_of_the_load_balancer_in_the_hosted_zone(service):
    route53 = boto3.client("route53")
    zone = route53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    aliases = {r["Name"].rstrip("."): r["AliasTarget"] for r in records if r["Type"] == "A" and "AliasTarget" in r}
    alb = load_balancer(service["name"])
    assert set(aliases) == set(DOMAINS)
    for target in aliases.values():
        assert target["DNSName"].rstrip(".").lower() == alb["DNSName"].lower()
        assert target["HostedZoneId"] == alb["CanonicalHostedZoneId"]
    assert any(r["Type"] == "CNAME" and r["Name"].startswith("_") for r in records)  # the certificate's validation


def test_a_second_plan_of_the_https_stack_changes_nothing(service):
    """Planned by the fixture, right after the apply: later tests deregister the revision Terraform made."""
    assert service["second_plan"]["terraform_changes"] is False, service["second_plan"]["log"]


def test_the_load_balancer_drops_invalid_headers_refuses_deletion_and_logs_to_a_private_expiring_bucket(service):
    name = service["name"]
    elbv2, s3 = boto3.client("elbv2"), boto3.client("s3")
    found = attributes(
        elbv2.describe_load_balancer_attributes(LoadBalancerArn=load_balancer(name)["LoadBalancerArn"])["Attributes"]
    )
    bucket = f"{name}-us-east-1-alb-logs-123456789012"  # the region in the global names of a new service
    assert found["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert found["deletion_protection.enabled"] == "true"
    assert (found["access_logs.s3.enabled"], found["access_logs.s3.bucket"]) == ("true", bucket)
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert (rule["Status"], rule["Expiration"]["Days"]) == ("Enabled", 90)


def test_the_target_group_lets_a_task_go_in_30_s_and_finds_a_new_one_healthy_within_20_s(service):
    elbv2 = boto3.client("elbv2")
    group = elbv2.describe_target_groups(Names=[service["name"]])["TargetGroups"][0]
    found = attributes(elbv2.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"])
    assert found["deregistration_delay.timeout_seconds"] == "30"
    assert group["HealthCheckIntervalSeconds"] * group["HealthyThresholdCount"] <= 20
    assert (group["HealthCheckTimeoutSeconds"], group["UnhealthyThresholdCount"]) == (5, 3)


def test_each_security_group_admits_and_reaches_only_what_its_side_needs_and_says_why(service):
    name = service["name"]
    alb, tasks, database = (security_group(f"{name}-{suffix}") for suffix in ("alb", "tarefas", "banco"))
    vpc = boto3.client("ec2").describe_vpcs(VpcIds=[tasks["VpcId"]])["Vpcs"][0]["CidrBlock"]
    assert [rule[:4] for rule in rules(alb, "in")] == [(80, 80, ("0.0.0.0/0",), ()), (443, 443, ("0.0.0.0/0",), ())]
    assert [rule[:4] for rule in rules(alb, "out")] == [(8000, 8000, (vpc,), ())]
    assert [rule[:4] for rule in rules(tasks, "in")] == [(8000, 8000, (), (alb["GroupId"],))]
    assert [rule[:4] for rule in rules(tasks, "out")] == [(443, 443, ("0.0.0.0/0",), ()), (5432, 5432, (vpc,), ())]
    assert [rule[:4] for rule in rules(database, "in")] == [(5432, 5432, (), (tasks["GroupId"],))]
    described = [rule for group in (alb, tasks) for way in ("in", "out") for rule in rules(group, way)]
    described += rules(database, "in")
    assert all(description for rule in described for description in rule[4]), described


def test_the_log_group_keeps_30_days_and_container_insights_is_on_for_a_process_scaling_on_its_queue(service):
    """container_insights is an option, left off (tests/test_provision_again.py's stack has it off); the shared stack's worker scales on its queue's backlog per task,
    whose policy divides by the running tasks that Container Insights counts, so its cluster has it on."""
    name = service["name"]
    (group,) = boto3.client("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{name}")["logGroups"]
    assert group["retentionInDays"] == 30 and "kmsKeyId" not in group
    (cluster,) = boto3.client("ecs").describe_clusters(clusters=[name], include=["SETTINGS"])["clusters"]
    assert service["ecr_deploy"]["ECS"]["PROCESSES"]["worker"]["queue"] == "default"
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
