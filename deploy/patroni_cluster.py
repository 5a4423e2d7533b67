"""Two Patroni-managed PostgreSQL 15 nodes and a one-member etcd on loopback: a real Patroni failover.

    .venv/bin/python deploy/patroni_cluster.py up [--dir var/patroni]
    .venv/bin/python deploy/patroni_cluster.py status [--dir var/patroni]   # Patroni's /cluster
    .venv/bin/python deploy/patroni_cluster.py crash db1 [--dir var/patroni]  # the host dies
    .venv/bin/python deploy/patroni_cluster.py start db1 [--dir var/patroni]  # it comes back, rejoins
    .venv/bin/python deploy/patroni_cluster.py down [--dir var/patroni]

Each node's configuration is the repository's template (``deploy/patroni/patroni.yml``) rendered with
free loopback ports, its own folder, fresh passwords and the short timings a test can wait for (ttl
10 s, loop_wait 2 s, retry_timeout 4 s); every guarantee of the template (synchronous_mode_strict, no
lag on failover, pg_rewind, slots, checksums) is kept as it is. The ``on_role_change`` callback is a
local script that records each role change in ``roles.log`` (the template's repoints pgbouncers over
ssh). Patroni and PostgreSQL run as the ``postgres`` OS user when started by root, as
``deploy/cluster.py`` runs PostgreSQL. A file of its own rather than a ``--patroni`` mode of
``deploy/cluster.py``: Patroni starts, promotes and rewinds PostgreSQL itself, so almost nothing of
that file's PostgreSQL part would be shared, and its scripted failover stays as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pollwatch.objects.local import free_ports

T = TypeVar("T")
TEMPLATE = Path(__file__).resolve().parent / "patroni" / "patroni.yml"
PG_BIN = Path(os.environ.get("POLLWATCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "pollwatch"
NODES = ("db1", "db2")
TIMINGS = {"ttl": 10, "loop_wait": 2, "retry_timeout": 4}
"""Short enough for a test (the leader key expires 10 s after its holder dies); Patroni requires
ttl >= loop_wait + 2 * retry_timeout."""


@dataclass
class Node:
    """One database host: its PostgreSQL port and its Patroni REST API port."""

    name: str
    pg_port: int
    api_port: int

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"


@dataclass
class PatroniCluster:
    """Ports, passwords and pids of one running cluster (saved as ``patroni-cluster.json``)."""

    folder: str
    etcd_port: int
    etcd_peer_port: int
    password: str
    """The ``postgres`` superuser's password (scram-sha-256 on loopback, as in the template)."""
    nodes: list[Node] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    @property
    def url(self) -> str:
        """Both servers in one libpq URL: a session goes to whichever accepts writes (the leader)."""
        hosts = "&".join(f"host=127.0.0.1:{n.pg_port}" for n in self.nodes)
        return f"postgresql+psycopg://postgres:{self.password}@/{DATABASE}?{hosts}&target_session_attrs=read-write"

    def direct_url(self, name: str) -> str:
        port = self.node(name).pg_port
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{port}/{DATABASE}"

    def save(self) -> None:
        data = {**asdict(self), "url": self.url}
        (Path(self.folder) / "patroni-cluster.json").write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> PatroniCluster:
        data = json.loads((folder / "patroni-cluster.json").read_text())
        nodes = [Node(**n) for n in data.pop("nodes")]
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names}, nodes=nodes)


