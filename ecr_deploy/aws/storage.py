"""The service's storage bucket (infra/ecs/armazenamento.tf): its name, what it holds, its tags, and emptied of
every version before it is deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecr_deploy.aws.session import aws_call, aws_call_or_none
from ecr_deploy.errors import AwsError


@dataclass(frozen=True)
class BucketUsage:
    """The current files of a bucket, and their size (old versions aside)."""

    files: int
    size_bytes: int


def storage_bucket_name(service: str, region: str, account: str) -> str:
    """The bucket's name as infra/ecs names it for a service made with the region in its global names."""
    return f"{service}-{region}-arquivos-{account}"


def bucket_tags(s3: Any, bucket: str) -> dict[str, str] | None:
    """The bucket's tags ({} with none); None when there is no such bucket."""
    if aws_call_or_none(f"read the bucket {bucket}", "404", s3.head_bucket, Bucket=bucket) is None:
        return None
    tagging = aws_call_or_none(f"read the tags of {bucket}", "NoSuchTagSet", s3.get_bucket_tagging, Bucket=bucket)
    return {pair["Key"]: pair["Value"] for pair in (tagging or {}).get("TagSet", [])}


def bucket_usage(s3: Any, bucket: str) -> BucketUsage:
    """Its current files and their size, listed (one request per thousand files)."""
    files = size = 0
    pages: dict[str, Any] = {"Bucket": bucket}
    while True:
        page = aws_call(f"list the files of {bucket}", s3.list_objects_v2, **pages)
        contents = page.get("Contents", [])
        files += len(contents)
        size += sum(item["Size"] for item in contents)
        if not page.get("IsTruncated"):
            return BucketUsage(files, size)
        pages["ContinuationToken"] = page["NextContinuationToken"]


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every version and deletion marker of the (versioned) bucket, since S3 deletes only an empty bucket;
    the number of versions deleted."""
    deleted = 0
    while True:
        page = aws_call(f"list the file versions of {bucket}", s3.list_object_versions, Bucket=bucket)
        objects = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        if not objects:
            return deleted
        answer = aws_call(
            f"delete the files of {bucket}",
            s3.delete_objects,
            Bucket=bucket,
            Delete={"Objects": objects, "Quiet": True},
        )
        if errors := answer.get("Errors"):
            first = errors[0]
            raise AwsError(
                f"S3 refused to delete {first.get('Key')} of {bucket}: {first.get('Code')} {first.get('Message')}."
            )
        deleted += len(objects)
