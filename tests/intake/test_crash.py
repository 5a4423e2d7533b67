"""Crash test: SIGKILL the server mid-load; every acknowledged sheet survives and the log stays consistent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from pollwatch.auth import AuthRole, create_submitter
from pollwatch.intake.testing import create_tiny_election, sheet_payload
from pollwatch.ledger.checkpoint import open_checkpoint
from pollwatch.ledger.merkle import verify_consistency
from pollwatch.ledger.note import parse_vkey
from pollwatch.ledger.records import parse_leaf
from pollwatch.ledger.service import get_consistency_proof
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from pollwatch.storage import submissions as submission_store

pytestmark = pytest.mark.slow
TOTAL = 3000
KILL_AFTER = 1200


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("pollwatch")
    proc = subprocess.Popen([str(exe), "serve", "--db", url, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/log/checkpoint", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not start")


@pytest.fixture
def served(tmp_path: Path) -> tuple[str, dict[str, str], str]:
    url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    db = Database(url)
    db.upgrade()
    create_tiny_election(db, constituencies=20, stations=50)
    with db.begin() as conn:
        _, token = create_submitter(conn, role=AuthRole.OBSERVER, organisation="Watch")
    db.dispose()
    env = {**os.environ, "POLLWATCH_HOME": str(tmp_path / "home"), "POLLWATCH_RATE_TOKEN": "100000,100000",
           "POLLWATCH_RATE_ADDRESS": "100000,100000"}  # fmt: skip
    return url, env, token


def _load(port: int, token: str, acked: dict[str, int], stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(limits=httpx.Limits(max_connections=16), timeout=30)

    def one(n: int) -> None:
        if stop.is_set():
            return
        body = sheet_payload(f"crash-{n:06d}", constituency=f"NA-{1 + n % 20}", station=str(1 + n // 20 % 50),
                             role="observer")  # fmt: skip
        try:
            response = client.post(f"http://127.0.0.1:{port}/api/v1/sheets?receipt=false", json=body,
                                   headers=headers)  # fmt: skip
        except httpx.HTTPError:
            return  # not acknowledged: may or may not be stored
        if response.status_code == 201:
            acked[body["submission_id"]] = response.json()["leaf_index"]

    with client, ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(TOTAL)))


def _watch(port: int, seen: list[str], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            note = httpx.get(f"http://127.0.0.1:{port}/log/checkpoint", timeout=2).text
            if not seen or seen[-1] != note:
                seen.append(note)
        except httpx.HTTPError:
            pass  # the server is being killed or restarted: keep watching
        time.sleep(0.05)


def test_sigkill_midway_loses_no_acknowledged_sheet(served: tuple[str, dict[str, str], str]) -> None:
    url, env, token = served
    port = _port()
    proc = _serve(url, port, env)
    acked: dict[str, int] = {}
    checkpoints: list[str] = []
    stop, watching = threading.Event(), threading.Event()
    loader = threading.Thread(target=_load, args=(port, token, acked, stop))
    watcher = threading.Thread(target=_watch, args=(port, checkpoints, watching))
    loader.start()
    watcher.start()
    while len(acked) < KILL_AFTER and loader.is_alive():
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # mid-load, no shutdown of any kind
    proc.wait()
    acked_at_kill = dict(acked)
    stop.set()
    watching.set()
    loader.join()
    watcher.join()
    assert len(acked_at_kill) >= KILL_AFTER
    assert len(checkpoints) >= 2

    proc = _serve(url, port, env)  # restart on the same database
    try:
        after = httpx.post(f"http://127.0.0.1:{port}/api/v1/sheets", json=sheet_payload(
            "crash-after-restart", role="observer", constituency="NA-3", station="7"),
            headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert after.status_code == 201
        latest = httpx.get(f"http://127.0.0.1:{port}/log/checkpoint", timeout=5).text
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    db = Database(url)
    vkey = parse_vkey((Path(env["POLLWATCH_HOME"]) / "keys" / "log.vkey").read_text().strip())
    with db.connect() as conn:
        stored = {sid: index for _, sid, index in submission_store.list_submission_keys(conn)}
        for submission_id, index in acked.items():  # 1. every acknowledged sheet is there, at its leaf
            assert stored.get(submission_id) == index, submission_id
            leaf = parse_leaf(logstore.read_entries(conn, index, index + 1)[0])
            assert leaf.body["submission_id"] == submission_id
        assert logstore.count_entries(conn) == len(stored)  # no orphan leaves, no orphan sheets
        final = open_checkpoint(latest, vkey)
        by_size: dict[int, bytes] = {}
        for note in checkpoints:  # 2. every published checkpoint is consistent with the final tree
            cp = open_checkpoint(note, vkey)
            assert by_size.setdefault(cp.size, cp.root) == cp.root  # 3. no two contradict
            if 0 < cp.size < final.size:
                proof = get_consistency_proof(conn, cp.size, final.size)
                verify_consistency(cp.size, final.size, proof, cp.root, final.root)
    db.dispose()
