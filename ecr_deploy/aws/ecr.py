"""The ECR API: repositories, their tags, the authorization token, which digest a tag points at (no Docker engine:
ecspresso reads digests the same way), and a tag put on an image that is already there."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

from ecr_deploy.aws.session import aws_call, aws_call_or_none
from ecr_deploy.common import RegistryAuth
from ecr_deploy.errors import AwsError


class EcrApi:
    """One registry's ECR API, through the boto3 client it is handed."""

    def __init__(self, ecr_client: Any) -> None:
        self.ecr = ecr_client
        self._auth: RegistryAuth | None = None

    def repository(self, name: str) -> dict[str, Any] | None:
        """The repository's description, or None when it does not exist."""
        described = aws_call_or_none(
            f"describe repository {name}",
            "RepositoryNotFoundException",
            self.ecr.describe_repositories,
            repositoryNames=[name],
        )
        return described["repositories"][0] if described else None

    def tags(self, arn: str) -> dict[str, str]:
        listed = aws_call("list the repository's tags", self.ecr.list_tags_for_resource, resourceArn=arn)
        return {tag["Key"]: tag["Value"] for tag in listed.get("tags", [])}

    def image_count(self, repository: str) -> int:
        count, token = 0, None
        while True:
            page = aws_call(
                f"list the images of {repository}",
                self.ecr.describe_images,
                repositoryName=repository,
                **({"nextToken": token} if token else {}),
            )
            count += len(page.get("imageDetails", []))
            token = page.get("nextToken")
            if not token:
                return count

    def delete_repository(self, repository: str, *, with_images: bool) -> None:
        """Delete the repository; one that holds images only with_images."""
        aws_call(
            f"delete the repository {repository}",
            self.ecr.delete_repository,
            repositoryName=repository,
            force=with_images,
        )

    def authorization(self, *, refresh: bool = False) -> RegistryAuth:
        """Registry credentials from GetAuthorizationToken, fetched again when they expire within 5 minutes."""
        if self._auth and not refresh and not self._auth.is_stale():
            return self._auth
        data = aws_call("get an ECR authorization token", self.ecr.get_authorization_token)["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        expires_at = data.get("expiresAt") or datetime.now(timezone.utc) + timedelta(hours=12)
        self._auth = RegistryAuth(
            username=username, password=password, endpoint=data["proxyEndpoint"], expires_at=expires_at
        )
        return self._auth

    def image_digest(self, repository: str, reference: str) -> str | None:
        """The digest that reference (a tag, or sha256:... to check a digest is there) names in repository, or
        None when the repository holds no such image (DescribeImages)."""
        image = self.image(repository, reference)
        return image["imageDigest"] if image else None

    def image_tags(self, repository: str, digest: str) -> list[str]:
        """The tags that point at digest in repository (none when the image is gone from it)."""
        image = self.image(repository, digest)
        return sorted(image.get("imageTags", [])) if image else []

    def image(self, repository: str, reference: str) -> dict[str, Any] | None:
        """DescribeImages' detail of the image that reference (a tag, or sha256:...) names; None when absent."""
        image_id = {"imageDigest": reference} if reference.startswith("sha256:") else {"imageTag": reference}
        described = aws_call_or_none(
            f"read the image {repository}:{reference}",
            "ImageNotFoundException",
            self.ecr.describe_images,
            repositoryName=repository,
            imageIds=[image_id],
        )
        details = (described or {}).get("imageDetails", [])
        return details[0] if details else None

    def tag_image(self, repository: str, digest: str, tag: str) -> bool:
        """Point tag at the image digest (its manifest put again under the tag, as ECR documents for retagging); False
        when the repository's tags are IMMUTABLE and tag is on another image already."""
        if tag in self.image_tags(repository, digest):
            return True
        got = aws_call(
            f"read the manifest of {repository}@{digest}",
            self.ecr.batch_get_image,
            repositoryName=repository,
            imageIds=[{"imageDigest": digest}],
        )
        if not got.get("images"):
            reasons = "; ".join(f"{f.get('failureCode')}: {f.get('failureReason')}" for f in got.get("failures", []))
            raise AwsError(f"ECR has no image {repository}@{digest} to tag {tag} ({reasons or 'no reason given'}).")
        image = got["images"][0]
        put = aws_call_or_none(
            f"tag {repository}@{digest} as {tag}",
            "ImageTagAlreadyExistsException",
            self.ecr.put_image,
            repositoryName=repository,
            imageManifest=image["imageManifest"],
            imageManifestMediaType=image.get("imageManifestMediaType", ""),
            imageTag=tag,
        )
        return put is not None
