"""AWS's rules where moto has none, for scripts/local_moto.py: each refusal is AWS's, with the document it follows.
The table of every rule with its source is docs/explanation/local-aws.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ec2.responses.security_groups import SecurityGroups
from moto.ecs.models import Task
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2.responses import ELBV2Response
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.iam.responses import IamResponse
from moto.rds.responses import RDSResponse
from moto.s3.exceptions import MissingBucket
from moto.s3.responses import S3Response


class Refused(ServiceException):
    """An AWS error code and message, answered with status 400 in the request's service's shape: moto looks for the
    error in the service model named by the exception's module, and moto's own ServiceException (moto.core) has none."""


# ---- ECS ------------------------------------------------------------------------------------------------------
# Fargate accepts only these cpu/memory pairs (ECS developer guide, "Task CPU and memory",
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size). A copy
# of ecr_deploy.defaults.FARGATE_MEMORY on purpose, as the reserved words below: the stand-in judges the tool, and
# does not borrow the table it judges.
FARGATE_MEMORY = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}
register_task_definition_in_moto = EC2ContainerServiceResponse.register_task_definition


def register_task_definition(self):
    if "FARGATE" in (self._get_param("requiresCompatibilities") or []):
        cpu, memory = self._get_param("cpu"), self._get_param("memory")
        if not (str(cpu).isdigit() and str(memory).isdigit() and int(memory) in FARGATE_MEMORY.get(int(cpu), [])):
            raise Refused(
                "ClientException", f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory."
            )
    return register_task_definition_in_moto(self)


EC2ContainerServiceResponse.register_task_definition = register_task_definition

# ECS is eventually consistent: DescribeTasks right after RunTask may answer the task as MISSING
# (RunTask API reference, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html: "retry with
# exponential backoff"). A test asks for it by writing a count into $LOCAL_AWS_FAULTS/missing-task/CLUSTER: that many
# DescribeTasks of the cluster answer MISSING.
describe_tasks_in_moto = EC2ContainerServiceResponse.describe_tasks


def missing_answers_asked(cluster: str) -> bool:
    """Whether this DescribeTasks of cluster is to answer MISSING (one of the count that a test wrote is used up)."""
    ask = Path(os.environ.get("LOCAL_AWS_FAULTS", "/nonexistent")) / "missing-task" / cluster.rsplit("/", 1)[-1]
    try:
        left = int(ask.read_text() or 0)
    except (OSError, ValueError):
        return False
    if left <= 1:
        ask.unlink(missing_ok=True)
    else:
        ask.write_text(str(left - 1))
    return left >= 1


def describe_tasks(self):
    if missing_answers_asked(self._get_param("cluster", "default")):
        tasks = self._get_param("tasks", [])
        return ActionResult({"tasks": [], "failures": [{"arn": arn, "reason": "MISSING"} for arn in tasks]})
    return describe_tasks_in_moto(self)


EC2ContainerServiceResponse.describe_tasks = describe_tasks

# A stopped task's desiredStatus is STOPPED (ECS API reference, Task: desiredStatus), which ListTasks filters on;
# moto leaves it RUNNING. DeleteCluster refuses a cluster with active tasks (ClusterContainsTasksException). A task
# that moto runs stops at once; in a cluster named in $LOCAL_AWS_FAULTS/keep-task-running/, it runs until StopTask
# (a one-off task left running, as after a closed terminal).
managed_task_status = Task.status


def task_desired_status(self) -> str:
    return "STOPPED" if self._status == "STOPPED" else self.__dict__.get("_desired_status", "RUNNING")


def set_task_desired_status(self, value: str) -> None:
    self.__dict__["_desired_status"] = value


def kept_running(task) -> bool:
    asks = Path(os.environ.get("LOCAL_AWS_FAULTS", "/nonexistent")) / "keep-task-running"
    return (asks / task.cluster_name).exists() and task.__dict__.get("_desired_status") != "STOPPED"


def task_status(self) -> str | None:
    return "RUNNING" if kept_running(self) else managed_task_status.fget(self)


Task.desired_status = property(task_desired_status, set_task_desired_status)
Task.status = property(task_status, managed_task_status.fset)
delete_cluster_in_moto = EC2ContainerServiceResponse.delete_cluster


def delete_cluster(self):
    name = self._get_param("cluster").rsplit("/", 1)[-1]
    if any(task.desired_status == "RUNNING" for task in self.ecs_backend.tasks.get(name, {}).values()):
        raise Refused("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
    return delete_cluster_in_moto(self)


EC2ContainerServiceResponse.delete_cluster = delete_cluster

# ---- ELBv2 ----------------------------------------------------------------------------------------------------
# CreateLoadBalancer (ELBv2 API reference): a name of at most 32 alphanumerics and hyphens, no hyphen at either end,
# not beginning with "internal-"; one subnet per Availability Zone.
ELB_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?")
create_load_balancer_in_moto = ELBV2Response.create_load_balancer
create_target_group_in_moto = ELBV2Response.create_target_group


def check_elb_name(name: str, what: str) -> None:
    if not ELB_NAME.fullmatch(name or "") or name.startswith("internal-"):
        raise Refused(
            "ValidationError",
            f"{what} name '{name}' must have at most 32 alphanumeric characters or hyphens, must not begin or end "
            "with a hyphen, and must not begin with 'internal-'",
        )


def create_load_balancer(self):
    check_elb_name(self._get_param("Name"), "The load balancer")
    subnets = self._get_param("Subnets") or [m["SubnetId"] for m in self._get_param("SubnetMappings") or []]
    zones = [self.elbv2_backend.ec2_backend.get_subnet(subnet).availability_zone for subnet in subnets]
    if len(zones) != len(set(zones)):
        raise Refused(
            "InvalidConfigurationRequest",
            "A load balancer cannot be attached to multiple subnets in the same Availability Zone",
        )
    return create_load_balancer_in_moto(self)


def create_target_group(self):
    check_elb_name(self._get_param("Name"), "The target group")
    return create_target_group_in_moto(self)


ELBV2Response.create_load_balancer = create_load_balancer
ELBV2Response.create_target_group = create_target_group

# ---- EC2 ------------------------------------------------------------------------------------------------------
# CreateSecurityGroup (EC2 API reference, GroupName): "Constraints: ... Cannot start with sg-."
create_security_group_in_moto = SecurityGroups.create_security_group


def create_security_group(self):
    name = self._get_param("GroupName") or ""
    if name.lower().startswith("sg-"):
        raise Refused(
            "InvalidParameterValue",
            f"Value ({name}) for parameter GroupName is invalid. Group names may not be in the format sg-*.",
        )
    return create_security_group_in_moto(self)


SecurityGroups.create_security_group = create_security_group

# ---- RDS ------------------------------------------------------------------------------------------------------
# CreateDBInstance (RDS API reference): DBInstanceIdentifier 1 to 63 letters, digits or hyphens, the first a letter,
# no hyphen at the end and no two in a row; DBName and MasterUsername not a word the engine reserves (PostgreSQL's
# reserved key words, https://www.postgresql.org/docs/current/sql-keywords-appendix.html, and RDS's rdsadmin).
# ModifyDBInstance: a new major EngineVersion needs AllowMajorVersionUpgrade.
# (ecr_deploy/names.py holds the same list for its check: the stand-in keeps its own copy, so that a word missing
# there is still refused here, as AWS would.)
DB_IDENTIFIER = re.compile(r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}")
POSTGRES_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
        "rdsadmin",
    ]
)
create_db_instance_in_moto = RDSResponse.create_db_instance
modify_db_instance_in_moto = RDSResponse.modify_db_instance


def check_db_identifier(identifier: str) -> None:
    if not DB_IDENTIFIER.fullmatch(identifier or "") or identifier.endswith("-"):
        raise Refused(
            "InvalidParameterValue",
            "The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; "
            "must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two "
            "consecutive hyphens.",
        )


def create_db_instance(self):
    check_db_identifier(self.params.get("DBInstanceIdentifier"))
    for parameter in ("DBName", "MasterUsername"):
        if str(self.params.get(parameter) or "").lower() in POSTGRES_RESERVED:
            raise Refused(
                "InvalidParameterValue",
                f"{self.params[parameter]} cannot be used as it is a reserved word used by the engine",
            )
    return create_db_instance_in_moto(self)


def major(version: str) -> str:
    return str(version).split(".")[0]


def modify_db_instance(self):
    wanted = self.params.get("EngineVersion")
    if wanted:
        instance = self.backend.describe_db_instances(self.params["DBInstanceIdentifier"])[0]
        upgrade = str(self.params.get("AllowMajorVersionUpgrade")).lower() == "true"
        if major(wanted) != major(instance.engine_version) and not upgrade:
            raise Refused(
                "InvalidParameterCombination",
                "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.",
            )
    return modify_db_instance_in_moto(self)


RDSResponse.create_db_instance = create_db_instance
RDSResponse.modify_db_instance = modify_db_instance


# ---- S3 -------------------------------------------------------------------------------------------------------
# A bucket is addressed in its own region: a request signed for another answers 301 PermanentRedirect with the
# bucket's region in x-amz-bucket-region (S3 user guide, "Making requests", and Terraform's S3 backend since 1.6,
# https://github.com/hashicorp/terraform/pull/33881). boto3 follows it; terraform does not.
SIGNING_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/s3/")
bucket_response_in_moto = S3Response._bucket_response
key_response_in_moto = S3Response._key_response


def wrong_region(self, request, full_url: str):
    """The 301 that S3 answers when the request is signed for a region other than the bucket's; None otherwise."""
    signed = SIGNING_REGION.search(request.headers.get("Authorization", "") or "")
    name = self.parse_bucket_name_from_url(request, full_url)
    if not signed or not name:
        return None
    try:
        region = self.backend.get_bucket(name).region_name
    except MissingBucket:
        return None
    if region == signed.group(1):
        return None
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are '
        "attempting to access must be addressed using the specified endpoint. Please send all future requests to "
        f"this endpoint.</Message><Bucket>{name}</Bucket><Endpoint>{name}.s3.{region}.amazonaws.com</Endpoint></Error>"
    )
    headers = {"x-amz-bucket-region": region, "content-type": "application/xml"}
    return 301, headers, "" if request.method == "HEAD" else body


