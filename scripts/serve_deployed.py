"""The service's deployed task definition run on the local engine, as the checks on public projects use it: the
deploy's one-off tasks (migrate, and collectstatic when the static files live in the storage bucket), then the web
container, then one page read through the service's host name, and each stylesheet it links in a bucket read there.

usage: serve_deployed.py DEPLOY_JSON PATH EXPECTED_TEXT   (DEPLOY_JSON: what `deploy_ecs --json` printed)
Run with the project's own Python (ecr_deploy installed) and the local AWS's environment.
"""

import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import docker

from ecr_deploy.workflows.deploy import COLLECTSTATIC_COMMAND, MIGRATE_COMMAND
from ecr_deploy.workflows.local_run import run_one_off_locally, run_task_definition_locally


def main(deployed: str, path: str, expected: str) -> None:
    with open(deployed) as file:
        result = json.load(file)
    ecs, engine, session = boto3.client("ecs"), docker.from_env(), boto3.Session()
    service = ecs.describe_services(cluster=result["service"], services=[result["service"]])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    steps = [MIGRATE_COMMAND, *([COLLECTSTATIC_COMMAND] if result.get("static_collected") else [])]
    for command in steps:
        code, log = run_one_off_locally(engine, session, definition, "app", command)
        print(f"{command[2]} -> exit {code}")
        if code != 0:
            raise SystemExit(log[-3000:])
    container = run_task_definition_locally(engine, session, definition, "app")
    host = result["service_url"].split("/")[2]
    try:
        for _ in range(120):
            container.reload()
            ports = container.attrs["NetworkSettings"]["Ports"].get("8000/tcp")
            if ports:
                url = f"http://127.0.0.1:{ports[0]['HostPort']}{path}"
                try:
                    with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host}), timeout=5) as got:
                        body = got.read().decode()
                except urllib.error.HTTPError as refused:
                    raise SystemExit(f"GET {path} -> {refused.code}\n{container.logs().decode()[-3000:]}") from None
                except OSError:
                    time.sleep(1)
                    continue
                title = body.split("<title>")[1].split("</title>")[0].split() if "<title>" in body else []
                print(f"GET {path} -> {got.status}; title: {' '.join(title)}")
                if expected not in body:
                    raise SystemExit(f"{expected!r} is not in the page")
                read_stylesheets_in_buckets(body)
                return
            time.sleep(1)
        raise SystemExit(container.logs().decode()[-3000:])
    finally:
        container.remove(force=True)


def read_stylesheets_in_buckets(page: str) -> None:
    """Each stylesheet the page links in an S3 bucket, read from it: https://BUCKET.s3.amazonaws.com/KEY on AWS, or
    ENDPOINT/BUCKET/KEY where the task was given the local AWS's endpoint (django-storages builds its URLs so)."""
    s3 = boto3.client("s3")
    buckets = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    for url in re.findall(r'href="(https?://[^"]+\.css)"', page):
        parts = urllib.parse.urlsplit(url)
        first, _, rest = parts.path.lstrip("/").partition("/")
        if parts.hostname.endswith(".s3.amazonaws.com"):
            bucket, key = parts.hostname.removesuffix(".s3.amazonaws.com"), parts.path.lstrip("/")
        elif first in buckets:
            bucket, key = first, rest
        else:
            continue
        size = len(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        print(f"stylesheet {url} -> s3://{bucket}/{key}, {size} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:])
