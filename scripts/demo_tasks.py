"""make demo's tasks of a deployed revision, run on the local engine as Fargate would run them (moto runs no
containers): the task definition read back from ECS, the secrets read by ARN, the PostgreSQL that stands in for RDS.
`first`: migrate, the fixtures, an admin, a task, and a customer created through the API; `second` (after a deploy
of another image): the value config_ecs set, the customer read back, and two tasks of one revision that see each
other's writes; `worker`: the web queues a job on the service's SQS queue, and the worker's deployed revision, run
after, takes it and writes its result, which the web reads back; and the schedule runs the web's revision."""

import base64
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import docker

from ecr_deploy.workflows.local_run import run_one_off_locally, run_task_definition_locally

ecs, engine, session = boto3.client("ecs"), docker.from_env(), boto3.Session()


def deployed(path):
    result = json.loads(Path(path).read_text())
    arn = ecs.describe_services(cluster=result["service"], services=[result["service"]])["services"][0][
        "taskDefinition"
    ]
    return result, ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]


def one_off(definition, command, environment=None):
    code, log = run_one_off_locally(engine, session, definition, "app", command, environment=environment)
    last = [line for line in log.splitlines() if line.strip()][-1:] or ["(no output)"]
    print(f"  one-off `{' '.join(command)}` -> exit {code}: {last[0]}")
    if code:
        raise SystemExit(f"the one-off task failed:\n{log[-2000:]}")


def request(port, path, host, body=None, user=None):
    headers = {"Host": host, "Content-Type": "application/json"}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{port}{path}", data, headers), timeout=5
        ) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, None


def task(definition):
    """A task of the revision, healthy, and its port."""
    container = run_task_definition_locally(engine, session, definition, "app")
    for _ in range(120):
        container.reload()
        health = container.attrs["State"].get("Health", {}).get("Status")
        if health in ("healthy", "unhealthy"):
            break
        time.sleep(1)
    if health != "healthy":
        raise SystemExit(f"the task is {health}:\n{container.logs().decode()[-2000:]}")
    return container, container.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]


def worker_takes_a_job(result, definition, alb, user):
    """The web queues a welcome message; the worker's revision, started after, writes it; the web reads it back."""
    service = result["service"]
    arn = ecs.describe_services(cluster=service, services=[f"{service}-worker"])["services"][0]["taskDefinition"]
    worker = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    print(
        f"the worker's revision: {arn.rsplit('/', 1)[-1]}, `{' '.join(worker['containerDefinitions'][0]['command'])}`"
    )
    created = json.loads(Path(".local-aws/demo-created.json").read_text())
    path_of = f"/clientes/{created['id']}/boas-vindas/"
    web, port = task(definition)
    containers = [web]
    try:
        code, body = request(port, path_of, alb, {}, user)
        queue = next(
            e["value"]
            for e in definition["containerDefinitions"][0]["environment"]
            if e["name"] == "SQS_QUEUE_URL_DEFAULT"
        )
        depth = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        waiting = depth["Attributes"]["ApproximateNumberOfMessages"]
        print(f"POST {path_of} on the web -> {code} {body}; {waiting} message waiting in {queue.rsplit('/', 1)[-1]}")
        containers.append(run_task_definition_locally(engine, session, worker, "app"))
        started = time.monotonic()
        while (found := request(port, path_of, alb)[1]) == [] and time.monotonic() - started < 120:
            time.sleep(0.5)
        if not found:
            raise SystemExit(f"the worker did not do the job:\n{containers[-1].logs().decode()[-2000:]}")
        done = [line for line in containers[-1].logs().decode().splitlines() if "succeeded" in line]
        print(
            f"the worker took it after {time.monotonic() - started:.0f} s: {done[-1].split('] ', 1)[-1] if done else ''}"
        )
        print(f"GET {path_of} on the web -> {found}")
    finally:
        for container in containers:
            container.remove(force=True)
    for name, revision in result["schedules"].items():
        made = boto3.client("scheduler").get_schedule(GroupName=service, Name=name)
        runs = made["Target"]["EcsParameters"]["TaskDefinitionArn"]
        print(
            f"the schedule {name} ({made['ScheduleExpression']}, {made['ScheduleExpressionTimezone']}) runs "
            f"{runs.rsplit('/', 1)[-1]}; the web runs {definition['taskDefinitionArn'].rsplit('/', 1)[-1]}"
        )
        if runs != definition["taskDefinitionArn"] or runs != revision:
            raise SystemExit(f"the schedule {name} does not run the deployed revision")


step, path = sys.argv[1], sys.argv[2]
result, definition = deployed(path)
alb = result["service_url"].removeprefix("http://").rstrip("/")
user = (
    json.loads(Path(".local-aws/demo-user.json").read_text())
    if step != "first"
    else [f"demo-{secrets.token_hex(4)}", secrets.token_urlsafe(18)]
)
print(f"{definition['taskDefinitionArn']}: {definition['containerDefinitions'][0]['image']}")
if step != "worker":  # the worker's step follows `second`, which ran them on this revision
    one_off(definition, ["python", "manage.py", "migrate", "--noinput"])
    one_off(definition, ["python", "manage.py", "load_fixtures_once", "clientes.json"])
containers = []
try:
    if step == "worker":
        worker_takes_a_job(result, definition, alb, user)
    elif step == "first":
        env = {
            "DJANGO_SUPERUSER_USERNAME": user[0],
            "DJANGO_SUPERUSER_PASSWORD": user[1],
            "DJANGO_SUPERUSER_EMAIL": "demo@example.com",
        }
        one_off(definition, ["python", "manage.py", "createsuperuser", "--noinput"], env)
        Path(".local-aws/demo-user.json").write_text(json.dumps(user))
        container, port = task(definition)
        containers.append(container)
        code, _ = request(port, "/health/", "10.0.1.17")
        print(f"GET /health/ with Host 10.0.1.17 (the ALB's health check) -> {code}")
        code, body = request(port, "/clientes/", alb)
        print(f"GET /clientes/ -> {code}, {body['count']} clientes (the fixture, loaded once into PostgreSQL)")
        code, body = request(port, "/clientes/", alb, {"nome": "Cliente do V1", "email": "v1@example.com"}, user)
        print(f"POST /clientes/ as {user[0]} -> {code}, id {body['id']}")
        Path(".local-aws/demo-created.json").write_text(json.dumps(body))
    else:
        one_off(definition, ["python", "-c", "import os; print('DEMO_MENSAGEM =', os.environ['DEMO_MENSAGEM'])"])
        created = json.loads(Path(".local-aws/demo-created.json").read_text())
        (first, port_a), (second, port_b) = task(definition), task(definition)
        containers += [first, second]
        code, body = request(port_a, f"/clientes/{created['id']}/", alb)
        print(f"GET /clientes/{created['id']}/ on the new revision -> {code}, {body}")
        if body != created:
            raise SystemExit("the customer written before the deploy is gone")
        code, body = request(port_a, "/clientes/", alb)
        print(f"GET /clientes/ -> {body['count']} clientes (the fixture was not loaded again)")
        code, made = request(port_a, "/clientes/", alb, {"nome": "Cliente da tarefa A", "email": "a@example.com"}, user)
        code, seen = request(port_b, f"/clientes/{made['id']}/", alb)
        print(f"two tasks of one revision: POST on task A -> id {made['id']}; GET on task B -> {code}, {seen}")
        if seen != made:
            raise SystemExit("task B does not see task A's write")
finally:
    for container in containers:
        container.remove(force=True)
