"""The service's deployed task definition run on the local engine, as the checks on public projects use it: migrate
as a one-off task, then the web container, then one page read through the service's host name.

usage: serve_deployed.py DEPLOY_JSON PATH EXPECTED_TEXT   (DEPLOY_JSON: what `deploy_ecs --json` printed)
Run with the project's own Python (ecr_deploy installed) and the local AWS's environment.
"""

import json
import sys
import time
import urllib.error
import urllib.request

import boto3
import docker

from ecr_deploy.workflows.local_run import run_one_off_locally, run_task_definition_locally


def main(deployed: str, path: str, expected: str) -> None:
    with open(deployed) as file:
        result = json.load(file)
    ecs, engine, session = boto3.client("ecs"), docker.from_env(), boto3.Session()
    service = ecs.describe_services(cluster=result["service"], services=[result["service"]])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    code, log = run_one_off_locally(engine, session, definition, "app", ["python", "manage.py", "migrate", "--noinput"])
    print(f"migrate -> exit {code}")
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
                return
            time.sleep(1)
        raise SystemExit(container.logs().decode()[-3000:])
    finally:
        container.remove(force=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
