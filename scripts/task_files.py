"""A file saved through the project's default storage by a one-off task of the service's running revision, run on
the local engine, or read back by one (the checks on public projects use it: an upload kept across a deploy).

usage: task_files.py DEPLOY_JSON save NAME CONTENT | read NAME EXPECTED   (DEPLOY_JSON: what `deploy_ecs --json` printed)
Run with the project's own Python (ecr_deploy installed) and the local AWS's environment.
"""

import json
import sys

import boto3
import docker

from ecr_deploy.workflows.local_run import run_one_off_locally

SCRIPT = """
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
if {save}:
    print("saved", default_storage.save({name!r}, ContentFile({content!r}.encode())))
else:
    print("read", default_storage.open({name!r}).read().decode())
"""


def main(deployed: str, action: str, name: str, content: str) -> None:
    with open(deployed) as file:
        service = json.load(file)["service"]
    ecs = boto3.client("ecs")
    revision = ecs.describe_services(cluster=service, services=[service])["services"][0]["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=revision)["taskDefinition"]
    script = SCRIPT.format(save=action == "save", name=name, content=content)
    command = ["python", "manage.py", "shell", "-c", script]
    code, log = run_one_off_locally(docker.from_env(), boto3.Session(), definition, "app", command)
    said = [line for line in log.splitlines() if line.startswith(("saved ", "read "))]
    print(f"{revision.rsplit('/', 1)[-1]}: {' '.join(said) or log[-2000:]}")
    if code != 0 or not said or (action == "read" and said[-1] != f"read {content}"):
        raise SystemExit(1)


if __name__ == "__main__":
    main(*sys.argv[1:])
