"""The day-to-day commands on the provisioned service of tests/test_deploy_ecs.py (the same stack, one test at a
time): logs_ecs, run_ecs, scale_ecs.

moto runs no containers, so nothing writes a task's log: these tests put the lines that a container would write into
moto's CloudWatch Logs themselves, in the stream that the awslogs driver would use."""

from __future__ import annotations

import io
import json
import time
import types
import uuid

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecr_deploy.aws.logs import LogCursor
from tests.conftest import applied_outputs, run

pytestmark = [pytest.mark.engine, pytest.mark.xdist_group("ecs"), pytest.mark.usefixtures("one_service_test_at_a_time")]


def logs():
    return boto3.client("logs")


def write_lines(group: str, task: str, lines: list[tuple[int, str]], prefix: str = "app") -> None:
    """What the awslogs driver does for a container: lines, at ms timestamps, in the task's stream (the web's
    stream prefix is app; a process's, its name)."""
    stream = f"{prefix}/app/{task}"
    try:
        logs().create_log_stream(logGroupName=group, logStreamName=stream)
    except logs().exceptions.ResourceAlreadyExistsException:
        pass
    logs().put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": stamp, "message": message} for stamp, message in lines],
    )


def task_id() -> str:
    return uuid.uuid4().hex


def logs_of(*flags: str) -> str:
    out = io.StringIO()
    call_command("logs_ecs", *flags, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_logs_interleaves_the_tasks_lines_in_time_and_selects_by_task_and_pattern(service):
    group = applied_outputs(service)["grupo_logs"]
    web, migrate, now = task_id(), task_id(), int(time.time() * 1000)
    mark = uuid.uuid4().hex[:6]  # this test's lines, among those of other tests in the same group
    write_lines(group, web, [(now - 3000, f"{mark} web boots"), (now - 1000, f"{mark} web GET /clientes/ 200")])
    write_lines(group, migrate, [(now - 2000, f"{mark} migrate ERROR no such table")])
    ours = [line for line in json.loads(logs_of("--json", "--since", "5m"))["lines"] if mark in line["message"]]
    assert [(line["task"], line["message"]) for line in ours] == [
        (web, f"{mark} web boots"),
        (migrate, f"{mark} migrate ERROR no such table"),
        (web, f"{mark} web GET /clientes/ 200"),
    ]
    assert ours[0]["stream"] == f"app/app/{web}"
    only_migrate = json.loads(logs_of("--json", "--task", migrate[:8]))["lines"]
    assert [line["message"] for line in only_migrate] == [f"{mark} migrate ERROR no such table"]
    text = logs_of("--filter", "ERROR", "--since", "5m").splitlines()
    assert f"{migrate[:8]} " in next(line for line in text if mark in line)
    assert not [line for line in text if f"{mark} web" in line]


def test_process_and_schedule_narrow_logs_scale_and_run_to_the_worker_or_the_job(service):
    """--process worker: the worker's lines alone (its stream prefix), its own bounds (PROCESSES' min and max), a task
    of its revision. --schedule limpeza: the lines of the tasks its schedule ran (their group); moto's Scheduler runs
    nothing, so that task is run here as Scheduler runs it."""
    name, group = service["name"], applied_outputs(service)["grupo_logs"]
    run("deploy_ecs")
    web, worker, job, now = task_id(), task_id(), task_id(), int(time.time() * 1000)
    mark = uuid.uuid4().hex[:6]
    write_lines(group, web, [(now - 3000, f"{mark} web GET /clientes/ 200")])
    write_lines(group, worker, [(now - 2000, f"{mark} worker task succeeded")], prefix="worker")

    def ours(*flags: str) -> list[str]:
        found = json.loads(logs_of("--json", "--since", "5m", *flags))["lines"]
        return [line["message"] for line in found if mark in line["message"]]

    assert ours() == [f"{mark} web GET /clientes/ 200", f"{mark} worker task succeeded"]
    assert ours("--process", "worker") == [f"{mark} worker task succeeded"]
    assert ours("--process", "web") == [f"{mark} web GET /clientes/ 200"]

    ecs = boto3.client("ecs")
    web_revision = ecs.describe_services(cluster=name, services=[name])["services"][0]["taskDefinition"]
    network = ecs.describe_services(cluster=name, services=[name])["services"][0]["networkConfiguration"]
    (ran,) = ecs.run_task(
        cluster=name,
        taskDefinition=web_revision,
        launchType="FARGATE",
        group="agendamento:limpeza",
        networkConfiguration=network,
        overrides={"containerOverrides": [{"name": "app", "command": ["python", "manage.py", "clearsessions"]}]},
    )["tasks"]
    job = ran["taskArn"].rsplit("/", 1)[-1]
    write_lines(group, job, [(now - 1000, f"{mark} clearsessions done")])
    assert ours("--schedule", "limpeza") == [f"{mark} clearsessions done"]
    status = io.StringIO()
    call_command("status_ecs", stdout=status, stderr=io.StringIO())
    (row,) = [line for line in status.getvalue().splitlines() if line.startswith("schedule: limpeza:")]
    assert ", last run " in row and "no run listed" not in row

    worker_service = f"{name}-worker"
    scaled_to, log = run("scale_ecs", "--process", "worker", "--desired", "2")
    assert (scaled_to["service"], scaled_to["min_tasks"], scaled_to["max_tasks"]) == (worker_service, 1, 3)
    assert scaled_to["desired"] == scaled_to["running"] == 2 and f"Scale {worker_service}:" in log
    assert run("scale_ecs", "--process", "worker", "--desired", "1")[0]["desired"] == 1
    with pytest.raises(
        CommandError, match=r"differ from the settings' min 1 and max 3.*\['worker'\]: \"min\": 1, \"max\": 5"
    ):
        call_command("scale_ecs", "--process", "worker", "--max", "5", stdout=io.StringIO(), stderr=io.StringIO())
    for command, flags in (("scale_ecs", []), ("logs_ecs", []), ("run_ecs", ["--", "true"])):
        with pytest.raises(
            CommandError, match=r"--process beat: the service has no such process \(it has web, worker\)"
        ):
            call_command(command, "--process", "beat", *flags, stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(
        CommandError, match=r"--schedule nightly: the service has no such scheduled job \(it has limpeza\); SCHEDULES"
    ):
        logs_of("--schedule", "nightly")

    record, _ = run("run_ecs", "--process", "worker", "--", "celery", "-A", "setup", "report")
    task = ecs.describe_tasks(cluster=name, tasks=[record["task_arn"]])["tasks"][0]
    worker_revision = ecs.describe_services(cluster=name, services=[worker_service])["services"][0]["taskDefinition"]
    assert task["taskDefinitionArn"] == worker_revision and record["exit_code"] == 0


def test_a_cursor_reads_every_line_once_across_pages_polls_and_late_arrivals(service):
    group = applied_outputs(service)["grupo_logs"]
    task, now = task_id(), int(time.time() * 1000)
    stream = f"app/app/{task}"
    write_lines(group, task, [(now - 10_000 + 10 * i, f"line {i}") for i in range(5)])
    cursor = LogCursor(logs(), group, now - 60_000, streams=[stream], page_size=2)  # three pages
    assert [line.message for line in cursor.read()] == [f"line {i}" for i in range(5)]
    assert cursor.read() == []
    # One line later than the newest, and one that reaches CloudWatch late with an earlier timestamp.
    write_lines(group, task, [(now - 9_995, "late line")])
    write_lines(group, task, [(now - 1_000, "new line")])
    assert [line.message for line in cursor.read()] == ["late line", "new line"]
    assert cursor.read() == []


def test_follow_shows_new_lines_as_they_come_and_ctrl_c_exits_0(service, monkeypatch):
    import ecr_deploy.workflows.logs as workflow

    group = applied_outputs(service)["grupo_logs"]
    task, now = task_id(), int(time.time() * 1000)
    write_lines(group, task, [(now - 2000, "before")])
    polls = []

    def sleep(_seconds: float) -> None:
        """Between polls: the container writes one more line, then the user presses Ctrl-C."""
        polls.append(_seconds)
        if len(polls) == 1:
            write_lines(group, task, [(int(time.time() * 1000), "after")])
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(workflow, "time", types.SimpleNamespace(sleep=sleep))
    text = logs_of("--follow", "--task", task)  # returns: exit 0
    assert [line.split(" ", 2)[2] for line in text.splitlines()] == ["before", "after"]
    assert all(line.startswith(task[:8] + " ") for line in text.splitlines())


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--since", "yesterday"), "neither a duration .* nor an ISO time"),
        (("--since", "2999-01-01"), "is in the future"),
        (("--task", "0" * 32), "No log stream for a task 0{32}"),
    ],
)
def test_bad_logs_input_is_a_clear_error(service, flags, message):
    with pytest.raises(CommandError, match=message):
        logs_of(*flags)


