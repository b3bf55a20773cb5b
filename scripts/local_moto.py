"""moto_server as scripts/local-aws runs it, with ECR authorization tokens shaped like AWS's.

- A token expires 12 hours after it is issued, as on AWS (moto's own carry a fixed date in 2015, which would
  make every client fetch a new one at every call).
- Every account's token carries the default account's password: one registry, with one htpasswd, serves the
  ECR host of each account that the tests reach (STS AssumeRole into a second account).
- A moto that enforces IAM (INITIAL_NO_AUTH_ACTION_COUNT) puts a grant in each token: the principal that asked for
  it, whom scripts/registry_gate.py has judged, call by call, at /moto-api/local-aws/registry-grant.
- Application Auto Scaling answers ListTagsForResource, TagResource and UntagResource (moto has none of them),
  which the Terraform AWS provider calls on every scalable target it reads.
- The password inside a region's tokens can be rotated by writing it to $LOCAL_AWS_ECR_PASSWORDS/<region>,
  so that a registry's rotation can be played for real: the registry's htpasswd changes, and so does what
  GetAuthorizationToken hands out.
- A test can make one CreateRepository succeed and then answer 500, as a create whose answer was lost: it writes
  a file named after the repository (/ as +) into $LOCAL_AWS_FAULTS/lose-create-answer/, used up by the create.
  The caller's retry then gets RepositoryAlreadyExistsException. A file in $LOCAL_AWS_FAULTS/hold-create-answer/
  instead holds the answer after the create: the file becomes NAME.held, and the answer goes out once the test
  removes that (at most two minutes later), so a test can kill the caller at a known point. A file named after a
  security group in $LOCAL_AWS_FAULTS/lose-authorize-answer/ makes one AuthorizeSecurityGroupIngress on that group
  add its rules and then answer 500: the caller's retry gets InvalidPermission.Duplicate; in lose-revoke-answer/,
  one RevokeSecurityGroupEgress, whose retry gets InvalidPermission.NotFound. Nothing is written there by default.
- RDS stands in with the local PostgreSQL: a CreateDBInstance makes, in the PostgreSQL that scripts/local-aws
  runs ($LOCAL_AWS_POSTGRES, a libpq connection string of its superuser), the master user with the password the
  create was given and the database it names (new and empty), and a ModifyDBInstance with a new password sets it there too. A
  task started locally from the task definition then connects with exactly what ECS would give it (the endpoint's
  host name resolves to that PostgreSQL through local-aws's DNS). Each instance gets a DbiResourceId of its own
  (moto gives all the same one, which the provider takes as the resource's id).
- DescribeImages answers from the registry that stands in for the ECR host (moto's ECR never sees a
  `docker push`): the digests and tags the registry holds, read over HTTPS with the token's credentials (a tag
  in one read). A registry that does not answer gets moto's own answer. BatchGetImage reads its manifests there,
  and PutImage puts one under a tag there (a retag).
- UpdateService with another task definition starts a deployment of it (moto kept the first one's id and
  revision, so status_ecs showed the service's first revision in its deployment).
- A task that ECS runs has stopped by the time it is first described. moto runs no containers, and by default
  steps a task through one state per DescribeTasks, so a caller's every wait on a one-off task (migrate, the
  fixtures) was three polls of nothing running.
- AWS's own refusals where moto has none (scripts/aws_rules.py, each with the document it follows): Fargate's
  cpu/memory pairs, load balancer and target group names, one load balancer subnet per zone, security group names,
  RDS identifiers, reserved names and major version upgrades; IAM's wildcards (* and ?) and SimulatePrincipalPolicy;
  and, when a test asks, DescribeTasks answering a new task as MISSING.
"""

import base64
import contextlib
import functools
import json
import os
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aws_rules  # AWS's refusals where moto has none, each with its source
from moto import settings
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ec2.responses.security_groups import SecurityGroups
from moto.ecr.exceptions import ImageNotFoundException
from moto.ecr.responses import ECRResponse
from moto.ecs.models import EC2ContainerServiceBackend, TaskDefinition
from moto.iam.access_control import (
    AssumedRoleAccessKey,
    IAMPolicy,
    IAMUserAccessKey,
    PermissionResult,
    create_access_key,
)
from moto.logs.responses import LogsResponse
from moto.moto_api import state_manager
from moto.moto_api._internal.urls import url_paths as moto_api_paths
from moto.rds.models import DBInstance, RDSBackend
from moto.s3.models import FakeBucket
from moto.server import main
from moto.sqs.models import Queue
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.ssm.utils import parameter_arn
from moto.utilities.utils import get_partition

