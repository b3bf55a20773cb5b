"""Where Terraform keeps one stack's state: a local file per environment and name, an S3 object, or the backend
that the folder declares itself; and the move of a local state from before environments."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecr_deploy.common import Output
from ecr_deploy.environments import StateConfig
from ecr_deploy.errors import StateError
from ecr_deploy.terraform.hcl import REPOSITORY_RESOURCE, declares_backend

LOCAL_STATE_DIR = "terraform.tfstate.d"
#: The location of a state that infra/ configures with a backend block of its own.
DECLARED_BACKEND = "declared"


def slug(repository: str) -> str:
    """A repository name as one path component ('team/app' -> 'team+app'; ECR names hold no '+')."""
    return repository.replace("/", "+")


@dataclass(frozen=True)
class StateLocation:
    """One state per environment and repository: a backend type and its -backend-config pairs."""

    backend: str
    config: dict[str, str]
    description: str


def state_location(config: StateConfig, environment: str, repository: str, region: str) -> StateLocation:
    if config.backend == "local":
        path = f"{LOCAL_STATE_DIR}/{environment}/{slug(repository)}.tfstate"
        return StateLocation("local", {"path": path}, path)
    key = f"{config.key_prefix}{environment}/{repository}.tfstate"
    backend = {"bucket": config.bucket, "key": key, "region": config.region or region, "encrypt": "true"}
    backend["use_lockfile"] = "true" if config.use_lockfile else "false"
    if config.lock_table:
        backend["dynamodb_table"] = config.lock_table
    return StateLocation("s3", backend, f"s3://{config.bucket}/{key}")


def stack_location(directory: Path, state: StateConfig, environment: str, name: str, region: str) -> StateLocation:
    """The state of one stack; a backend that the folder declares itself is used as is."""
    if state.backend == "local" and declares_backend(directory):
        return StateLocation(DECLARED_BACKEND, {}, f"the backend declared in {directory}")
    return state_location(state, environment, name, region)


def local_state_version(directory: Path, location: StateLocation) -> str:
    """The digest of a local state file, 'absent' before the first apply."""
    path = directory / location.config["path"]
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]*):([0-9]{12}):")


def target_in_state(document: bytes) -> dict[str, str] | None:
    """The account and region that a state's resources live in, read from their ARNs (for a state from before
    bindings); None when it lists no ARN with an account."""
    try:
        resources = json.loads(document or b"{}").get("resources", [])
    except (ValueError, AttributeError):
        return None
    found = _ARN.findall(json.dumps(resources))
    if not found:
        return None
    account = Counter(account for _, account in found).most_common(1)[0][0]
    regions = Counter(region for region, _ in found if region)
    return {"account": account, "region": regions.most_common(1)[0][0] if regions else ""}


def managed_addresses(document: dict[str, Any]) -> set[str]:
    """The addresses that `terraform state list` prints for a state (v4) document."""
    addresses = set()
    for resource in document.get("resources", []):
        module = f"{resource['module']}." if resource.get("module") else ""
        kind = "data." if resource.get("mode") == "data" else ""
        base = f"{module}{kind}{resource['type']}.{resource['name']}"
        for instance in resource.get("instances", []):
            key = instance.get("index_key")
            addresses.add(base if key is None else f"{base}[{json.dumps(key)}]")
    return addresses


def instance_attributes(document: dict[str, Any], address: str) -> dict[str, Any]:
    """The attributes that a state (v4) document holds for a managed resource's address (TYPE.NAME, TYPE.NAME[0]);
    empty when it holds none."""
    kind, _, rest = address.partition(".")
    name, _, index = rest.partition("[")
    for resource in document.get("resources", []):
        if (resource.get("type"), resource.get("name"), resource.get("mode")) == (kind, name, "managed"):
            for instance in resource.get("instances", []):
                if str(instance.get("index_key", "")) == index.rstrip("]"):
                    return instance.get("attributes", {})
    return {}


def output_values(document: dict[str, Any]) -> dict[str, Any]:
    """The outputs of a state (v4) document as {name: value}, as `terraform output -json` gives them."""
    return {name: item["value"] for name, item in document.get("outputs", {}).items()}


def migrate_legacy_state(directory: Path, report: Output) -> None:
    """Move a state from before environments (directory/terraform.tfstate, which would make terraform init stop to
    ask about a migration) to the default environment's file for the one repository it manages."""
    legacy = directory / "terraform.tfstate"
    if not legacy.is_file():
        return
    try:
        resources = json.loads(legacy.read_text() or "{}").get("resources", [])
    except ValueError as err:
        raise StateError(f"{legacy} is not a readable Terraform state ({err}); move it away or repair it.") from err
    repositories = [
        instance.get("attributes", {}).get("name", "")
        for resource in resources
        if resource.get("type") == REPOSITORY_RESOURCE
        for instance in resource.get("instances", [])
    ]
    if not resources:
        legacy.rename(legacy.with_name("terraform.tfstate.empty-before-environments"))
        report(f"State: {legacy} was empty; kept as terraform.tfstate.empty-before-environments.")
        return
    target = (
        directory / LOCAL_STATE_DIR / "default" / f"{slug(repositories[0])}.tfstate" if len(repositories) == 1 else None
    )
    if target is None or target.exists():
        raise StateError(
            f"{legacy} is a state from before environments (it manages {', '.join(repositories) or 'no repository'}), "
            "and it cannot be moved to one repository's state file. Move it by hand to "
            f"{LOCAL_STATE_DIR}/default/REPOSITORY.tfstate, or delete it if nothing it holds is still yours."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    legacy.rename(target)
    backup = legacy.with_name("terraform.tfstate.backup")
    if backup.is_file():
        backup.rename(target.with_name(f"{target.name}.backup"))
    report(f"State: moved {legacy.name} (from before environments) to {target.relative_to(directory)}.")