def test_logs_of_a_missing_log_group_is_a_clear_error(service):
    """The group that a revision names, deleted since (by hand, or by destroy_ecs): read through the public pieces,
    so that the shared service's group stays as terraform made it."""
    from ecr_deploy.aws.logs import task_streams
    from ecr_deploy.errors import DeployError

    with pytest.raises(DeployError, match="The log group /ecs/nunca-feito does not exist"):
        LogCursor(logs(), "/ecs/nunca-feito", 0).read()
    with pytest.raises(DeployError, match="The log group /ecs/nunca-feito does not exist"):
        task_streams(logs(), "/ecs/nunca-feito", "app/app/")


class RecordingSession:
    """A boto3 session on the local AWS that plays, when RunTask answers, the container's awslogs driver: it writes
    lines to the new task's stream. It keeps ECS's answers; an `ecs` client given replaces the real one."""

    def __init__(self, group: str, lines: list[str], ecs_client=None) -> None:
        self.real = boto3.Session()
        self.answers: dict[str, dict] = {}
        self.ecs_client = ecs_client
        self.real.events.register("after-call.ecs.*", self.keep)
        self.group, self.lines = group, lines

    def keep(self, parsed, model, **_) -> None:
        self.answers[model.name] = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
        if model.name == "RunTask" and parsed.get("tasks"):
            task, now = parsed["tasks"][0]["taskArn"].rsplit("/", 1)[-1], int(time.time() * 1000)
            write_lines(self.group, task, [(now + i, line) for i, line in enumerate(self.lines)])

    def client(self, kind: str, **options):
        return self.ecs_client if kind == "ecs" and self.ecs_client else self.real.client(kind, **options)

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def run_ecs(*arguments: str) -> tuple[str, str, int]:
    """run_ecs's stdout, stderr and exit code."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("run_ecs", *arguments, stdout=out, stderr=err)
    except SystemExit as exited:
        return out.getvalue(), err.getvalue(), exited.code
    return out.getvalue(), err.getvalue(), 0


CREATESUPERUSER = ["python", "manage.py", "createsuperuser", "--noinput"]


def test_run_ecs_runs_a_task_of_the_running_revision_streams_its_log_and_exits_with_its_code(service, monkeypatch):
    deployed, _ = run("deploy_ecs")
    session = RecordingSession(applied_outputs(service)["grupo_logs"], ["Superuser created successfully."])
    monkeypatch.setattr("ecr_deploy.aws.session.aws_session", lambda *_: session)
    out, _, code = run_ecs("--env-var", "DJANGO_SUPERUSER_USERNAME=admin", "--", *CREATESUPERUSER)
    assert code == 0
    assert any(line.endswith("Z Superuser created successfully.") for line in out.splitlines())  # the log, timed
    task_arn = session.answers["RunTask"]["tasks"][0]["taskArn"]
    assert f"Task {task_arn.rsplit('/', 1)[-1]}: exited 0" in out
    task = boto3.client("ecs").describe_tasks(cluster=service["name"], tasks=[task_arn])["tasks"][0]
    assert task["taskDefinitionArn"] == deployed["task_definition"]
    (override,) = task["overrides"]["containerOverrides"]
    assert override["command"] == CREATESUPERUSER
    assert override["environment"] == [{"name": "DJANGO_SUPERUSER_USERNAME", "value": "admin"}]
    record, _ = run("run_ecs", "--", "python", "manage.py", "check")
    assert record["exit_code"] == 0 and record["status"] == "STOPPED"
    assert record["log"] == ["Superuser created successfully."]  # the recording session wrote it for this task too


def stubbed_run(service, monkeypatch, *, status: str, exit_code: int | None) -> RecordingSession:
    """A session whose ECS client answers with moto's own answers to a real run, recorded, the task's last one
    changed to status and exit_code: moto's tasks always exit 0 and stop at once."""
    from botocore.stub import Stubber

    recorder = RecordingSession(applied_outputs(service)["grupo_logs"], ["Traceback: boom"])
    monkeypatch.setattr("ecr_deploy.aws.session.aws_session", lambda *_: recorder)
    assert run_ecs("--", "python", "manage.py", "check")[2] == 0
    answers = recorder.answers
    task = answers["DescribeTasks"]["tasks"][0]
    task["lastStatus"] = status
    task["containers"][0].pop("exitCode", None)
    if exit_code is not None:
        task["containers"][0]["exitCode"] = exit_code
    client = boto3.client("ecs")
    stubber = Stubber(client)
    for method in ("describe_services", "describe_task_definition", "run_task", "describe_tasks", "describe_tasks"):
        stubber.add_response(method, answers["".join(part.title() for part in method.split("_"))])
    stubber.activate()
    replay = RecordingSession(recorder.group, [], ecs_client=client)
    monkeypatch.setattr("ecr_deploy.aws.session.aws_session", lambda *_: replay)
    return replay