issue_token = ECRResponse.get_authorization_token
create_repository_in_moto = ECRResponse.create_repository
describe_images_in_moto = ECRResponse.describe_images
#: What the registry may answer for a tag: an image manifest or an index, Docker's or OCI's.
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"
)


def registry_password(region: str) -> str:
    rotated = Path(os.environ.get("LOCAL_AWS_ECR_PASSWORDS", "/nonexistent")) / region
    return rotated.read_text().strip() if rotated.is_file() else f"{DEFAULT_ACCOUNT_ID}-auth-token"


#: The principals that the tokens of a moto enforcing IAM were issued to, by the grant each token carries.
GRANTS: dict[str, IAMUserAccessKey | AssumedRoleAccessKey] = {}


def get_authorization_token(self):
    result = issue_token(self)
    password = registry_password(self.region)
    if settings.INITIAL_NO_AUTH_ACTION_COUNT != float("inf"):
        # An ECR token stands for the principal that asked for it: every registry call made with it is authorized
        # as that principal's own ECR action (ECR user guide, "Private registry authentication"; "Pushing an
        # image", IAM permissions). scripts/registry_gate.py asks this moto for each call, by the grant.
        grant = secrets.token_urlsafe(16)
        GRANTS[grant] = create_access_key(
            self.current_account, get_partition(self.region), self.get_access_key(), dict(self.headers)
        )
        claim = json.dumps({"moto": self.headers["Host"], "grant": grant}).encode()
        password = f"{password}~{base64.urlsafe_b64encode(claim).decode()}"
    for data in result.result["authorizationData"]:
        data["expiresAt"] = datetime.now(timezone.utc) + timedelta(hours=12)
        data["authorizationToken"] = base64.b64encode(f"AWS:{password}".encode()).decode()
    return result


def registry_grant(request, full_url, headers):
    """Whether the principal of a token's grant may take an ECR action on a repository, by its own policies."""
    asked = urllib.parse.parse_qs(urllib.parse.urlparse(full_url).query)
    principal = GRANTS.get(asked["grant"][0])
    if principal is None:
        return 404, {}, json.dumps({"message": "no such grant"})
    policies = [IAMPolicy(policy) for policy in principal.collect_policies()]
    verdict = aws_rules.decision(policies, asked["action"][0], asked["resource"][0])
    return 200, {"Content-Type": "application/json"}, json.dumps({"principal": principal.arn, "decision": verdict})


ECRResponse.get_authorization_token = get_authorization_token
moto_api_paths["{0}/moto-api/local-aws/registry-grant$"] = registry_grant


def fault_asked(fault: str, name: str) -> Path | None:
    """The ask of a test for this fault on this repository, used up (renamed to NAME.held); None when not asked."""
    ask = Path(os.environ.get("LOCAL_AWS_FAULTS", "/nonexistent")) / fault / name.replace("/", "+")
    held = ask.with_name(f"{ask.name}.held")
    try:
        ask.rename(held)
    except OSError:
        return None
    return held


def create_repository(self):
    name = self._get_param("repositoryName")
    result = create_repository_in_moto(self)
    lost = fault_asked("lose-create-answer", name)
    if lost is not None:
        lost.unlink()
        # The 500 is written here, in ECR's JSON shape: how moto serializes its own ServiceException changed in 5.2.6
        # (a 400, which no caller retries).
        body = json.dumps(
            {"__type": "ServerException", "message": "The answer to this create was lost (a local-aws fault)."}
        )
        return body, {"Content-Type": "application/x-amz-json-1.1", "status": 500}
    held = fault_asked("hold-create-answer", name)
    deadline = time.monotonic() + 120
    while held is not None and held.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return result


ECRResponse.create_repository = create_repository


