"""Validators for ECR repository names and Docker tags, applied before any call leaves the machine."""

import re

from ecr_deploy.errors import ConfigurationError

# ECR: lowercase components separated by . _ - and optional / namespaces, 2 to 256 characters.
_REPOSITORY = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
# Docker and ECR: a word character then up to 127 of word characters, dots and dashes.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# An image digest as registries and publish_ecr print it.
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# botocore's own rule for a region name.
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")


def validate_repository(name: str) -> str:
    if not isinstance(name, str) or not (2 <= len(name) <= 256) or not _REPOSITORY.fullmatch(name):
        raise ConfigurationError(
            f"Invalid repository name {name!r}: use 2 to 256 lowercase letters, digits and . _ - "
            "(separators between letters or digits), optionally with / namespaces, e.g. 'producao'."
        )
    return name


def validate_tag(tag: str) -> str:
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise ConfigurationError(
            f"Invalid tag {tag!r}: use 1 to 128 letters, digits, _ . - not starting with . or -, e.g. 'V1'."
        )
    return tag


def split_image_reference(reference: str) -> tuple[str, str]:
    """'producao:V1' -> ('producao', 'V1'); the name and the tag are both validated."""
    name, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        name, tag = reference, ""
    if not tag:
        raise ConfigurationError(f"Invalid image reference {reference!r}: expected NAME:TAG, e.g. 'producao:V1'.")
    return validate_repository(name), validate_tag(tag)


def validate_region(region: str) -> str:
    if not _REGION.fullmatch(region):
        raise ConfigurationError(f"Invalid AWS region {region!r}: use a region name such as 'us-east-1'.")
    return region


def validate_digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise ConfigurationError(
            f"Invalid digest {digest!r}: expected sha256: and 64 hex digits, as publish_ecr prints."
        )
    return digest