def test_a_task_that_exits_non_zero_gives_run_ecs_its_exit_code_recorded_answers(service, monkeypatch):
    stubbed_run(service, monkeypatch, status="STOPPED", exit_code=3)
    out, _, code = run_ecs("--", "python", "manage.py", "check")
    assert code == 3 and "exited 3" in out


def test_a_task_still_running_at_the_timeout_is_left_running_and_run_ecs_says_so_recorded_answers(service, monkeypatch):
    stubbed_run(service, monkeypatch, status="RUNNING", exit_code=None)
    _, err, code = run_ecs("--timeout", "0.1", "--", "python", "manage.py", "check")
    assert code == 124
    assert "is still RUNNING after 0.1s; it goes on" in err and "logs_ecs --follow --task" in err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--env-var", "DATABASE_PASSWORD=x", "--", "true"], "DATABASE_PASSWORD: a secret is never passed as a value"),
        (["--env-var", "API_TOKEN=x", "--", "true"], "API_TOKEN: a secret is never passed"),
        (["--env-var", "NOEQUALS", "--", "true"], "is not NAME=VALUE"),
        (["--timeout", "0", "--", "true"], "--timeout must be a positive number"),
        ([], "Give the command after --"),
    ],
)
def test_bad_run_ecs_input_is_refused_before_any_task_starts(service, arguments, message):
    before = boto3.client("ecs").list_tasks(cluster=service["name"])["taskArns"]
    with pytest.raises(CommandError, match=message):
        run_ecs(*arguments)
    assert boto3.client("ecs").list_tasks(cluster=service["name"])["taskArns"] == before


