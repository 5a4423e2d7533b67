"""The Patroni configuration documented for automatic failover (deploy/patroni/patroni.yml) is one that
Patroni itself accepts, and keeps the guarantees the deployment relies on."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONFIG = ROOT / "deploy" / "patroni" / "patroni.yml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _own_address() -> str:
    """This machine's address on its network (no packet is sent: a UDP socket only picks the route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            pytest.skip("no network address other than loopback: Patroni refuses loopback addresses")
        address = str(s.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("no network address other than loopback: Patroni refuses loopback addresses")
    return address


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise AssertionError(f"etcd did not listen on {port}")


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[int]:
    """A one-member etcd on loopback: Patroni's validator checks that the DCS answers."""
    if shutil.which("patroni") is None or shutil.which("etcd") is None:
        pytest.skip("patroni or etcd is not installed (Debian's patroni and etcd-server packages)")
    client, peer = _free_port(), _free_port()
    process = subprocess.Popen(
        ["etcd", "--data-dir", str(tmp_path / "etcd"), "--listen-client-urls", f"http://127.0.0.1:{client}",
         "--advertise-client-urls", f"http://127.0.0.1:{client}",
         "--listen-peer-urls", f"http://127.0.0.1:{peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_port(client)
        yield client
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_patroni_accepts_the_documented_configuration(tmp_path: Path, etcd: int) -> None:
    # The validator resolves every host, wants the DCS to answer, the listening ports free and the
    # connect addresses other than loopback: the etcd above, free ports, this machine's address.
    address = _own_address()
    text = re.sub(r"etcd[0-9]\.internal:2379", f"127.0.0.1:{etcd}", CONFIG.read_text())
    text = re.sub(r"[a-z0-9]+\.internal", address, text)
    text = text.replace("0.0.0.0:5432", f"127.0.0.1:{_free_port()}").replace(
        "0.0.0.0:8008", f"127.0.0.1:{_free_port()}"
    )
    local = tmp_path / "patroni.yml"
    local.write_text(text)
    checked = subprocess.run(
        ["patroni", "--validate-config", str(local)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_configuration_promotes_only_a_synchronous_standby() -> None:
    text = CONFIG.read_text()
    # Without these an acknowledged record could live on one server only when the primary dies.
    for line in ("synchronous_mode: true", "synchronous_mode_strict: true", "maximum_lag_on_failover: 0"):
        assert re.search(rf"^\s+{re.escape(line)}$", text, flags=re.M), line
    assert (ROOT / "deploy" / "patroni" / "pgbouncer-follow-primary.sh").stat().st_mode & 0o111
