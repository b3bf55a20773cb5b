"""The ECR_DEPLOY settings object: the user's dict validated once against ecr_deploy.defaults, cached, and read
again when Django's settings change (DRF's api_settings does the same), so override_settings works."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from ecr_deploy import defaults
from ecr_deploy.errors import ConfigurationError


class DeploySettings:
    """settings.ECR_DEPLOY merged over the defaults; validated on first use, then cached until reset."""

    def __init__(self) -> None:
        self._problems: list[str] | None = None

    def reset(self) -> None:
        self._problems = None

    @property
    def user(self) -> dict[str, Any]:
        value = getattr(settings, "ECR_DEPLOY", {})
        return value if isinstance(value, dict) else {}

    @property
    def problems(self) -> list[str]:
        if self._problems is None:
            self._problems = defaults.problems(getattr(settings, "ECR_DEPLOY", {}))
        return self._problems

    def get(self, key: str) -> Any:
        """The value of one key; raises ConfigurationError when ECR_DEPLOY is invalid."""
        if self.problems:
            raise ConfigurationError(
                "; ".join(self.problems) + ". Fix ECR_DEPLOY in your settings (see `manage.py check`)."
            )
        return self.user.get(key, defaults.DEFAULTS[key])


ecr_settings = DeploySettings()


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "ECR_DEPLOY":
        ecr_settings.reset()


setting_changed.connect(_reset)


def get(key: str) -> Any:
    return ecr_settings.get(key)


def problems() -> list[str]:
    return ecr_settings.problems


def settings_module() -> str:
    """The dotted name of the active settings module (also while tests override settings)."""
    module = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE")
    if not module:
        raise ConfigurationError("No settings module: set DJANGO_SETTINGS_MODULE or pass --settings.")
    return module


def base_dir() -> Path:
    return Path(getattr(settings, "BASE_DIR", Path.cwd()))


def path(key: str) -> Path:
    """A path setting resolved against BASE_DIR."""
    return (base_dir() / get(key)).resolve()


def project_default() -> str:
    """The project's name when ECR_DEPLOY['PROJECT'] is unset: the package of ROOT_URLCONF ('setup')."""
    return str(getattr(settings, "ROOT_URLCONF", "") or "project").split(".")[0]
