"""release_role, proved against a moto that enforces IAM (a second moto of the local AWS, started here with
INITIAL_NO_AUTH_ACTION_COUNT): a principal holding exactly the release policy publishes (the no-op path and a
real push) and deploys to COMPLETED, and without any one of its actions one of them fails, naming the denied call.

moto matches actions everywhere but resources only in S3, IAM and STS, so the principal's copy of the policy keeps
the S3 statements as rendered and gives the others `Resource: *`; the scoping of those is checked on the rendered
document. The registry's calls (a manifest read, a push's layers and manifest) are checked by the local ECR host's
gate as ECR checks them, as the principal whose token they carry (scripts/registry_gate.py). One action is not the
local AWS's to check: ECS checks iam:PassRole when it starts a task."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import boto3
import pytest
from django.core.management.base import CommandError
from django.test import override_settings
from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.conftest import ROOT, run

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("release")]

#: The action that the local AWS cannot deny: ECS checks PassRole itself when it starts a task.
NOT_CHECKED_BY_MOTO = {"iam:PassRole"}
#: AWS's policy for a push (ECR user guide, "Pushing an image", IAM permissions): the manifest read before it too.
PUSH_ACTIONS = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]
#: Actions that a release needs only where moto cannot lead it: after a failed migrate (moto's tasks always exit 0)
#: deploy_ecs deregisters the revision it made and prints the end of the task's log (read at best effort: a refusal
#: leaves the tail out, and the deploy goes on to say why it failed).
FAILURE_PATH_ONLY = {"ecs:DeregisterTaskDefinition", "logs:GetLogEvents"}
#: Actions that only terraform, run by publish_ecr, calls: reading and writing the S3 state, refreshing the repository.
#: A release without one of them fails only where publish_ecr runs terraform, on a fresh checkout. Without any
#: other action, the release runs on the checkout that the last one left, and publish_ecr skips terraform: a case
#: of these that passed would show that the release needs that action only from terraform (and so fail the test).
TERRAFORMS_ONLY = {
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:ListTagsForResource",
}
#: The call that an action allows, where its name differs from the action's.
CALLS = {"s3:ListBucket": "HeadBucket"}
#: moto names CloudWatch's actions by its endpoint's prefix (monitoring:DescribeAlarms); AWS by the service's.
MOTO_PREFIXES = {"cloudwatch": "monitoring"}
#: moto asks s3:HeadBucket for a HEAD of a bucket, which AWS allows with s3:ListBucket.
MOTO_ALSO = {"s3:ListBucket": ["s3:HeadBucket"]}
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def enforcing_moto(local_aws, tmp_path_factory):
    """A moto of its own that checks every signed request against IAM, after the first three (which make the admin
    user, its policy and its key); the admin's keys and the endpoint."""
    tmp_path = tmp_path_factory.mktemp("enforcing-moto")
    state = ROOT / ".local-aws"
    port = free_port()
    env = {
        **os.environ,
        "INITIAL_NO_AUTH_ACTION_COUNT": "3",
        "MOTO_ECS_SERVICE_RUNNING": "1",
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "MOTO_ACM_VALIDATION_WAIT": "0",
        "LOCAL_AWS_ECR_PASSWORDS": str(state / "ecr-passwords"),
        "LOCAL_AWS_REGISTRY_CA": str(state / "registry.crt"),
    }
    log = (tmp_path / "moto.log").open("w")
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            str(ROOT / "scripts" / "local_moto.py"),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "moto.log").read_text()
                time.sleep(0.2)
        iam = boto3.client("iam", endpoint_url=endpoint, aws_access_key_id="none", aws_secret_access_key="none")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        yield {"endpoint": endpoint, "admin": (key["AccessKeyId"], key["SecretAccessKey"])}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def aws(service: str):
    """A client with the credentials and endpoint the environment holds now (boto3's default session keeps the
    first ones it read)."""
    return boto3.Session().client(service)


