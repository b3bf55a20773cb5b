"""Output as Django's commands write it: progress on stderr in its own style, plain lines without colour or
a terminal, and verbosity that decides how much of the build log and terraform's output is shown."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command

from ecr_deploy.management.commands.publish_ecr import Command as PublishCommand

ERROR_COLOUR = "\x1b[31;1m"  # Django's style for ERROR


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def tiny_project(tmp_path, settings, docker_client):
    """A one-step project whose image is this test's own, by name and content: tests on other workers build and
    remove theirs meanwhile, and an image shared through the build cache could vanish under this one."""
    tag = f"tiny-output-{uuid.uuid4().hex[:8]}:V1"
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.13-slim\nRUN echo built-step-output for {tag}\n")
    settings.ECR_DEPLOY = {"CONTEXT_DIR": str(tmp_path)}
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.mark.engine
def test_progress_on_a_terminal_stderr_is_not_styled_as_an_error(tiny_project):
    out, err = io.StringIO(), Terminal()
    call_command("build_image", "--tag", tiny_project, "--json", "-v", "2", "--force-color", stdout=out, stderr=err)
    assert f"Building {tiny_project}" in err.getvalue() and "built-step-output" in err.getvalue()
    assert ERROR_COLOUR not in err.getvalue()
    assert json.loads(out.getvalue())["tags"] == [tiny_project]


@pytest.mark.engine
def test_verbosity_1_shows_the_steps_and_the_result_not_the_build_log(tiny_project):
    normal, detailed = io.StringIO(), io.StringIO()
    call_command("build_image", "--tag", tiny_project, stdout=normal)
    call_command("build_image", "--tag", tiny_project, "-v", "2", stdout=detailed)
    assert f"Building {tiny_project}" in normal.getvalue() and "Built sha256:" in normal.getvalue()
    assert "RUN echo built-step-output" not in normal.getvalue()
    assert "RUN echo built-step-output" in detailed.getvalue()


def layer_progress(stdout: io.StringIO, **options) -> str:
    """What publish_ecr's layer renderer writes for a short push, with the given command options."""
    command = PublishCommand(stdout=stdout, no_color=options.get("no_color", False))
    command.as_json, command.verbosity, command.no_color = False, 1, options.get("no_color", False)
    command.layers, command.redrawing = {}, False
    for status, current in (("Pushing", 10), ("Pushing", 20), ("Pushed", 0)):
        command.render_layer("abc123", status, current, 20 if current else 0)
    command.end_redraw()
    return stdout.getvalue()


def test_a_terminal_gets_layer_progress_redrawn_in_place(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    written = layer_progress(Terminal())
    assert "\r" in written and "\x1b[K" in written


@pytest.mark.parametrize(("stream", "options"), [(io.StringIO, {}), (Terminal, {"no_color": True})])
def test_no_terminal_or_no_color_gives_one_plain_line_per_state(monkeypatch, stream, options):
    monkeypatch.delenv("CI", raising=False)
    written = layer_progress(stream(), **options)
    assert written == "  abc123: Pushing\n  abc123: Pushed\n"


def test_terraform_plan_totals_and_destroys_are_summary_lines():
    from ecr_deploy.terraform.cli import split_summary

    summary, detail = [], []
    output = split_summary(detail.append, summary.append)
    for line in (
        "Terraform will perform the following actions:\n",
        "  # aws_ecr_repository.repositorio will be destroyed\n",
        "  # aws_ecr_repository.repositorio must be replaced\n",
        "  # aws_ecr_repository.repositorio will be created\n",
        "Plan: 1 to add, 0 to change, 1 to destroy.\n",
        "Apply complete! Resources: 1 added, 0 changed, 1 destroyed.\n",
    ):
        output(line)
    assert len(summary) == 4 and not any("will be created" in line for line in summary)
    assert detail == [
        "Terraform will perform the following actions:\n",
        "  # aws_ecr_repository.repositorio will be created\n",
    ]


def test_a_projects_logging_adds_no_line_to_a_commands_output(monkeypatch):
    """A project's LOGGING with the root logger at DEBUG (cookiecutter-django's is at INFO) would print botocore's
    lines, its signed request among them, in the middle of the command's output."""
    import logging

    from django.core.management.base import CommandError

    for key, value in {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing answers: the command fails at its first call
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with pytest.raises(CommandError, match="Cannot reach the AWS API"):
            call_command("status_ecs", stdout=io.StringIO(), stderr=io.StringIO())
        logging.getLogger("botocore.credentials").info("after the command: logging is the project's again")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert logged.getvalue() == "after the command: logging is the project's again\n"