def losing_the_answer(fault: str, change_rules):
    """A security group's rule call (moto's change_rules) that, when a test asks for the fault on the group, makes
    its change and then answers 500, as a call whose answer was lost."""

    @functools.wraps(change_rules)
    def change(self):
        result = change_rules(self)
        group = self.ec2_backend.get_security_group_from_id(self._get_param("GroupId"))
        lost = fault_asked(fault, group.name) if group is not None else None
        if lost is None:
            return result
        lost.unlink()
        # EC2's errors carry no status in its model (moto would answer 400): the 500 is written here, in EC2's shape.
        body = (
            "<Response><Errors><Error><Code>InternalError</Code><Message>The answer to this call was lost (a "
            "local-aws fault).</Message></Error></Errors><RequestID>lost-answer</RequestID></Response>"
        )
        return body, {"Content-Type": "text/xml", "status": 500}

    return change


SecurityGroups.authorize_security_group_ingress = losing_the_answer(
    "lose-authorize-answer", SecurityGroups.authorize_security_group_ingress
)
SecurityGroups.revoke_security_group_egress = losing_the_answer(
    "lose-revoke-answer", SecurityGroups.revoke_security_group_egress
)


def in_local_postgres(*statements: tuple[str, list, list]) -> None:
    """Run each (statement, identifiers, literals) as the local PostgreSQL's superuser, each on its own (CREATE
    DATABASE refuses a transaction); nothing when local-aws runs no PostgreSQL."""
    conninfo = os.environ.get("LOCAL_AWS_POSTGRES")
    if not conninfo:
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo, autocommit=True) as connection:
        for statement, identifiers, literals in statements:
            names = [*map(sql.Identifier, identifiers), *map(sql.Literal, literals)]
            connection.execute(sql.SQL(statement).format(*names))


def set_master_user(user: str, password: str) -> None:
    in_local_postgres(
        ("DO $$ BEGIN CREATE ROLE {} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$", [user], []),
        ("ALTER ROLE {} PASSWORD {}", [user], [password]),
    )


def give_database(name: str, user: str) -> None:
    """A new, empty database named name, owned by user, as a new instance has: one left from an instance that a
    moto reset forgot is dropped first."""
    in_local_postgres(
        ("DROP DATABASE IF EXISTS {} WITH (FORCE)", [name], []),
        ("CREATE DATABASE {} OWNER {}", [name, user], []),
    )


create_db_instance_in_moto = RDSBackend.create_db_instance
modify_db_instance_in_moto = RDSBackend.modify_db_instance
init_db_instance_in_moto = DBInstance.__init__


def create_db_instance(self, db_kwargs):
    database = create_db_instance_in_moto(self, db_kwargs)
    user, password = db_kwargs.get("master_username"), db_kwargs.get("master_user_password")
    if database.engine == "postgres" and user and password:
        set_master_user(user, password)
        if db_kwargs.get("db_name"):
            give_database(db_kwargs["db_name"], user)
    return database


def modify_db_instance(self, db_instance_identifier, db_kwargs):
    database = modify_db_instance_in_moto(self, db_instance_identifier, db_kwargs)
    if database.engine == "postgres" and db_kwargs.get("master_user_password"):
        set_master_user(database.master_username, db_kwargs["master_user_password"])
    return database


def init_db_instance(self, *args, **kwargs):
    init_db_instance_in_moto(self, *args, **kwargs)
    self.dbi_resource_id = "db-" + base64.b32encode(os.urandom(16)).decode().rstrip("=")[:26]


RDSBackend.create_db_instance = create_db_instance
RDSBackend.modify_db_instance = modify_db_instance
DBInstance.__init__ = init_db_instance


@functools.cache
def tls_context(ca: str) -> ssl.SSLContext:
    """One context per certificate: loading the CA file for every read costs more than the read."""
    return ssl.create_default_context(cafile=ca)