def scaled(service) -> tuple[tuple[int, int], int, int]:
    """Autoscaling's (min, max), and the service's desired and running counts, as AWS has them."""
    name = service["name"]
    (target,) = boto3.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[f"service/{name}/{name}"]
    )["ScalableTargets"]
    live = boto3.client("ecs").describe_services(cluster=name, services=[name])["services"][0]
    return (target["MinCapacity"], target["MaxCapacity"]), live["desiredCount"], live["runningCount"]


@pytest.fixture
def ecs_vars(service, settings):
    """Sets the service's TERRAFORM_VARS in settings; puts the service back at the defaults (1..4, 1 task) after."""

    def write(**variables) -> None:
        ecs = service["ecr_deploy"]["ECS"]
        settings.ECR_DEPLOY = {
            **service["ecr_deploy"],
            "ECS": {**ecs, "TERRAFORM_VARS": {**ecs["TERRAFORM_VARS"], **variables}},
        }

    yield write
    write()
    call_command("scale_ecs", "--desired", "1", stdout=io.StringIO(), stderr=io.StringIO())


def test_scale_sets_the_bounds_and_desired_count_waits_steady_and_provision_keeps_them(service, ecs_vars):
    ecs_vars(tarefas_min=2, tarefas_max=3)
    scaled_to, log = run("scale_ecs", "--min", "2", "--max", "3", "--desired", "3")
    assert (scaled_to["min_tasks"], scaled_to["max_tasks"], scaled_to["desired"], scaled_to["running"]) == (2, 3, 3, 3)
    assert scaled_to["before"] == {"min_tasks": 1, "max_tasks": 4, "desired": 1} and scaled_to["changed"] is True
    assert "Scale " in log and "min 1 -> 2, max 4 -> 3, desired 1 -> 3" in log
    assert scaled(service) == ((2, 3), 3, 3)
    _, applied = run("provision_ecs", "--force-terraform", "-v", "2")  # the next provision, with the settings
    assert "aws_appautoscaling_target.app: Modifying" not in applied and "Apply complete!" in applied
    assert scaled(service) == ((2, 3), 3, 3)
    again, _ = run("scale_ecs")  # the settings' bounds, the current count: nothing to change
    assert again["changed"] is False and scaled(service) == ((2, 3), 3, 3)
    text = io.StringIO()
    call_command("scale_ecs", stdout=text, stderr=io.StringIO())
    assert text.getvalue().splitlines()[-1] == f"{service['name']}: 3 of 3 tasks running; autoscaling between 2 and 3."