def bucket_response(self, request, full_url):
    return wrong_region(self, request, full_url) or bucket_response_in_moto(self, request, full_url)


def key_response(self, request, full_url):
    return wrong_region(self, request, full_url) or key_response_in_moto(self, request, full_url)


S3Response._bucket_response = bucket_response
S3Response._key_response = key_response


# ---- IAM ------------------------------------------------------------------------------------------------------
# A policy's Action and Resource match with two wildcards, * (any characters) and ? (one character); everything
# else is literal (IAM user guide, "IAM JSON policy elements: Resource"). moto reads them as regular expressions:
# `.` matches anything there, and `?` breaks the pattern.
def match_with_wildcards(pattern: str, string: str) -> re.Match | None:
    translated = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(translated, string, re.DOTALL)


IAMPolicyStatement._match = staticmethod(match_with_wildcards)

# SimulatePrincipalPolicy (IAM API reference): each action on each resource, judged by the principal's own policies
# (inline and attached) with moto's policy evaluation: allowed, implicitDeny or explicitDeny.
DECISIONS = {
    PermissionResult.PERMITTED: "allowed",
    PermissionResult.DENIED: "explicitDeny",
    PermissionResult.NEUTRAL: "implicitDeny",
}


def principal_policies(backend, arn: str) -> list[IAMPolicy]:
    kind, _, name = arn.split(":", 5)[5].partition("/")
    name = name.rsplit("/", 1)[-1]
    if kind == "role":
        holders = [backend.get_role(name)]
    elif kind == "user":  # a user's policies and its groups' (IAM User Guide, "Policy evaluation logic")
        holders = [backend.get_user(name), *backend.get_groups_for_user(name)]
    else:
        raise Refused("InvalidInput", f"PolicySourceArn {arn} is not a user or a role.")
    return [
        IAMPolicy(policy)
        for holder in holders
        for policy in [*holder.policies.values(), *holder.managed_policies.values()]
    ]


def decision(policies: list[IAMPolicy], action: str, resource: str) -> str:
    results = [policy.is_action_permitted(action, resource) for policy in policies]
    for result in (PermissionResult.DENIED, PermissionResult.PERMITTED):
        if result in results:
            return DECISIONS[result]
    return DECISIONS[PermissionResult.NEUTRAL]


def as_list(value) -> list[str]:
    if isinstance(value, dict):  # a query list: {"member": [...]}
        value = value.get("member", [])
    return [value] if isinstance(value, str) else list(value or [])


def simulate_principal_policy(self):
    policies = principal_policies(self.backend, self._get_param("PolicySourceArn"))
    resources = as_list(self._get_param("ResourceArns")) or ["*"]
    results = [
        {
            "EvalActionName": action,
            "EvalResourceName": resource,
            "EvalDecision": decision(policies, action, resource),
            "MatchedStatements": [],
            "MissingContextValues": [],
        }
        for action in as_list(self._get_param("ActionNames"))
        for resource in resources
    ]
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


IamResponse.simulate_principal_policy = simulate_principal_policy
