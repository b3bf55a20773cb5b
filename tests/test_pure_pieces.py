"""Pure pieces, tested as functions: docker's JSON streams (recorded), error classification, checks, flags."""

import pytest

from ecr_deploy.errors import BuildError
from ecr_deploy.image.build import BuildLog
from ecr_deploy.image.registry import PushLog, PushStreamError
from ecr_deploy.management.commands.build_image import parse_build_args

RECORDED_PUSH = [
    {"status": "The push refers to repository [123456789012.dkr.ecr.us-east-1.amazonaws.com/producao]"},
    {"status": "Preparing", "progressDetail": {}, "id": "aaa"},
    {"status": "Preparing", "progressDetail": {}, "id": "bbb"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "bbb"},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 2048}, "progress": "[==>   ]", "id": "aaa"},
    {"status": "Pushing", "progressDetail": {"current": 2048, "total": 2048}, "progress": "[=====>]", "id": "aaa"},
    {"status": "Pushed", "progressDetail": {}, "id": "aaa"},
    {"status": "V1: digest: sha256:abc size: 1234"},
    {"progressDetail": {}, "aux": {"Tag": "V1", "Digest": "sha256:abc", "Size": 1234}},
]


def test_push_log_reads_digest_bytes_and_layers():
    seen = []
    report = PushLog(lambda layer, status, current, total: seen.append((layer, status))).feed(RECORDED_PUSH)
    assert (report.digest, report.bytes_pushed, report.layers_pushed, report.layers_existing) == (
        "sha256:abc",
        2048,
        1,
        1,
    )
    assert ("aaa", "Pushed") in seen and ("bbb", "Layer already exists") in seen


def test_push_log_raises_on_an_error_line_even_after_progress():
    stream = RECORDED_PUSH[:5] + [{"errorDetail": {"message": "denied: not allowed"}, "error": "denied: not allowed"}]
    with pytest.raises(PushStreamError, match="denied: not allowed"):
        PushLog(lambda *_: None).feed(stream)


def test_push_log_without_a_digest_is_an_error():
    with pytest.raises(PushStreamError, match="without a digest"):
        PushLog(lambda *_: None).feed(RECORDED_PUSH[:7])


def test_build_log_names_the_failing_step_with_its_output_only():
    log = BuildLog(output=lambda _: None)
    stream = [
        {"stream": "Step 1/2 : FROM python:3.13-slim\n"},
        {"stream": " ---> 0ef3b744a8a9\n"},
        {"stream": "Step 2/2 : RUN make\n"},
        {"stream": " ---> Running in 1234\n"},
        {"stream": "make: *** No targets.  Stop.\n"},
        {"errorDetail": {"code": 2, "message": "The command '/bin/sh -c make' returned a non-zero code: 2"}},
    ]
    with pytest.raises(BuildError) as failed:
        log.feed(stream)
    assert str(failed.value) == (
        "The build failed at Step 2/2 : RUN make: The command '/bin/sh -c make' returned a non-zero code: 2\n"
        "Output of that step:\nmake: *** No targets.  Stop."
    )


def test_build_log_counts_steps_from_cache_and_keeps_the_image_id():
    log = BuildLog(output=lambda _: None)
    image_id = log.feed(
        [
            {"stream": "Step 1/2 : FROM x\n"},
            {"stream": "Step 2/2 : RUN y\n"},
            {"stream": " ---> Using cache\n"},
            {"aux": {"ID": "sha256:feed"}},
        ]
    )
    assert (image_id, log.steps, log.cached_steps) == ("sha256:feed", 2, 1)


def test_build_args_parse_and_keep_equals_in_values():
    assert parse_build_args(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}


def test_checks_report_a_missing_fixture_and_dockerfile(settings, tmp_path):
    from ecr_deploy.checks import check_ecr_deploy_settings

    settings.ECR_DEPLOY = {"FIXTURES": ["nope.json"], "CONTEXT_DIR": str(tmp_path)}
    assert sorted(message.id for message in check_ecr_deploy_settings()) == ["ecr_deploy.W001", "ecr_deploy.W002"]


def test_checks_pass_on_the_project():
    from ecr_deploy.checks import check_ecr_deploy_settings

    assert check_ecr_deploy_settings() == []