def missing() -> list[str]:
    """What this machine lacks to run the cluster (empty: nothing)."""
    absent = [b for b in ("patroni", "patronictl", "etcd") if shutil.which(b) is None]
    absent += [str(PG_BIN / b) for b in ("initdb", "pg_rewind") if not (PG_BIN / b).exists()]
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        absent.append("runuser")
    return absent


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so Patroni (which starts it) runs as ``postgres`` then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _own(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def _wait(check: Callable[[], T | None], what: str, timeout: float) -> T:
    """Call ``check`` until it returns something (a refused connection counts as nothing yet); return
    it, or raise naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, ValueError):
            if found := check():
                return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout:g} s")
        time.sleep(0.5)


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


# -- configuration ------------------------------------------------------------------------------------


def render(cluster: PatroniCluster, node: Node) -> str:
    """The template with this node's name, addresses, folders and passwords, and the short timings.

    Edited as text, line by line (no YAML library needed), so the rendered file reads like the
    template; a line the template no longer has is an error rather than a silently different node.
    """
    home = Path(cluster.folder) / node.name
    api, pg = f"127.0.0.1:{node.api_port}", f"127.0.0.1:{node.pg_port}"
    etcd, callback = f"127.0.0.1:{cluster.etcd_port}", Path(cluster.folder) / "on_role_change.sh"
    text = TEMPLATE.read_text()
    for pattern, replacement in [
        (r"^name: db1$", f"name: {node.name}"),
        (r"^  listen: 0\.0\.0\.0:8008$", f"  listen: {api}"),
        (r"^  connect_address: db1\.internal:8008$", f"  connect_address: {api}"),
        (r"^    - etcd1\.internal:2379\n(    - etcd[0-9]\.internal:2379\n)*", f"    - {etcd}\n"),
        *[(rf"^    {k}: [0-9]+$", f"    {k}: {v}") for k, v in TIMINGS.items()],
        (r" 10\.0\.0\.0/8 ", " 127.0.0.1/32 "),
        (r"^  listen: 0\.0\.0\.0:5432$", f"  listen: {pg}"),
        (r"^  connect_address: db1\.internal:5432$", f"  connect_address: {pg}"),
        (r"^  data_dir: .*$", f"  data_dir: {home / 'data'}"),
        (r"^  bin_dir: .*$", f"  bin_dir: {PG_BIN}\n  parameters:\n    unix_socket_directories: '{home}'"
                             "\n    shared_buffers: 32MB"),
        (r"^  pgpass: .*$", f"  pgpass: {home / 'pgpass'}"),
        (r"CHANGE-ME-[a-z]+", cluster.password),
        # Patroni appends <action> <role> <scope> to the command.
        (r"^    on_role_change: .*$", f"    on_role_change: {callback} {node.name}"),
    ]:  # fmt: skip
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        if not count:
            raise RuntimeError(f"{TEMPLATE} changed: expected a line matching {pattern!r}, found none")
    return text


_CALLBACK = """#!/bin/sh
# Patroni's on_role_change callback (<node> <action> <role> <scope>): record it (the template's
# callback repoints pgbouncer at this moment instead).
echo "$(date -u +%FT%TZ) $1 $2 $3 $4" >> "{log}"
"""


def _write_callback(folder: Path) -> None:
    script = folder / "on_role_change.sh"
    script.write_text(_CALLBACK.format(log=folder / "roles.log"))
    script.chmod(0o755)
    (folder / "roles.log").touch()
    _own(folder / "roles.log")


# -- processes ----------------------------------------------------------------------------------------


def _spawn(cmd: list[str], log: Path) -> int:
    """Start ``cmd`` in the folder of its log: a checkout may sit in a directory only its owner can
    enter (``mktemp -d``), and PostgreSQL's tools, run by Patroni as ``postgres``, stop when they
    cannot read their working directory (no leader was ever elected from such a clone)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=log.parent
        )
    return proc.pid


def start_etcd(cluster: PatroniCluster) -> int:
    root = Path(cluster.folder)
    client, peer = f"http://127.0.0.1:{cluster.etcd_port}", f"http://127.0.0.1:{cluster.etcd_peer_port}"
    cmd = ["etcd", "--name", "etcd1", "--data-dir", str(root / "etcd"), "--listen-client-urls", client,
           "--advertise-client-urls", client, "--listen-peer-urls", peer,
           "--initial-advertise-peer-urls", peer, "--initial-cluster", f"etcd1={peer}"]  # fmt: skip
    pid = _spawn(cmd, root / "etcd.log")
    _wait(lambda: _listening(cluster.etcd_port), "etcd did not listen", 30)
    return pid


def start_node(cluster: PatroniCluster, name: str) -> int:
    """Start this node's Patroni (it starts PostgreSQL: bootstraps, clones, or rejoins with pg_rewind)."""
    node = cluster.node(name)
    home = Path(cluster.folder) / name
    home.mkdir(exist_ok=True)
    home.chmod(0o700)
    config = home / "patroni.yml"
    config.write_text(render(cluster, node))
    _own(home, config)
    return _spawn(_as_postgres(["patroni", str(config)]), home / "patroni.log")


def get_cluster(cluster: PatroniCluster) -> dict[str, Any]:
    """Patroni's view of the cluster (REST ``GET /cluster``), from whichever node answers."""
    for node in cluster.nodes:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{node.api}/cluster", timeout=2) as answer:
            data: dict[str, Any] = json.load(answer)
            return data
    raise ConnectionError("no Patroni REST API answers")


def leader(cluster: PatroniCluster) -> str | None:
    """The running leader's name, if there is one."""
    members = get_cluster(cluster)["members"]
    return next((m["name"] for m in members if m["role"] == "leader" and m["state"] == "running"), None)


def wait_leader(cluster: PatroniCluster, *, other_than: str = "", timeout: float = 90.0) -> str:
    """The running leader's name, once there is one other than ``other_than`` (a crashed leader stays
    listed until its key expires)."""

    def elected() -> str | None:
        name = leader(cluster)
        return name if name != other_than else None

    return _wait(elected, f"no leader other than {other_than!r}", timeout)


