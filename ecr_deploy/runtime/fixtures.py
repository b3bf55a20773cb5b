"""ECR_DEPLOY["FIXTURES"] loaded once into a deployed database: the first deploy fills an empty database, later
ones never load them over real data."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import IntegrityError, transaction

from ecr_deploy.models import LoadedFixture


def load_once(fixtures: list[str], **loaddata_options: Any) -> list[str]:
    """Load the fixtures this database has never been given, in one transaction with their record; the names
    loaded now. A concurrent run waits on the record's unique name, then finds them loaded."""
    try:
        with transaction.atomic():
            done = set(
                LoadedFixture.objects.select_for_update().filter(name__in=fixtures).values_list("name", flat=True)
            )
            new = [name for name in fixtures if name not in done]
            LoadedFixture.objects.bulk_create([LoadedFixture(name=name) for name in new])
            if new:
                call_command("loaddata", *new, **loaddata_options)
    except IntegrityError:  # another task recorded them first
        return []
    return new
