"""Benchmark: the field app (issue 14) in Debian's chromium against a real ``pollwatch serve`` on loopback.

1. First-load weight: every file the app's service worker fetches on the first visit (both pages, the
   modules, the style, the manifest, the worker), raw and gzip-compressed (budget 150 KB compressed).
2. Capture: the time from the first box filled on a sheet (3 candidates, 3 totals, filled by Playwright)
   to the sheet signed with the phone's Ed25519 key and queued in IndexedDB, through the app's own form,
   offline; and, measured in the page, the part after Save (canonical bytes, signature, IndexedDB write).
3. Drain: BENCH_APP_N signed sheets waiting in the app's IndexedDB queue (made and signed in the page by
   the app's own modules, as the form would), the network back: the time until the app holds a receipt
   for every one. Baseline in the same run, on the same server: the server's batched intake of as many
   Python-signed sheets (``POST /api/v1/sheets/batch``, batches of 100, 4 connections, no receipts).

SQLite (WAL, synchronous=FULL), ``pollwatch serve`` with 1 worker. Environment: BENCH_APP_N (default
1,000), BENCH_APP_CAPTURES (default 20).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.bench_intake import _drive, _free_port
from pollwatch.auth import Assignment, AuthRole, create_submitter, register_device
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.auth.enrol import app_url, create_enrolment
from pollwatch.intake.testing import SLUG, create_tiny_election, sheet_payload, sign_payload
from pollwatch.ledger.settings import load_settings
from pollwatch.storage import Database

N = int(os.environ.get("BENCH_APP_N", "1000"))
CAPTURES = int(os.environ.get("BENCH_APP_CAPTURES", "20"))
CHROMIUM = "/usr/bin/chromium"
BUDGET = 150 * 1024

_FILL = """async ({n, election, constituency, role}) => {
  const { signRecord, newSubmissionId } = await import('/static/app/canonical.js');
  const { getKv, putItems } = await import('/static/app/store.js');
  const device = await getKv('device'), enrolment = await getKv('enrolment');
  const items = [];
  for (let i = 0; i < n; i++) {
    const rec = { election, submission_id: newSubmissionId('bench'), kind: 'station_count', form: 'Form-45',
      constituency, station: String(1 + (i % 100)), votes: { '1': 100 + (i % 50), '2': 80, '3': 20 },
      totals: { valid: 200 + (i % 50), rejected: 5, polled: 205 + (i % 50) }, role,
      captured_at: new Date().toISOString(), photo_sha256: null, supersedes: null };
    const signed = await signRecord('sheet', rec, device, enrolment.organisation);
    items.push({ id: signed.submission_id, kind: 'sheet', record: signed, state: 'waiting', tries: 0,
                 next_at: 0, created: Date.now() + i });
  }
  await putItems(items);
  return items.length;
}"""


def _setup(root: Path) -> tuple[str, Path, str, list[tuple[str, bytes]]]:
    url = f"sqlite:///{root / 'app.sqlite3'}"
    db = Database(url)
    db.upgrade()
    create_tiny_election(db, constituencies=2, stations=100, candidates=3)
    with db.begin() as conn:
        observer, _ = create_submitter(conn, role=AuthRole.OBSERVER, organisation="BenchWatch",
                                       assignments=(Assignment(SLUG, "NA-1"),))  # fmt: skip
        other_id, token = create_submitter(conn, role=AuthRole.OBSERVER, organisation="BenchWatch")
        key = Ed25519PrivateKey.generate()
        row = conn.execute(
            sa.text("SELECT id FROM submitters WHERE key_id = :k"), {"k": other_id}
        ).scalar_one()
        register_device(conn, submitter_id=int(row), public_key=device_key_id(public_key_of(key)))
    db.dispose()
    bodies = []
    for n in range(N):
        payload = sheet_payload(f"base-{uuid.uuid4().hex}", constituency="NA-2", station=str(1 + n % 100),
                                role="observer", organisation="BenchWatch")  # fmt: skip
        bodies.append((token, json.dumps(sign_payload(payload, key, organisation="BenchWatch")).encode()))
    return url, root / "home", observer, bodies


def _enrol_url(url: str, server: str, observer: str) -> str:
    db = Database(url)
    with db.begin() as conn:
        log_key = load_settings().signer.verifier().vkey
        _, payload = create_enrolment(conn, submitter=observer, election=SLUG, server=server, log_key=log_key,
                                      now=dt.datetime.now(dt.UTC))  # fmt: skip
    db.dispose()
    return app_url(payload)


def _weight(server: str) -> tuple[int, int, int]:
    with urllib.request.urlopen(f"{server}/app-sw.js") as r:
        sw = r.read()
    files = json.loads(re.search(rb"const FILES = (\[.*\]);", sw).group(1))  # type: ignore[union-attr]
    bodies = [sw]
    for path in files:
        with urllib.request.urlopen(server + path) as r:
            bodies.append(r.read())
    return len(bodies), sum(map(len, bodies)), sum(len(gzip.compress(b, compresslevel=6)) for b in bodies)


def _browser_runs(server: str, enrol: str) -> tuple[list[tuple[float, float]], float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(enrol)
        page.wait_for_selector("body[data-ready=true]")
        page.click("#enrol-btn")
        page.wait_for_selector("#tabs:not([hidden])")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        context.set_offline(True)
        captures = [_capture(page, n) for n in range(CAPTURES)]
        ctx: dict[str, Any] = page.evaluate("() => JSON.parse(JSON.stringify(window.__ctx || null))") or {}
        del ctx
        page.evaluate(_FILL, {"n": N, "election": SLUG, "constituency": "NA-1", "role": "observer"})
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        total = N + CAPTURES
        start = time.perf_counter()
        context.set_offline(False)
        page.wait_for_function(
            "n => Number(document.getElementById('queue-summary').dataset.received) >= n", arg=total,
            timeout=900_000,
        )  # fmt: skip
        drain = time.perf_counter() - start
        browser.close()
    return captures, drain


def _capture(page: Any, n: int) -> tuple[float, float]:
    start = time.perf_counter()
    page.select_option("#station", f"NA-1|{1 + n}")
    for ballot, votes in ((1, 120 + n), (2, 98), (3, 7)):
        page.fill(f"input[data-ballot='{ballot}']", str(votes))
    page.fill("#total-valid", str(225 + n))
    page.fill("#total-rejected", "12")
    page.fill("#total-polled", str(237 + n))
    before = page.inner_text("#sheet-msg")
    page.click("#save-sheet")
    page.wait_for_function("b => document.getElementById('sheet-msg').textContent !== b", arg=before)
    return time.perf_counter() - start, float(page.get_attribute("#sheet-msg", "data-ms") or "nan") / 1000


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is not installed: `make system`")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url, home, observer, bodies = _setup(root)
        os.environ["POLLWATCH_HOME"] = str(home)  # the same log key as the server's
        proc, port = _serve(url, home)
        server = f"http://127.0.0.1:{port}"
        try:
            count, raw, packed = _weight(server)
            captures, drain = _browser_runs(server, _enrol_url(url, server, observer))
            requests = [_batch(bodies[i : i + 100]) for i in range(0, len(bodies), 100)]
            seconds, _, errors = asyncio.run(_drive(port, requests, concurrency=4))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    typed = statistics.median(c[0] for c in captures) * 1000
    signed = statistics.median(c[1] for c in captures) * 1000
    rows = [
        (f"first load: {count} files, raw", f"{raw / 1024:,.1f} KB"),
        (f"first load, gzip -6 (budget {BUDGET // 1024} KB)", f"{packed / 1024:,.1f} KB"),
        (
            f"capture a sheet through the form (6 boxes filled by Playwright), median of {CAPTURES}",
            f"{typed:,.0f} ms",
        ),
        ("of which: sign (Ed25519) and queue (IndexedDB) after Save, median", f"{signed:,.1f} ms"),
        (f"app drains {N + CAPTURES:,} queued records, receipts checked", _rate(N + CAPTURES, drain)),
        (f"baseline: server batched intake of {N:,} sheets", _rate(N, seconds) + f", {errors} errors"),
    ]
    print(
        f"{os.cpu_count()} CPUs shared by chromium, client and server; SQLite; `pollwatch serve` 1 worker.\n"
    )
    print("| what | figure |\n|---|---:|")
    for what, figure in rows:
        print(f"| {what} | {figure} |")


def _serve(url: str, home: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``pollwatch serve``, 1 worker (as bench_intake starts it, waiting longer on a busy machine)."""
    port = _free_port()
    env = {**os.environ, "POLLWATCH_HOME": str(home), "POLLWATCH_RATE_TOKEN": "1000000,1000000",
           "POLLWATCH_RATE_ADDRESS": "1000000,1000000", "POLLWATCH_DATABASE_URL": url}  # fmt: skip
    serve = [
        sys.executable,
        "-m",
        "pollwatch.cli.main",
        "serve",
        "--db",
        url,
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/app-sw.js", timeout=2):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def _batch(items: list[tuple[str, bytes]]) -> tuple[str, str, str, bytes]:
    return ("POST", "/api/v1/sheets/batch", items[0][0], b"[" + b",".join(b for _, b in items) + b"]")


def _rate(n: int, seconds: float) -> str:
    return f"{seconds:,.1f} s ({n / seconds:,.0f}/s)"


if __name__ == "__main__":
    main()