def synchronous(cluster: PatroniCluster) -> tuple[str, str] | None:
    """(leader, synchronous standby) once both run and the leader confirms the standby is synchronous."""
    members = get_cluster(cluster)["members"]
    lead = next((m["name"] for m in members if m["role"] == "leader" and m["state"] == "running"), None)
    sync = next((m["name"] for m in members if m["role"] == "sync_standby" and m["state"] == "running"), None)
    if lead is None or sync is None:
        return None
    with urllib.request.urlopen(f"{cluster.node(lead).api}/patroni", timeout=2) as answer:
        replication = json.load(answer).get("replication", [])
    streaming = {r["application_name"]: r for r in replication}
    if streaming.get(sync, {}).get("sync_state") != "sync":
        return None
    return lead, sync


def wait_synchronous(cluster: PatroniCluster, timeout: float = 120.0) -> tuple[str, str]:
    return _wait(lambda: synchronous(cluster), "no leader with a streaming synchronous standby", timeout)


def crash(cluster: PatroniCluster, name: str) -> None:
    """The node's host dies: SIGKILL its Patroni, then its postmaster (no clean shutdown, no handover:
    the leader key stays in etcd until its ttl runs out)."""
    pid = cluster.pids.get(f"patroni-{name}", 0)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # runuser and Patroni (PostgreSQL runs in a session of its own)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    postmaster = Path(cluster.folder) / name / "data" / "postmaster.pid"
    with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
        os.kill(int(postmaster.read_text().split()[0]), signal.SIGKILL)
    cluster.pids[f"patroni-{name}"] = 0
    cluster.save()


def start(cluster: PatroniCluster, name: str) -> None:
    """Start the node's Patroni again (after ``crash``): it rewinds or clones itself and follows."""
    cluster.pids[f"patroni-{name}"] = start_node(cluster, name)
    cluster.save()


def create_database(cluster: PatroniCluster, name: str) -> None:
    import psycopg

    conninfo = f"host=127.0.0.1 port={cluster.node(name).pg_port} user=postgres password={cluster.password}"
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {DATABASE}".encode())


# -- the commands -------------------------------------------------------------------------------------


def up(folder: Path) -> PatroniCluster:
    """Start etcd and both nodes; return once one leads and the other is its synchronous standby."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "patroni-cluster.json").exists():
        raise RuntimeError(f"a cluster is recorded in {folder}: run `down` first")
    etcd, peer, *ports = free_ports(2 + 2 * len(NODES))
    nodes = [Node(name, ports[2 * i], ports[2 * i + 1]) for i, name in enumerate(NODES)]
    cluster = PatroniCluster(str(folder), etcd, peer, secrets.token_hex(16), nodes)
    cluster.save()
    try:
        _write_callback(folder)
        cluster.pids["etcd"] = start_etcd(cluster)
        cluster.save()
        start(cluster, NODES[0])  # the first bootstraps (initdb); the second clones it once it leads
        wait_leader(cluster, timeout=120)
        start(cluster, NODES[1])
        lead, _ = wait_synchronous(cluster)
        create_database(cluster, lead)
    except BaseException:
        down(folder)
        raise
    return cluster


def down(folder: Path) -> None:
    """Stop both Patroni (each stops its PostgreSQL), then etcd; forget the cluster."""
    folder = folder.resolve()
    record = folder / "patroni-cluster.json"
    if not record.exists():
        return
    cluster = PatroniCluster.load(folder)
    for name in NODES:
        pid = cluster.pids.get(f"patroni-{name}", 0)
        if pid:
            _stop_group(pid)
        if (folder / name / "data" / "postmaster.pid").exists():  # Patroni could not stop it
            stop = [str(PG_BIN / "pg_ctl"), "-D", str(folder / name / "data"), "stop", "-m", "immediate"]
            with contextlib.suppress(OSError):
                subprocess.run(_as_postgres(stop), capture_output=True, timeout=60)
    if cluster.pids.get("etcd"):
        _stop_group(cluster.pids["etcd"])
    record.unlink()


def _stop_group(pid: int, timeout: float = 30.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "crash", "start"])
    parser.add_argument("node", nargs="?", choices=NODES, help="for crash and start")
    parser.add_argument("--dir", type=Path, default=Path("var/patroni"))
    args = parser.parse_args()
    if args.command == "up":
        cluster = up(args.dir)
        print(json.dumps({"url": cluster.url, "record": str(Path(cluster.folder) / "patroni-cluster.json")}))  # noqa: T201
    elif args.command == "down":
        down(args.dir)
    elif args.command == "status":
        print(json.dumps(get_cluster(PatroniCluster.load(args.dir.resolve())), indent=2))  # noqa: T201
    else:
        if args.node is None:
            parser.error(f"{args.command} needs a node name: {', '.join(NODES)}")
        cluster = PatroniCluster.load(args.dir.resolve())
        (crash if args.command == "crash" else start)(cluster, args.node)


if __name__ == "__main__":
    main()
