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


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        # 03:00 in São Paulo (UTC-3, no daylight saving since 2019) is 06:00 UTC: after 11:00 UTC, the next day's.
        ("cron(0 3 * * ? *)", "America/Sao_Paulo", "2026-12-05T11:00:00+00:00", "2026-12-06T03:00:00-03:00"),
        # Weekdays only: from a Saturday, Monday's first quarter hour of 9 to 17.
        ("cron(0/15 9-17 ? * MON-FRI *)", "UTC", "2026-12-05T11:00:00+00:00", "2026-12-07T09:00:00+00:00"),
        ("cron(30 8 1 JAN,JUL ? 2027)", "UTC", "2026-12-05T11:00:00+00:00", "2027-01-01T08:30:00+00:00"),
        ("at(2027-01-01T03:00:00)", "Europe/Lisbon", "2026-12-05T11:00:00+00:00", "2027-01-01T03:00:00+00:00"),
        ("at(2026-01-01T03:00:00)", "UTC", "2026-12-05T11:00:00+00:00", None),  # past: it never runs again
        ("rate(5 minutes)", "UTC", "2026-12-05T11:00:00+00:00", None),  # counts from when its schedule was made
        ("cron(0 3 L * ? *)", "UTC", "2026-12-05T11:00:00+00:00", None),  # L: valid, not computed
    ],
)
def test_a_schedules_next_run_is_the_first_time_its_expression_fires_in_its_time_zone(
    expression, timezone, after, expected
):
    from datetime import datetime

    from ecr_deploy.schedules import expression_problem, next_run

    assert expression_problem(expression, timezone) is None
    found = next_run(expression, timezone, datetime.fromisoformat(after))
    assert (found.isoformat() if found else None) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 3 * * *)", "a cron expression has six fields"),
        ("cron(0 3 * * MON *)", "one of day-of-month and day-of-week must be ?"),
        ("cron(0 24 * * ? *)", "'24' is not a hours (0 to 23)"),
        ("cron(0 3 ? FOO * *)", "'FOO' is not a month (1 to 12, or JAN...)"),
        ("cron(0 5-3 * * ? *)", "'5-3' in hours is an empty range"),
        ("rate(1 hours)", "a rate is 1 hour, or 2 or more hours"),
        ("rate(0 minutes)", "a rate is 1 minute, or 2 or more minutes"),
        ("rate(5 weeks)", "is not a schedule expression"),
        ("at(2027-02-30T03:00:00)", "is not a date and time"),
        ("0 3 * * *", "is not a schedule expression"),
    ],
)
def test_a_schedule_expression_that_scheduler_refuses_is_named_with_why(expression, problem):
    from ecr_deploy.schedules import expression_problem

    assert problem in (expression_problem(expression, "UTC") or "")
