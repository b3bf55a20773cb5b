"""After `migrate`, one line naming the migrations it applied that cannot run backwards: deploy_ecs reads it from
the migrate task's log, and does not roll a release back onto a schema that the previous revision may not know."""

from __future__ import annotations

import sys
from typing import Any

#: The line's start, which deploy_ecs looks for in the migrate task's log.
IRREVERSIBLE_MARK = "ecr_deploy: applied migrations that cannot run backwards:"


def irreversible(plan: list[tuple[Any, bool]]) -> list[str]:
    """The forward migrations of a migrate plan with an operation that cannot be reversed (RunPython without
    reverse_code, RunSQL without reverse_sql, ...)."""
    return [
        f"{migration.app_label}.{migration.name}"
        for migration, backwards in plan
        if not backwards and not all(operation.reversible for operation in migration.operations)
    ]


def report_irreversible(sender: Any, plan: list[tuple[Any, bool]] | None = None, **kwargs: Any) -> None:
    """post_migrate receiver (sent once per app: this one answers for ecr_deploy's only)."""
    if sender.name != "ecr_deploy" or not plan:
        return
    names = irreversible(plan)
    if names:
        (kwargs.get("stdout") or sys.stdout).write(f"{IRREVERSIBLE_MARK} {', '.join(names)}\n")
