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
    return _comma_list(name, value, _HOST, "host names", "a host name", "api.example.com,.example.org", required=True)


def env_origins(name: str) -> list[str]:
    """A comma-separated list of origins (https://example.com); empty when the variable is unset."""
    value = os.environ.get(name, "")
    return _comma_list(name, value, _ORIGIN, "origins", "an origin", "https://api.example.com", required=False)


def _comma_list(
    name: str, value: str, item: re.Pattern, plural: str, one: str, example: str, *, required: bool
) -> list[str]:
    """value's comma-separated items, each matching item; a clear error naming those that do not (or none given)."""
    items = [part.strip() for part in value.split(",") if part.strip()]
    bad = [part for part in items if not item.fullmatch(part)]
    if bad or (required and not items):
        raise ImproperlyConfigured(
            f"{name}={value!r}: give comma-separated {plural}, e.g. {example!r}"
            + (f"; not {one}: {', '.join(map(repr, bad))}" if bad else "")
        )
    return items