class Registry:
    """The registry that stands in for one account's ECR host in a region, read over HTTPS as a client would."""

    def __init__(self, registry_id: str, region: str, repository: str, ca: str) -> None:
        self.base = f"https://{registry_id}.dkr.ecr.{region}.amazonaws.com/v2/{urllib.parse.quote(repository)}"
        self.credentials = base64.b64encode(f"AWS:{registry_password(region)}".encode()).decode()
        self.context = tls_context(ca)
        self.registry_id, self.repository = registry_id, repository

    def get(self, path: str, accept: str = "application/json"):
        request = urllib.request.Request(
            self.base + path, headers={"Authorization": f"Basic {self.credentials}", "Accept": accept}
        )
        return urllib.request.urlopen(request, timeout=5, context=self.context)

    def manifest(self, reference: str) -> tuple[str, str, bytes] | None:
        """The digest, media type and bytes of the manifest that reference names, or None when there is none."""
        try:
            with self.get(f"/manifests/{urllib.parse.quote(reference)}", MANIFEST_TYPES) as answer:
                return answer.headers["Docker-Content-Digest"], answer.headers.get_content_type(), answer.read()
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def put_manifest(self, tag: str, media_type: str, body: bytes) -> str:
        """Put the manifest under tag (the registry's own retag); its digest."""
        request = urllib.request.Request(
            f"{self.base}/manifests/{urllib.parse.quote(tag)}",
            data=body,
            method="PUT",
            headers={"Authorization": f"Basic {self.credentials}", "Content-Type": media_type},
        )
        with urllib.request.urlopen(request, timeout=5, context=self.context) as answer:
            return answer.headers["Docker-Content-Digest"]

    def image(self, reference: str, tags: list[str]) -> dict | None:
        """The detail of the image that reference (a tag or a digest) names, or None when it holds none."""
        found = self.manifest(reference)
        if found is None:
            return None
        digest, media_type, body = found
        manifest = json.loads(body)
        return {
            "registryId": self.registry_id,
            "repositoryName": self.repository,
            "imageDigest": digest,
            "imageTags": tags,
            "imageManifestMediaType": media_type,
            "imageSizeInBytes": sum(layer.get("size", 0) for layer in manifest.get("layers", [])),
            "imagePushedAt": datetime.now(timezone.utc),
        }

    def tags(self) -> list[str]:
        try:
            with self.get("/tags/list") as answer:
                return sorted(json.load(answer).get("tags") or [])
        except urllib.error.HTTPError as err:
            if err.code == 404:  # nothing pushed yet
                return []
            raise

    def images(self) -> list[dict]:
        """Every image the repository holds, each with all its tags."""
        by_digest: dict[str, dict] = {}
        for tag in self.tags():
            if detail := self.image(tag, []):
                by_digest.setdefault(detail["imageDigest"], detail)["imageTags"].append(tag)
        return list(by_digest.values())


def registry_for(registry_id: str, region: str, repository: str) -> Registry | None:
    ca = os.environ.get("LOCAL_AWS_REGISTRY_CA")
    return Registry(registry_id, region, repository, ca) if ca and Path(ca).is_file() else None


def images_in_registry(registry: Registry, asked: list[dict] | None) -> list[dict]:
    """What DescribeImages answers for the images asked (all when none is), from the registry."""
    if not asked:
        return registry.images()
    found: dict[str, dict] = {}
    for image_id in asked:
        tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
        if tag:  # one read: a tag query answers with that tag
            detail = registry.image(tag, [tag])
            detail = detail if detail and (not digest or detail["imageDigest"] == digest) else None
        else:  # a digest query answers with every tag that points at it
            detail = next((d for d in registry.images() if d["imageDigest"] == digest), None)
        if detail is None:
            image_id_rep = f"{{imageDigest:'{digest or 'null'}', imageTag:'{tag or 'null'}'}}"
            raise ImageNotFoundException(image_id_rep, registry.repository, registry.registry_id)
        found.setdefault(detail["imageDigest"], detail)
    return list(found.values())


def repository_registry(self):
    """The moto repository that the request names, and the registry that holds its images (None without one)."""
    name = self._get_param("repositoryName")
    repository = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    return repository, registry_for(repository.registry_id, self.region, name)


def describe_images(self):
    _, registry = repository_registry(self)
    if registry is None:
        return describe_images_in_moto(self)
    try:
        return ActionResult({"imageDetails": images_in_registry(registry, self._get_param("imageIds"))})
    except (OSError, ValueError):  # no registry answers: moto's own answer
        return describe_images_in_moto(self)


