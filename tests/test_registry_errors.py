"""How registry errors are read: by the distribution spec's code or the HTTP status, never by a substring.

The recorded table (tests/data/registry_errors.json) holds what dockerd really said, captured by
tests/record_registry_errors.py from the Debian registry and from a server answering with each status.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecr_deploy.image.build import public_source_url
from ecr_deploy.image.registry import backoff_delay, classify_registry_error

RECORDED = json.loads((Path(__file__).parent / "data" / "registry_errors.json").read_text())


@pytest.mark.parametrize("case", RECORDED, ids=[f"{c['scenario']}-{c['source']}" for c in RECORDED])
def test_recorded_registry_errors_are_classified_by_their_code(case):
    assert case["message"], "the recording holds no message for this scenario"
    assert classify_registry_error(case["message"]).action == case["expected"]


@pytest.mark.parametrize(
    ("message", "action", "status"),
    [
        ("unauthorized: authentication required", "reauthenticate", 401),
        ("denied: requested access to the resource is denied", "fail", 403),
        ("toomanyrequests: Rate exceeded", "retry", 429),
        ("unavailable: service unavailable", "retry", 503),
        ("received unexpected HTTP status: 502 Bad Gateway", "retry", 502),
        ("received unexpected HTTP status: 501 Not Implemented", "fail", 501),
        ("unexpected status code 404 Not Found", "fail", 404),
        ("tag invalid: The image tag 'V1' already exists and cannot be overwritten", "fail", 400),
        ("name unknown: The repository with name 'x' does not exist", "fail", 404),
        ("blob unknown: blob unknown to registry", "fail", 404),
        ("manifest invalid: manifest invalid", "fail", 400),
    ],
)
def test_codes_and_statuses(message, action, status):
    failure = classify_registry_error(message)
    assert (failure.action, failure.status) == (action, status)


@pytest.mark.parametrize(
    "message",
    [
        'Put "https://h/v2/x/blobs/uploads/": dial tcp 127.0.0.2:443: connect: connection refused',
        "read tcp 127.0.0.1:5->127.0.0.1:443: read: connection reset by peer",
        "net/http: TLS handshake timeout",
        'Patch "https://h/v2/x/blobs/uploads/1": write tcp 127.0.0.1:5->127.0.0.2:443: write: broken pipe',
        'Get "https://h/v2/": dial tcp: lookup h: no such host',
        "unexpected EOF",
        'Put "https://h/v2/x/manifests/V1": EOF',
    ],
)
def test_connection_failures_are_retried(message):
    assert classify_registry_error(message).action == "retry"


def test_a_401_inside_a_digest_is_not_an_authentication_failure():
    message = "manifest invalid: sha256:4010a1b2c3401d401 does not match"
    assert classify_registry_error(message).action == "fail"


def test_an_unreadable_message_fails_at_once():
    assert classify_registry_error("something nobody has seen before").action == "fail"


def test_retry_after_is_read_when_given():
    assert classify_registry_error("toomanyrequests: Rate exceeded; Retry-After: 7").retry_after == 7.0


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_backoff_is_exponential_with_jitter_and_honours_retry_after(attempt):
    ceiling = 2.0 * 2 ** (attempt - 1)
    delays = {backoff_delay(attempt, 2.0) for _ in range(50)}
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays) and len(delays) > 1
    assert backoff_delay(attempt, 2.0, retry_after=100) == 100


@pytest.mark.parametrize(
    ("remote", "label"),
    [
        (
            "https://gitlab-ci-token:glcbt-SECRET@gitlab.example.com/team/app.git",
            "https://gitlab.example.com/team/app.git",
        ),
        ("https://x-access-token:ghs_SECRET@github.com/team/app.git?ref=main#top", "https://github.com/team/app.git"),
        ("ssh://deploy:SECRET@host.example:2222/team/app.git", "ssh://host.example:2222/team/app.git"),
        ("git@github.com:team/app.git", "github.com:team/app.git"),
        ("", "unknown"),
    ],
)
def test_the_source_label_keeps_no_userinfo_query_or_fragment(remote, label):
    assert public_source_url(remote) == label
