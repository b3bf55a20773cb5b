"""CloudWatch Logs: a log group's lines from every stream, interleaved in time, and a cursor that reads each new line
exactly once, page after page and poll after poll."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ecr_deploy.aws.session import aws_call_or_none
from ecr_deploy.errors import DeployError

#: How far back each poll reads again, for lines that reach CloudWatch after later ones (a slow task's batch).
LATE_MS = 30_000
#: FilterLogEvents takes at most 100 stream names.
MOST_STREAMS = 100


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    stream: str
    message: str
    event_id: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, timezone.utc)

    @property
    def task_id(self) -> str:
        """The task's id: the last part of an ECS stream name (PREFIX/CONTAINER/TASK_ID)."""
        return self.stream.rsplit("/", 1)[-1]


def task_streams(client: Any, group: str, prefix: str) -> list[str]:
    """The names of the group's streams that start with prefix (a task's stream: PREFIX/CONTAINER/TASK_ID)."""
    names: list[str] = []
    token = None
    while True:
        page = aws_call_or_none(
            f"list the log streams of {group}",
            "ResourceNotFoundException",
            client.describe_log_streams,
            logGroupName=group,
            logStreamNamePrefix=prefix,
            **({"nextToken": token} if token else {}),
        )
        if page is None:
            raise DeployError(missing_group(group))
        names += [stream["logStreamName"] for stream in page.get("logStreams", [])]
        token = page.get("nextToken")
        if not token or len(names) >= MOST_STREAMS:
            return names[:MOST_STREAMS]


def missing_group(group: str) -> str:
    return (
        f"The log group {group} does not exist: the service was never provisioned in this account and region, or it "
        "was destroyed. Run `python manage.py provision_ecs` (and deploy_ecs) first."
    )


class LogCursor:
    """The group's lines from start_ms on, optionally only those matching pattern (CloudWatch's filter syntax), from
    the streams named, or from those of a prefix. Each read returns the lines not returned before, in time order; it reads LATE_MS back
    again, so a line that arrives after later ones is still shown, once."""

    def __init__(
        self,
        client: Any,
        group: str,
        start_ms: int,
        *,
        pattern: str = "",
        streams: list[str] | None = None,
        stream_prefix: str = "",
        page_size: int = 10_000,
    ) -> None:
        self.client = client
        self.group = group
        self.start_ms = start_ms
        self.pattern = pattern
        self.streams = streams
        #: Only the streams whose names start with it (a process's: PROCESS/), those of tasks started later too.
        self.stream_prefix = stream_prefix
        self.page_size = page_size
        self.newest_ms = start_ms
        self.seen: dict[str, int] = {}

    def read(self) -> list[LogLine]:
        since = max(self.start_ms, self.newest_ms - LATE_MS)
        fresh = [line for line in self.events_since(since) if line.event_id not in self.seen]
        fresh.sort(key=lambda line: (line.timestamp_ms, line.stream, line.event_id))
        for line in fresh:
            self.seen[line.event_id] = line.timestamp_ms
            self.newest_ms = max(self.newest_ms, line.timestamp_ms)
        horizon = self.newest_ms - LATE_MS
        self.seen = {event: stamp for event, stamp in self.seen.items() if stamp >= horizon}
        return fresh

    def events_since(self, since_ms: int) -> list[LogLine]:
        """Every page of FilterLogEvents from since_ms on."""
        query: dict[str, Any] = {"logGroupName": self.group, "startTime": since_ms, "limit": self.page_size}
        if self.pattern:
            query["filterPattern"] = self.pattern
        if self.streams is not None:
            query["logStreamNames"] = self.streams
        elif self.stream_prefix:
            query["logStreamNamePrefix"] = self.stream_prefix
        lines: list[LogLine] = []
        while True:
            page = aws_call_or_none(
                f"read the log group {self.group}", "ResourceNotFoundException", self.client.filter_log_events, **query
            )
            if page is None:
                raise DeployError(missing_group(self.group))
            lines += [
                LogLine(event["timestamp"], event["logStreamName"], event["message"].rstrip("\n"), event["eventId"])
                for event in page.get("events", [])
            ]
            token = page.get("nextToken")
            if not token or token == query.get("nextToken"):
                return lines
            query["nextToken"] = token