ECRResponse.describe_images = describe_images
batch_get_image_in_moto = ECRResponse.batch_get_image
put_image_in_moto = ECRResponse.put_image


def batch_get_image(self):
    """BatchGetImage from the registry that holds the images: each manifest, or a failure for an image not there."""
    repository, registry = repository_registry(self)
    if registry is None:
        return batch_get_image_in_moto(self)
    images, failures = [], []
    for image_id in self._get_param("imageIds") or []:
        found = registry.manifest(image_id.get("imageDigest") or image_id.get("imageTag"))
        if found is None:
            failures.append(
                {"imageId": image_id, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}
            )
            continue
        digest, media_type, body = found
        images.append(
            {
                "registryId": repository.registry_id,
                "repositoryName": repository.name,
                "imageId": {**image_id, "imageDigest": digest},
                "imageManifest": body.decode(),
                "imageManifestMediaType": media_type,
            }
        )
    return ActionResult({"images": images, "failures": failures})


def put_image(self):
    """PutImage into the registry: a manifest that it holds, put under a tag; an IMMUTABLE repository refuses a tag
    that names another image (ECR API reference, PutImage: ImageTagAlreadyExistsException)."""
    repository, registry = repository_registry(self)
    if registry is None:
        return put_image_in_moto(self)
    tag, manifest = self._get_param("imageTag"), self._get_param("imageManifest").encode()
    media_type = self._get_param("imageManifestMediaType") or json.loads(manifest).get("mediaType", "")
    held = registry.manifest(tag)
    if held is not None and repository.image_tag_mutability.startswith("IMMUTABLE") and held[2] != manifest:
        raise ServiceException(
            "ImageTagAlreadyExistsException",
            f"The image tag '{tag}' already exists in the '{repository.name}' repository and cannot be overwritten "
            "because the repository is immutable.",
        )
    digest = registry.put_manifest(tag, media_type, manifest)
    image = {
        "registryId": repository.registry_id,
        "repositoryName": repository.name,
        "imageId": {"imageDigest": digest, "imageTag": tag},
        "imageManifest": manifest.decode(),
        "imageManifestMediaType": media_type,
    }
    return ActionResult({"image": image})


ECRResponse.batch_get_image = batch_get_image
ECRResponse.put_image = put_image

scalable_target_tags: dict[str, dict[str, str]] = {}


def list_tags_for_resource(self):
    return json.dumps({"Tags": scalable_target_tags.get(self._get_param("ResourceARN"), {})})


def tag_resource(self):
    scalable_target_tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
    return "{}"


def untag_resource(self):
    tags = scalable_target_tags.get(self._get_param("ResourceARN"), {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
ApplicationAutoScalingResponse.tag_resource = tag_resource
ApplicationAutoScalingResponse.untag_resource = untag_resource


def update_service(self, service_properties):
    """UpdateService with another task definition starts a deployment of it, PRIMARY, as on AWS (ECS API
    Reference, UpdateService: "a new deployment is triggered"); moto kept the first one's id and revision. moto
    runs no tasks, so the rollout has completed at once and the old deployment has drained; or, when a test asked
    for the fault fail-rollout on the service, it FAILED as the circuit breaker ends one whose tasks never start."""
    wanted = service_properties.get("task_definition")
    service = original_update_service(self, service_properties)
    if wanted and service.deployments and service.deployments[0]["taskDefinition"] != service.task_definition:
        now = datetime.now(timezone.utc)
        deployment_id = f"ecs-svc/{secrets.randbelow(10**18)}"
        failed = fault_asked("fail-rollout", service.name)
        service.deployments = [
            {
                **service.deployments[0],
                "id": deployment_id,
                "taskDefinition": service.task_definition,
                "createdAt": now,
                "updatedAt": now,
                "rolloutState": "FAILED" if failed else "COMPLETED",
                "rolloutStateReason": (
                    "ECS deployment circuit breaker: tasks failed to start."
                    if failed
                    else f"ECS deployment {deployment_id} completed."
                ),
            }
        ]
    return service


def bucket_permission(self, action: str, resource: str):
    """A bucket policy's statement as S3 evaluates it for a request over HTTPS, which is how AWS's SDKs reach it (the
    local AWS's plain HTTP stands for that): one whose Condition asks aws:SecureTransport false does not apply (S3
    user guide, "Bucket policy examples": deny requests that do not use HTTPS). moto ignores conditions, and denied
    every object call of a bucket that refuses plain HTTP."""
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy)
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    kept = [
        statement
        for statement in statements
        if str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport", "")).lower() != "false"
    ]
    if not kept:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**policy, "Statement": kept})).is_action_permitted(action, resource)


