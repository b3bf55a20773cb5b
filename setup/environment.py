"""Runtime configuration read from the environment, parsed once when the settings load."""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
# What Django matches in ALLOWED_HOSTS: "*", a name (".example.com" for its subdomains too), an IPv4 or [IPv6].
_HOST = re.compile(r"\*|\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\]")
# What Django matches in CSRF_TRUSTED_ORIGINS: a scheme and a host, "*." for its subdomains, an optional port.
_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() not in _TRUE | _FALSE:
        raise ImproperlyConfigured(f"{name}={value!r}: use 1 or 0 (true/false, yes/no, on/off).")
    return value.strip().lower() in _TRUE


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ImproperlyConfigured(f"{name}={value!r}: use a whole number of 0 or more.")
    return int(value)


def env_hosts(name: str) -> list[str] | None:
    """A comma-separated host list: spaces and empty items are dropped; None when the variable is unset."""
    value = os.environ.get(name)
    if value is None:
        return None
    hosts = [item.strip() for item in value.split(",") if item.strip()]
    bad = [host for host in hosts if not _HOST.fullmatch(host)]
    if not hosts or bad:
        raise ImproperlyConfigured(
            f"{name}={value!r}: give comma-separated host names, e.g. 'api.example.com,.example.org'"
            + (f"; not a host name: {', '.join(map(repr, bad))}" if bad else "")
        )
    return hosts


def env_origins(name: str) -> list[str]:
    """A comma-separated list of origins (https://example.com); empty when the variable is unset."""
    value = os.environ.get(name, "")
    origins = [item.strip() for item in value.split(",") if item.strip()]
    bad = [origin for origin in origins if not _ORIGIN.fullmatch(origin)]
    if bad:
        raise ImproperlyConfigured(
            f"{name}={value!r}: give comma-separated origins, e.g. 'https://api.example.com'; "
            f"not an origin: {', '.join(map(repr, bad))}"
        )
    return origins
