"""The database a deployed task is given as DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, DATABASE_USER and
DATABASE_PASSWORD (provision_ecs's RDS: the user and password read by ARN when the task starts)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

#: RDS for PostgreSQL 15 and later refuses unencrypted connections (rds.force_ssl = 1).
DEFAULT_SSLMODE = "require"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
PARTS = ("DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD")


def database_from_environment(default: dict[str, Any], environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Django's DATABASES entry for PostgreSQL from DATABASE_HOST and its companions; default when DATABASE_URL
    is set (it wins) or DATABASE_HOST is not. DATABASE_SSLMODE overrides sslmode=require (verify-full with
    DATABASE_SSLROOTCERT, the RDS CA bundle)."""
    if environ.get("DATABASE_URL") or not environ.get("DATABASE_HOST"):
        return default
    missing = [name for name in PARTS if not environ.get(name)]
    if missing:
        raise ImproperlyConfigured(f"DATABASE_HOST is set, but {', '.join(missing)} is not.")
    port = environ.get("DATABASE_PORT", "5432")
    sslmode = environ.get("DATABASE_SSLMODE", DEFAULT_SSLMODE)
    if not port.isdigit() or sslmode not in SSLMODES:
        raise ImproperlyConfigured(
            f"DATABASE_PORT={port!r} must be a number, and DATABASE_SSLMODE={sslmode!r} one of {', '.join(SSLMODES)}."
        )
    options = {"sslmode": sslmode, "connect_timeout": 3}
    if environ.get("DATABASE_SSLROOTCERT"):
        options["sslrootcert"] = environ["DATABASE_SSLROOTCERT"]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": environ["DATABASE_HOST"],
        "PORT": port,
        "NAME": environ["DATABASE_NAME"],
        "USER": environ["DATABASE_USER"],
        "PASSWORD": environ["DATABASE_PASSWORD"],
        "OPTIONS": options,
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
