"""The service's SQS queues (infra/ecs/filas.tf): how many messages each holds."""

from __future__ import annotations

from typing import Any

from ecr_deploy.aws.session import aws_call


def queue_depth(sqs: Any, url: str) -> dict[str, int]:
    """The queue's messages waiting (visible) and being worked on (in flight), as SQS approximates them."""
    attributes = aws_call(
        f"read the queue {url}",
        sqs.get_queue_attributes,
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return {
        "waiting": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }
