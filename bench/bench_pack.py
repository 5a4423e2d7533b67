"""Evidence pack benchmark: build and verify the pack of the demo's largest constituency, with photos.

The demo night (``make demo``) disaggregates the real 2018 National Assembly results over the real
polling scheme (``pollwatch.demo``: ``from_universe`` with seed 2018 and the demo's manipulations). This
builds that universe from the files (no import), takes its constituency with the most stations, and loads
a night of that constituency alone, every station copy carrying a signed photo, through the submission
core; a witness cosigns the checkpoint. Then it times ``export_pack`` (records, proofs, custody, HTML, PDF,
zip) and ``verify_pack``, against ``sha256sum`` over the same files in the same run: the floor of any
check that reads every file once.

Without ../shared/data the fully synthetic demo (80 constituencies, 20,000 stations) stands in.
``BENCH_PACK_REPEATS`` (default 1) repeats the timed steps and keeps the best.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pollwatch.demo import DEMO_MANIPULATIONS, start_witness
from pollwatch.evidence import FilesystemStore
from pollwatch.ledger import service
from pollwatch.ledger.note import Signer
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.trust import TrustAnchor
from pollwatch.model import SheetKind
from pollwatch.packs import PackSummary, export_pack, verify_pack
from pollwatch.storage import Database
from pollwatch.synth import (
    Contest,
    RealStation,
    SynthConfig,
    SyntheticElection,
    create_structure,
    from_universe,
    generate,
    prepare_night,
)
from pollwatch.synth.photos import load_night_with_photos
from pollwatch.tally.projector import Projector

DATA = Path(os.environ.get("POLLWATCH_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
REPEATS = int(os.environ.get("BENCH_PACK_REPEATS", "1"))
CONFIG = SynthConfig(seed=2018, manipulations=DEMO_MANIPULATIONS)
SLUG = "bench-pack"


def _contests() -> list[Contest]:
    """The demo's contests from the 2018 files, as ``pollwatch.synth.contests_from_store`` reads them."""
    from pollwatch.datasets import read

    ds = read("pakistan-2018", DATA)
    final = {s.constituency: s for s in ds.sheets if s.kind is SheetKind.FINAL and s.station is None}
    out = []
    for c in ds.constituencies:
        sheet = final.get(c.code)
        if c.assembly != "NA" or sheet is None or not sheet.votes:
            continue
        names = {k.ballot_order: k for k in ds.candidates if k.constituency == c.code}
        order = sorted(sheet.votes)
        stations = tuple(
            RealStation(s.number, s.registered.total or 0, s.booths.total or 1)
            for s in ds.stations
            if s.constituency == c.code and (s.registered.total or 0) > 0
        )
        out.append(
            Contest(
                code=c.code,
                region=c.region,
                registered=c.registered.total or 0,
                candidates=tuple((names[k].name, names[k].party) for k in order),
                totals=tuple(sheet.votes[k] for k in order),
                rejected=sheet.totals.rejected or 0,
                stations=stations,
            )
        )
    return out


def _largest() -> tuple[SyntheticElection, str, str]:
    """A night of the demo's largest constituency alone, its code, and where it came from."""
    if (DATA / "pakistan-2018-constituency").exists():
        contests = _contests()
        demo = from_universe(contests, CONFIG)
        sizes = np.bincount(demo.constituency, minlength=demo.n_constituencies)
        biggest = contests[int(np.argmax(sizes))]
        return from_universe([biggest], CONFIG), biggest.code, f"pk-2018-night ({int(sizes.max())} stations)"
    demo = generate(
        SynthConfig(seed=2018, n_stations=20_000, n_constituencies=80, manipulations=DEMO_MANIPULATIONS)
    )
    sizes = np.bincount(demo.constituency, minlength=demo.n_constituencies)
    return demo, demo.constituency_codes[int(np.argmax(sizes))], "synth-demo (no ../shared/data)"


def _best(action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    e, code, source = _largest()
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as tmp:
        root = Path(tmp)
        os.environ["POLLWATCH_HOME"] = str(root / "home")
        db = Database(f"sqlite:///{root / 'night.sqlite3'}")
        db.upgrade()
        started = time.perf_counter()
        create_structure(db, e, slug=SLUG, rule_pack="pakistan", date=dt.date(2018, 7, 25))
        night = prepare_night(db, e, slug=SLUG, date=dt.date(2018, 7, 25))
        evidence = FilesystemStore(root / "evidence")
        photos = load_night_with_photos(db, night, evidence=evidence, constituencies={code})
        log = LogSettings(Signer.from_seed("bench.pollwatch/log", hashlib.sha256(b"bench-pack").digest()))
        settings, witness = start_witness(log, port=0)
        try:
            service.sign_checkpoint(db, settings)
            Projector(db).catch_up()
            setup = time.perf_counter() - started
            out = root / "pack"
            written: list[PackSummary] = []

            def build() -> None:
                shutil.rmtree(out, ignore_errors=True)
                out.with_name("pack.zip").unlink(missing_ok=True)
                written.append(export_pack(db, SLUG, code, out, settings=settings, photos=evidence,
                                           generated_at=dt.datetime(2018, 8, 1, tzinfo=dt.UTC)))  # fmt: skip

            t_build = _best(build)
        finally:
            witness.shutdown()
        anchor = TrustAnchor(log_key=log.signer.verifier(), witnesses=(settings.witnesses[0].key,))
        report = verify_pack(out, anchor)
        assert report.ok, report.failed()
        t_verify = _best(lambda: verify_pack(out, anchor))
        files = sorted(str(p) for p in out.rglob("*") if p.is_file())
        t_sum = _best(lambda: subprocess.run(["sha256sum", *files], check=True, capture_output=True))
        size = sum(Path(f).stat().st_size for f in files)
        pages = subprocess.run(["pdfinfo", str(out / "pack.pdf")], capture_output=True, text=True).stdout
        page_count = next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages")), "?")
        load = os.getloadavg()[0]
        print(f"source: {source}; constituency {code}: {e.n_stations} stations, {photos} photos; "
              f"night loaded and witnessed in {setup:.1f} s; load average {load:.2f}")  # fmt: skip
        w = written[-1]
        print(f"pack: {len(files)} files, {size / 1e6:.1f} MB, {w.records} records, {w.photos} photos, "
              f"{w.discrepancies} discrepancies, PDF {page_count} pages\n")  # fmt: skip
        print("| step | seconds | vs sha256sum |")
        print("|---|---:|---:|")
        for name, seconds in (("sha256sum over the pack's files", t_sum), ("pack export (build)", t_build),
                              ("pack verify", t_verify)):  # fmt: skip
            print(f"| {name} | {seconds:.2f} | {seconds / t_sum:.0f}x |")
        db.dispose()


if __name__ == "__main__":
    main()