@pytest.mark.parametrize(
    ("flags", "variables", "message"),
    [
        (
            ["--min", "2", "--max", "6"],
            {},
            r"differ from the settings' tarefas_min 1 and tarefas_max 4.*\"tarefas_min\": 2",
        ),
        (["--desired", "5"], {}, r"--desired 5 is outside --min 1 .. --max 4"),
        (["--min", "3", "--max", "2"], {}, r"give 0 <= min <= max"),
        (["--min", "0", "--max", "0"], {"tarefas_min": 0, "tarefas_max": 0}, r"and max at least 1"),
        (["--timeout", "-1"], {}, r"--timeout must be a positive number"),
    ],
)
def test_a_bad_scale_is_refused_and_changes_nothing(service, ecs_vars, flags, variables, message):
    ecs_vars(**variables)
    before = scaled(service)
    with pytest.raises(CommandError, match=message):
        call_command("scale_ecs", *flags, stdout=io.StringIO(), stderr=io.StringIO())
    assert scaled(service) == before


def test_more_than_one_task_on_the_images_sqlite_is_refused(service, settings):
    settings.ECR_DEPLOY = {**service["ecr_deploy"], "ECS": {**service["ecr_deploy"]["ECS"], "DATABASE": "none"}}
    before = scaled(service)
    with pytest.raises(CommandError, match=r"More than one task \(--max 4\) with the image's SQLite"):
        call_command("scale_ecs", stdout=io.StringIO(), stderr=io.StringIO())
    assert scaled(service) == before


def test_a_task_run_locally_ships_its_log_through_the_awslogs_driver_and_logs_ecs_shows_it(service, docker_client):
    """The local run of a task definition is Fargate's here too: the engine's awslogs driver sends the container's
    lines to the local AWS's CloudWatch Logs, in the stream PREFIX/CONTAINER/TASK_ID."""
    from ecr_deploy.image.local_task import TASK_LABEL
    from ecr_deploy.workflows.local_run import run_task_definition_locally

    deployed, _ = run("deploy_ecs")
    definition = boto3.client("ecs").describe_task_definition(taskDefinition=deployed["task_definition"])
    mark = uuid.uuid4().hex
    command = ["python", "-c", f"print('hello from the task {mark}', flush=True)"]
    container = run_task_definition_locally(
        docker_client, boto3.Session(), definition["taskDefinition"], "app", command=command
    )
    try:
        assert container.wait(timeout=120)["StatusCode"] == 0
        task = container.labels[TASK_LABEL]
        assert f"hello from the task {mark}" in container.logs().decode()  # the engine keeps a local copy too
    finally:
        container.remove(force=True)
    lines = []
    for _ in range(60):  # the driver sends in batches (its stream is made when the container starts)
        lines = json.loads(logs_of("--json", "--task", task))["lines"]
        if lines:
            break
        time.sleep(1)
    assert [(line["task"], line["message"]) for line in lines] == [(task, f"hello from the task {mark}")]
    assert lines[0]["stream"] == f"app/app/{task}"
