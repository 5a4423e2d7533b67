"""Benchmark: SMS through a real Kannel into pollwatch, against posting the same messages to the webhook.

One pollwatch server (SQLite, one worker) and one run: (1) ``fakesmsc`` (Kannel's fake SMS centre, playing
the phones) sends N messages through bearerbox and smsbox, which fetch the Kannel adapter's get-url; the
rate is N over the time until the last reply reached the fake phone; (2) the same N messages posted
straight to the same adapter URL by an HTTP client, with 1, 16 and 64 connections.

Each message is a distinct sheet (its own ``I`` id) picked at random among N, as fakesmsc picks among its
arguments, so both runs see the same share of repeats (about 37 %). Needs Debian's kannel packages
(``make kannel``). Environment: BENCH_SMS_N (default 1000).
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

from bench.bench_intake import _Connection
from pollwatch.intake.gateways import kannel_run

N = int(os.environ.get("BENCH_SMS_N", "1000"))
SENDER = "+923001234567"


def _texts(prefix: str) -> list[str]:
    return [f"PW NA-1 1 45 300,200,100 R10 P610 Ibench-{prefix}-{k:06d}" for k in range(N)]


async def _direct(port: int, fixed: dict[str, str], texts: list[str], concurrency: int) -> tuple[float, int]:
    """Seconds to send every text (each with a fresh message id, as Kannel gives) and the OK replies.

    The client is bench_intake's minimal keep-alive HTTP/1.1 client with the URLs built beforehand, so it
    costs the shared CPUs as little as possible (an httpx client halved the rate under load).
    """
    paths = [
        "/api/v1/sms/in/kannel?" + urlencode({**fixed, "sender": SENDER, "text": t, "id": str(uuid.uuid4())})
        for t in texts
    ]
    ok = 0

    async def worker() -> None:
        nonlocal ok
        connection = _Connection(port)
        while paths:
            status, body = await connection.request("GET", paths.pop())
            ok += status == 200 and body.startswith(b"OK")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, ok


def main() -> None:
    reason = kannel_run.missing()
    if reason is not None:
        print(f"skipped: {reason}")
        return
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        unlimited = {"POLLWATCH_RATE_TOKEN": "1e9,1e9", "POLLWATCH_RATE_ADDRESS": "1e9,1e9"}
        site = kannel_run.serve(folder, f"sqlite:///{folder / 'bench.sqlite3'}", env=unlimited)
        run = None
        try:
            port = int(site.url.rsplit(":", 1)[1])
            fixed = {"token": site.gateway_token, "election": "tiny-2026"}
            run = kannel_run.start(folder, get_url=kannel_run.kannel_url(site.url, site.gateway_token))
            lines = [f"{SENDER} {kannel_run.SHORT_CODE} text {t}" for t in _texts("k")]
            start = time.perf_counter()
            replies = run.send_many(lines, count=N, replies=N, timeout=300)
            through_kannel = time.perf_counter() - start
            kannel_ok = sum(r.text.startswith("OK") for r in replies)
            rows = [
                ("Kannel (fakesmsc -> bearerbox -> smsbox -> pollwatch -> back)", through_kannel, kannel_ok)
            ]
            for concurrency in (1, 16, 64):
                texts = [rng.choice(_texts(f"d{concurrency}")) for _ in range(N)]
                seconds, ok = asyncio.run(_direct(port, fixed, texts, concurrency))
                rows.append((f"straight to the webhook, {concurrency} connection(s)", seconds, ok))
        finally:
            if run is not None:
                run.stop()
            site.stop()
    print(
        f"{N} SMS, one pollwatch worker on SQLite, Kannel 1.4.5 on loopback, load {os.getloadavg()[0]:.2f}\n"
    )
    print("| path | messages | OK replies | seconds | messages/s |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, ok in rows:
        print(f"| {name} | {N} | {ok} | {seconds:.1f} | {N / seconds:.0f} |")


if __name__ == "__main__":
    main()
