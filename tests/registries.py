"""Real registries for fault tests: the ECR host of another region, with its own password and mode.

It is the same Debian docker-registry that scripts/local-aws runs, started on an address of its own so that
the main one is never disturbed; moto names it in the tokens and repository URIs it hands out for that region.
Each test takes a region of FAULT_REGIONS for itself (claim_region), so fault tests run side by side.
"""

from __future__ import annotations

import fcntl
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

HOSTS_MARK = "# ecr_deploy-tests"
#: Regions whose ECR host a fault test may serve, each on its own loopback address.
FAULT_REGIONS = {
    "eu-west-1": "127.0.0.2",
    "eu-west-2": "127.0.0.3",
    "eu-central-1": "127.0.0.4",
    "ap-south-1": "127.0.0.5",
    "ap-northeast-1": "127.0.0.6",
    "sa-east-1": "127.0.0.7",
}
#: Machine-wide on purpose, unlike the checkout's test locks: the addresses and /etc/hosts lines are the machine's.
CLAIMS = Path("/tmp/ecr_deploy-fault-regions")


def claim_region():
    """A free region of FAULT_REGIONS, held (by a file lock) until the returned handle is closed."""
    CLAIMS.mkdir(exist_ok=True)
    for region in FAULT_REGIONS:
        handle = open(CLAIMS / f"region-{region}.lock", "a")  # noqa: SIM115 - the caller closes it
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return region, handle
    raise RuntimeError(f"all {len(FAULT_REGIONS)} fault regions are taken")


class FaultRegistry:
    def __init__(self, state: Path, region: str, password: str, read_only: bool = False) -> None:
        self.state = state
        self.region = region
        self.host = ecr_host(region)
        self.address = FAULT_REGIONS[region]
        self.password = password
        self.read_only = read_only
        self.process: subprocess.Popen | None = None
        self.certs = Path("/etc/docker/certs.d") / self.host

    def start(self) -> FaultRegistry:
        self.state.mkdir(parents=True, exist_ok=True)
        crt, key = self.state / "registry.crt", self.state / "registry.key"
        if not crt.exists():
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    f"/CN={self.host}",
                    "-addext",
                    f"subjectAltName=DNS:{self.host}",
                    "-keyout",
                    str(key),
                    "-out",
                    str(crt),
                ],
                check=True,
                capture_output=True,
            )
        self.write_htpasswd()
        readonly = "  maintenance:\n    readonly:\n      enabled: true\n" if self.read_only else ""
        (self.state / "config.yml").write_text(
            f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.state}/data\n{readonly}"
            f"http:\n  addr: {self.address}:443\n  tls:\n    certificate: {crt}\n    key: {key}\n"
            f"auth:\n  htpasswd:\n    realm: fault\n    path: {self.state}/htpasswd\n"
        )
        self.certs.mkdir(parents=True, exist_ok=True)
        shutil.copy(crt, self.certs / "ca.crt")
        hosts = Path("/etc/hosts").read_text()
        if f" {self.host} {HOSTS_MARK}" not in hosts:
            with open("/etc/hosts", "a") as handle:
                handle.write(f"{self.address} {self.host} {HOSTS_MARK}\n")
            time.sleep(5.5)  # dockerd's Go resolver keeps /etc/hosts for 5 s before it looks again
        with open(self.state / "registry.log", "a") as log:
            self.process = subprocess.Popen(
                ["docker-registry", "serve", str(self.state / "config.yml")], stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_ready()
        return self

    def wait_ready(self, seconds: float = 20) -> None:
        context = ssl.create_default_context(cafile=str(self.state / "registry.crt"))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"https://{self.address}/v2/", timeout=1, context=_no_hostname(context))
            except urllib.error.HTTPError as err:
                if err.code == 401:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"fault registry did not start; read {self.state / 'registry.log'}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def write_htpasswd(self) -> None:
        htpasswd = subprocess.run(
            ["htpasswd", "-iBn", "AWS"], input=self.password, check=True, capture_output=True, text=True
        )
        (self.state / "htpasswd").write_text(htpasswd.stdout)

    def rotate_password(self, password: str) -> None:
        """From now on the registry accepts only password: a new htpasswd, and a restart to read it."""
        self.stop()
        self.password = password
        self.start()


def ecr_host(region: str) -> str:
    return f"123456789012.dkr.ecr.{region}.amazonaws.com"


def remove_system_changes() -> None:
    """Undo what start() changed on the machine, the certificate folders and the hosts lines, for every region
    that no test (of this run or another) holds now."""
    CLAIMS.mkdir(exist_ok=True)
    free = []
    for region in FAULT_REGIONS:
        with open(CLAIMS / f"region-{region}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            free.append(ecr_host(region))
            shutil.rmtree(Path("/etc/docker/certs.d") / ecr_host(region), ignore_errors=True)
    lines = Path("/etc/hosts").read_text().splitlines(keepends=True)
    with open("/etc/hosts", "w") as handle:  # in place: /etc/hosts may be a bind mount
        handle.writelines(
            line for line in lines if not (line.rstrip().endswith(HOSTS_MARK) and line.split()[1] in free)
        )


def _no_hostname(context: ssl.SSLContext) -> ssl.SSLContext:
    context.check_hostname = False
    return context
