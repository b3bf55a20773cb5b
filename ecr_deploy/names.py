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


#: The service's name reaches AWS as the cluster, service and family, the load balancer and target group (32
#: characters, no hyphen at either end, not internal-), security groups (not sg-), IAM roles, buckets and, with the
#: RDS database, the instance identifier (a letter first, no --) and the database and user (its - as _).
SERVICE_NAME_LENGTH = 26
_SERVICE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,24}[a-z0-9])?")
_RESERVED_PREFIXES = ("internal-", "sg-")
#: PostgreSQL's reserved key words and RDS's own user, which RDS refuses as a database name or master user.
POSTGRES_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
        "rdsadmin",
    ]
)


def derived_service_name(repository: str) -> str:
    """The service's name from its repository: separators as -, cut to 26 characters, without a - at the end or
    two in a row (a name that was valid before is unchanged)."""
    name = re.sub(r"[/_.]", "-", repository)[:SERVICE_NAME_LENGTH]
    return re.sub(r"-{2,}", "-", name).strip("-")


def service_name_problem(name: str, *, rds: bool) -> str | None:
    """Why AWS would refuse name as the service's name (with an RDS database when rds), or None."""
    if not _SERVICE_NAME.fullmatch(name) or "--" in name:
        return (
            f"the service name {name!r} must be 1 to 26 lowercase letters, digits and single hyphens, with no hyphen "
            "at either end (AWS's rule for load balancer and target group names)"
        )
    if name.startswith(_RESERVED_PREFIXES):
        return (
            f"the service name {name!r} must not begin with internal- or sg- (load balancer and security group names)"
        )
    if rds and not name[0].isalpha():
        return f"the service name {name!r} must begin with a letter: it names the RDS instance"
    if rds and name.replace("-", "_") in POSTGRES_RESERVED:
        return f"the service name {name!r} is a word PostgreSQL reserves: it names the RDS database and its user"
    return None