def act_as(monkeypatch, keys: tuple[str, str]) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys[1])


@pytest.fixture(scope="module")
def released(enforcing_moto, docker_client, project_image, tmp_path_factory):
    """As the admin, once for the module (each test reads it or leaves it as it found it): an S3 state, a published
    repository, a provisioned service (its database your own: a DATABASE_URL secret) deployed once, and release_role
    applied; the role's policy and the admin's IAM client."""
    import shutil

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("AWS_ENDPOINT_URL", enforcing_moto["endpoint"])
        act_as(monkeypatch, enforcing_moto["admin"])
        infra = tmp_path_factory.mktemp("released") / "infra"
        shutil.copytree(ROOT / "infra", infra, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
        name = f"rel-{uuid.uuid4().hex[:8]}"
        docker_client.images.get(project_image).tag(name, "V1")
        aws("s3").create_bucket(Bucket=f"{name}-estado")
        database = aws("secretsmanager").create_secret(Name=f"{name}/url", SecretString="postgres://u:p@db/x")
        ecr_deploy = {
            "TERRAFORM_DIR": str(infra),
            "RELEASE_TERRAFORM_DIR": str(infra / "release"),
            "REPOSITORY": name,
            "FIXTURES": ["clientes.json"],
            "TERRAFORM_VARS": {"manter_ultimas_imagens": 5},
            "STATE": {"BACKEND": "s3", "BUCKET": f"{name}-estado"},
            "ECS": {
                "TERRAFORM_DIR": str(infra / "ecs"),
                "TIMEOUT_SECONDS": 60,
                "BAKE_SECONDS": 1,
                "DATABASE": {"SECRET_ARN": database["ARN"]},
                "TERRAFORM_VARS": {"max_tentativas": 2},
            },
        }
        with override_settings(ECR_DEPLOY=ecr_deploy):
            run("publish_ecr")
            run("provision_ecs")
            run("deploy_ecs")
            role, _ = run("release_role", "--github", "acme/clientes", "--branch", "main")
            iam = aws("iam")
            role_name = role["role_arn"].rsplit("/", 1)[1]
            document = iam.get_role_policy(RoleName=role_name, PolicyName="publish-e-deploy")["PolicyDocument"]
            trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
            yield {"name": name, "infra": infra, "role": role, "policy": document, "trust": trust, "iam": iam}


def as_moto_checks(policy: dict, without: str | None = None) -> dict:
    """The policy as a principal of the enforcing moto holds it: S3's statements as rendered, the others on
    `Resource: *` without conditions (moto scopes no other service), and without one action."""
    statements = []
    for statement in policy["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        actions = [action for action in actions if action != without]
        if not actions:
            continue
        if all(action.startswith("s3:") for action in actions):
            statements.append({**statement, "Action": [*actions, *(a for x in actions for a in MOTO_ALSO.get(x, []))]})
        else:
            moto_names = [MOTO_PREFIXES.get(a.split(":")[0], a.split(":")[0]) + ":" + a.split(":")[1] for a in actions]
            statements.append({"Effect": "Allow", "Action": moto_names, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}


def release_run(docker_client, name: str, infra, *, fresh: bool = True) -> None:
    """What CI runs, on a fresh checkout (no .terraform folders, so publish_ecr runs terraform on the S3 state and
    nothing caches the account) unless asked otherwise: publish_ecr of what is published (the no-op path), a new
    image pushed, deployed, and rolled back."""
    import shutil

    if fresh:
        for folder in (infra, infra / "ecs"):
            shutil.rmtree(folder / ".terraform", ignore_errors=True)
    run("publish_ecr")
    tag = f"r{uuid.uuid4().hex[:6]}"
    container = docker_client.containers.create(f"{name}:V1")
    try:
        container.commit(repository=name, tag=tag, changes=[f"LABEL release={tag}"])
    finally:
        container.remove(force=True)
    run("publish_ecr", "--tag", tag)
    deployed, _ = run("deploy_ecs", "--tag", tag)
    assert deployed["rollout_state"] == "COMPLETED"
    rolled_back, _ = run("deploy_ecs", "--rollback")
    assert rolled_back["rollout_state"] == "COMPLETED"


def release_locks_left_by_the_refusal(s3, bucket: str) -> None:
    """Without s3:DeleteObject terraform cannot remove its lock file, and says so; the next case starts unlocked."""
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        if item["Key"].endswith(".tflock"):
            s3.delete_object(Bucket=bucket, Key=item["Key"])


def policy_actions(policy: dict) -> list[str]:
    return sorted(
        {
            action
            for statement in policy["Statement"]
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        }
    )


def test_the_role_trusts_only_the_repositorys_branch_and_scopes_each_statement_to_this_environment(released):
    name, policy = released["name"], released["policy"]
    (trust,) = released["trust"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"]["Federated"].endswith("oidc-provider/token.actions.githubusercontent.com")
    assert trust["Condition"]["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    # GitHub's owner and repository names ignore case: --github Acme/Clientes names the same repository.
    assert trust["Condition"]["StringEqualsIgnoreCase"] == {
        "token.actions.githubusercontent.com:sub": "repo:acme/clientes:ref:refs/heads/main"
    }
    scoped = {s["Sid"]: s for s in policy["Statement"]}
    unscoped = {"SemRecurso"}
    for sid, statement in scoped.items():
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        if sid in unscoped:
            assert resources == ["*"]
            continue
        assert "*" not in resources, sid
        assert all(name in resource for resource in resources), (sid, resources)
    assert set(policy_actions({"Statement": [scoped["SemRecurso"]]})) == {
        "ecr:GetAuthorizationToken",
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",
        "ecs:RegisterTaskDefinition",
        "ssm:DescribeParameters",  # config_ecs's names; no statement grants ssm:GetParameter(s): never a value
    }
    assert not [action for action in policy_actions(policy) if action.startswith("ssm:Get")]
    assert scoped["Estado"]["Resource"] == f"arn:aws:s3:::{name}-estado/ecr_deploy/default/*"
    repository_arn = f"arn:aws:ecr:us-east-1:123456789012:repository/{name}"
    judge = IAMPolicy(json.dumps(policy))
    assert [a for a in PUSH_ACTIONS if judge.is_action_permitted(a, repository_arn) != PermissionResult.PERMITTED] == []
    execution_role = f"arn:aws:iam::123456789012:role/{name}-us-east-1-execucao"
    assert scoped["SegredosDoPapel"] == {**scoped["SegredosDoPapel"], "Action": "iam:SimulatePrincipalPolicy"}
    assert scoped["SegredosDoPapel"]["Resource"] == execution_role
    assert scoped["PapeisDoServico"]["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    # IAM names are account-wide: the region in the name, so that the service in another region has a role of its own.
    assert released["role"]["role_arn"] == f"arn:aws:iam::123456789012:role/{name}-default-us-east-1-release"


def test_release_role_again_changes_nothing_and_keeps_the_oidc_provider_it_made(released):
    again, _ = run("release_role", "--github", "acme/clientes", "--branch", "main")
    assert again["terraform_changes"] is False and again["role_arn"] == released["role"]["role_arn"]
    providers = released["iam"].list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [again["oidc_provider_arn"]]


def test_publish_and_deploy_succeed_under_exactly_the_policy_and_fail_clearly_without_any_one_action(
    released, enforcing_moto, docker_client, monkeypatch
):
    """Publish and deploy run under exactly the policy; then without each checked action in turn: first those that
    a release calls outside terraform, on the checkout as the last release left it, then terraform's, each on a
    fresh checkout."""
    iam, name = released["iam"], released["name"]
    user = "release"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    release_keys = (key["AccessKeyId"], key["SecretAccessKey"])

    def hold(policy: dict) -> None:
        iam.put_user_policy(UserName=user, PolicyName="release", PolicyDocument=json.dumps(policy))

    admin_s3 = boto3.client(
        "s3",
        endpoint_url=enforcing_moto["endpoint"],
        aws_access_key_id=enforcing_moto["admin"][0],
        aws_secret_access_key=enforcing_moto["admin"][1],
    )
    act_as(monkeypatch, release_keys)
    hold(as_moto_checks(released["policy"]))
    release_run(docker_client, name, released["infra"])
    checked = [
        action for action in policy_actions(released["policy"]) if action not in NOT_CHECKED_BY_MOTO | FAILURE_PATH_ONLY
    ]
    assert len(checked) >= 15
    passed = []
    for action in sorted(checked, key=lambda action: action in TERRAFORMS_ONLY):
        hold(as_moto_checks(released["policy"], without=action))
        call = CALLS.get(action, action.split(":", 1)[1])
        try:
            release_run(docker_client, name, released["infra"], fresh=action in TERRAFORMS_ONLY)
        except CommandError as refused:
            message = str(refused)
            refused_words = ("AccessDenied", "403", f"not authorized to perform: {action}")
            assert call in message and any(word in message for word in refused_words), (action, message)
            assert "Traceback" not in message
        else:
            passed.append(action)
        release_locks_left_by_the_refusal(admin_s3, f"{name}-estado")
    assert passed == [], f"publish and deploy need none of {passed}: the policy must not grant them"


def test_the_registry_authorizes_each_call_as_the_tokens_principal(enforcing_moto):
    """A manifest read is ecr:BatchGetImage and a layer upload ecr:InitiateLayerUpload, judged by the policy of the
    principal whose token the call carries, at the call (a policy changed after the token counts); a refusal is ECR's
    403 `DENIED`, naming the principal and the action."""
    import base64
    import ssl
    import urllib.error

    iam = boto3.client(
        "iam",
        endpoint_url=enforcing_moto["endpoint"],
        aws_access_key_id=enforcing_moto["admin"][0],
        aws_secret_access_key=enforcing_moto["admin"][1],
    )
    user = f"reader-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]

    def allow(*actions: str) -> None:
        statement = {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", *actions], "Resource": "*"}
        iam.put_user_policy(
            UserName=user,
            PolicyName="ecr",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )

    allow("ecr:BatchGetImage")
    ecr = boto3.client(
        "ecr",
        endpoint_url=enforcing_moto["endpoint"],
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    data = ecr.get_authorization_token()["authorizationData"][0]
    context = ssl.create_default_context(cafile=str(ROOT / ".local-aws" / "registry.crt"))

    def call(method: str, path: str) -> tuple[int, str]:
        request = urllib.request.Request(
            f"{data['proxyEndpoint']}{path}",
            method=method,
            headers={"Authorization": f"Basic {data['authorizationToken']}"},
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()

    status, body = call("GET", "/v2/nothing-here/manifests/V1")
    assert status == 404 and "MANIFEST_UNKNOWN" in body  # let through: the registry itself answers
    status, body = call("POST", "/v2/nothing-here/blobs/uploads/")
    assert status == 403
    (error,) = json.loads(body)["errors"]
    assert error["code"] == "DENIED"
    assert error["message"].startswith(f"User: arn:aws:iam::123456789012:user/{user} is not authorized to perform: ")
    assert (
        "ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:123456789012:repository/nothing-here"
        in (error["message"])
    )
    allow("ecr:InitiateLayerUpload")
    status, body = call("GET", "/v2/nothing-here/manifests/V1")
    assert status == 403 and "ecr:BatchGetImage" in body
    assert call("POST", "/v2/nothing-here/blobs/uploads/")[0] == 202
    assert base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1] not in error["message"]