FakeBucket.get_permission = bucket_permission


def describe_parameters(self):
    """Each parameter with its ARN, as DescribeParameters answers on AWS (ParameterMetadata.ARN; SSM API reference):
    deploy_ecs names a task's variables by it. moto left it out."""
    answer = describe_parameters_in_moto(self)
    for item in answer.result["Parameters"]:
        item["ARN"] = parameter_arn(self.current_account, self.region, item["Name"])
    return answer


describe_parameters_in_moto = SimpleSystemManagerResponse.describe_parameters
SimpleSystemManagerResponse.describe_parameters = describe_parameters


def init_task_definition(self, *args, **kwargs):
    """A revision carries when it was registered, as DescribeTaskDefinition answers on AWS (registeredAt; ECS API
    reference, TaskDefinition): status_ecs tells a value config_ecs changed since from one the revision runs."""
    init_task_definition_in_moto(self, *args, **kwargs)
    self.registered_at = datetime.now(timezone.utc)


init_task_definition_in_moto = TaskDefinition.__init__
TaskDefinition.__init__ = init_task_definition
original_update_service = EC2ContainerServiceBackend.update_service
EC2ContainerServiceBackend.update_service = update_service
state_manager.set_transition("ecs::task", {"progression": "immediate"})


def queue_attributes(self):
    """A queue's RedrivePolicy in compact JSON, as GetQueueAttributes answers on AWS (its API reference's example:
    {"deadLetterTargetArn":"arn:aws:sqs:...","maxReceiveCount":1000}). moto spaced it, and Terraform then planned a
    change to every queue with a dead-letter queue at each run."""
    found = queue_attributes_in_moto.fget(self)
    if self.redrive_policy:
        found["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
    return found


queue_attributes_in_moto = Queue.attributes
Queue.attributes = property(queue_attributes)


def filter_log_events(self):
    """FilterLogEvents narrowed by logStreamNamePrefix, as on AWS (CloudWatch Logs API reference: the events of the
    streams whose names start with it): logs_ecs --process reads one process's streams. moto ignored it and answered
    every stream's events."""
    prefix = self._get_param("logStreamNamePrefix")
    group = self.logs_backend.groups.get(self._get_param("logGroupName"))
    if prefix and group is not None:
        # No stream of that prefix: a name that no stream has (moto reads an empty list as "every stream").
        names = [name for name in group.streams if name.startswith(prefix)] or [f"{prefix}\0none"]
        asked = self._get_param
        self._get_param = lambda key, if_none=None: names if key == "logStreamNames" else asked(key, if_none)
    return filter_log_events_in_moto(self)


filter_log_events_in_moto = LogsResponse.filter_log_events
LogsResponse.filter_log_events = filter_log_events


def forward_for_tasks(address: str, port: int) -> None:
    """moto also on address (the engine's bridge gateway), where a locally run task's AWS_ENDPOINT_URL points (on
    Fargate a task reaches AWS's endpoints): each connection relayed to moto on the loopback, in a thread of its own."""
    listener = socket.create_server((address, port))

    def relay(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while True:
            client, _ = listener.accept()
            upstream = socket.create_connection(("127.0.0.1", port))
            threading.Thread(target=relay, args=(client, upstream), daemon=True).start()
            threading.Thread(target=relay, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


if __name__ == "__main__":
    if tasks_address := os.environ.get("LOCAL_AWS_TASKS_ADDRESS"):
        forward_for_tasks(tasks_address, int(sys.argv[sys.argv.index("-p") + 1]))
    sys.exit(main())
