"""Evidence packs on a synthetic night: the figures match the ground truth, the pack verifies offline, and
every kind of tampering is caught by name."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pollwatch.errors import InputError
from pollwatch.ledger.records import PERSONAL_FIELDS
from pollwatch.ledger.trust import TrustAnchor
from pollwatch.packs import export_pack, verify_pack
from pollwatch.packs.export import SUMS
from tests.packs.conftest import SLUG, Night, observed_station


def _summary(pack: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((pack / "summary.json").read_text())
    return result


def test_pack_shows_exactly_the_ground_truths_altered_stations_and_total(night: Night) -> None:
    e = night.election
    c = e.constituency_codes.index(night.code)
    figures = _summary(night.pack)["figures"]
    by_number = {r["number"]: r for r in figures["stations"]}
    withheld = {e.station_numbers[i] for i in np.flatnonzero(e.official_withheld) if e.constituency[i] == c}
    flagged = {d["station"] for d in figures["discrepancies"] if d["station"] is not None}
    assert withheld
    assert flagged == withheld
    for d in figures["discrepancies"]:
        if d["station"] is not None:
            assert d["kind"] == "station_missing_from_official"
            assert d["difference"] == {k: -v for k, v in by_number[d["station"]]["signed"]["votes"].items()}
    (whole,) = [d for d in figures["discrepancies"] if d["station"] is None]
    shift = {
        str(j + 1): int(v) for j, v in enumerate(e.truth.official_shift[c]) if j < len(whole["difference"])
    }
    assert whole["kind"] == "declared_total_beyond_stations"
    assert {k: v for k, v in whole["difference"].items() if v} == {k: v for k, v in shift.items() if v}
    # The effect on the margin is the declared winner's gain over the runner-up, and the ranking follows it.
    m = figures["margin"]
    assert whole["effect_on_margin"] == whole["difference"][m["winner"]] - whole["difference"][m["runner_up"]]
    effects = [abs(d["effect_on_margin"]) for d in figures["discrepancies"]]
    assert effects == sorted(effects, reverse=True)


def test_an_unaltered_constituency_shows_its_withheld_stations_and_nothing_else(
    night: Night, tmp_path: Path
) -> None:
    e = night.election
    c = int(np.flatnonzero(~e.truth.altered)[0])
    code = e.constituency_codes[c]
    export_pack(night.db, SLUG, code, tmp_path / "other", settings=night.settings)
    found = _summary(tmp_path / "other")["figures"]["discrepancies"]
    withheld = {e.station_numbers[i] for i in np.flatnonzero(e.official_withheld) if e.constituency[i] == c}
    assert {d["station"] for d in found} == withheld
    assert {d["kind"] for d in found} <= {"station_missing_from_official"}


def test_pack_verifies_offline_with_the_keys_held(night: Night) -> None:
    report = verify_pack(night.pack, night.anchor)
    assert report.ok, report.failed()
    checks = {c.name: c for c in report.checks}
    custody = json.loads((night.pack / "custody.json").read_text())["records"]
    records = len(custody)
    signed = sum(bool(json.loads((night.pack / r["file"]).read_bytes()).get("signature")) for r in custody)
    assert signed == records - 2  # every sheet is signed; the observer's two records came with a token only
    assert checks["inclusion proofs"].found == f"{records} records"
    assert checks["device signatures"].found == f"{signed} checked"
    assert checks["witness quorum"].found.startswith("1 of 1 valid")
    photos = list(night.pack.glob("stations/*/*.png"))
    assert photos
    assert checks["photos match records"].found == f"{len(photos)} photos"


def test_verify_without_the_log_key_fails_the_trust_anchor(night: Night) -> None:
    report = verify_pack(night.pack, TrustAnchor())
    assert [c.name for c in report.failed()] == ["trust anchor"]


def test_pack_is_reproducible_but_for_the_stated_time(night: Night, tmp_path: Path) -> None:
    (tmp_path / "again").mkdir()
    again = night.export(tmp_path / "again" / "pack")
    assert (again / SUMS).read_bytes() == (night.pack / SUMS).read_bytes()
    assert again.with_name("pack.zip").read_bytes() == night.pack.with_name("pack.zip").read_bytes()
    from datetime import UTC, datetime

    later = tmp_path / "later"
    export_pack(
        night.db, SLUG, night.code, later, settings=night.settings, photos=night.evidence,
        generated_at=datetime(2031, 5, 6, tzinfo=UTC), gazette_date=None,
    )  # fmt: skip
    sums = dict(line.split("  ")[::-1] for line in (night.pack / SUMS).read_text().splitlines())
    other = dict(line.split("  ")[::-1] for line in (later / SUMS).read_text().splitlines())
    changed = {name for name in sums if sums[name] != other.get(name)}
    assert changed == {"manifest.json", "summary.json", "pack.html", "pack.pdf"}


def test_pack_holds_no_personal_data(night: Night) -> None:
    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    for path in night.pack.rglob("*.json"):
        found = keys(json.loads(path.read_text())) & PERSONAL_FIELDS
        assert not found, (path, found)


def test_export_refuses_a_non_empty_directory_and_an_unknown_language(night: Night, tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("")
    with pytest.raises(InputError, match="not empty"):
        night.export(tmp_path / "x")
    with pytest.raises(InputError, match="unknown pack language"):
        night.export(tmp_path / "y", lang="fr")


def _resum(pack: Path) -> None:
    """Rewrite SHA256SUMS after a tamper, as a forger would: the deeper checks must still catch it."""
    lines = []
    for line in (pack / SUMS).read_text().splitlines():
        _, name = line.split("  ")
        if (pack / name).exists():
            lines.append(f"{hashlib.sha256((pack / name).read_bytes()).hexdigest()}  {name}")
    (pack / SUMS).write_text("\n".join(lines) + "\n")


def _tamper_photo(pack: Path) -> tuple[str, str]:
    photo = sorted(pack.glob("stations/*/*.png"))[0]
    data = bytearray(photo.read_bytes())
    data[-20] ^= 0xFF
    photo.write_bytes(bytes(data))
    name = photo.relative_to(pack).as_posix()
    return name, name


def _tamper_figure(pack: Path) -> tuple[str, str]:
    summary = _summary(pack)
    row = next(r for r in summary["figures"]["stations"] if r["signed"] is not None)
    position = next(iter(row["signed"]["votes"]))
    row["signed"]["votes"][position] += 100
    (pack / "summary.json").write_text(
        json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )
    return "summary.json", f"station {row['number']} (signed)"


def _tamper_proof(pack: Path) -> tuple[str, str]:
    proof = sorted(pack.glob("stations/*/*.tlog-proof"))[0]
    lines = proof.read_text().split("\n")
    i = next(n for n, line in enumerate(lines) if n > 1 and re.fullmatch(r"[A-Za-z0-9+/]{43}=", line))
    lines[i] = ("A" if lines[i][0] != "A" else "B") + lines[i][1:]
    proof.write_text("\n".join(lines))
    name = proof.relative_to(pack).as_posix()
    return name, name


def _tamper_checkpoint(pack: Path) -> tuple[str, str]:
    checkpoint = sorted((pack / "checkpoints").iterdir(), key=lambda p: int(p.name))[-1]
    origin, size, root, *rest = checkpoint.read_text().split("\n")
    checkpoint.write_text("\n".join([origin, str(int(size) + 1), root, *rest]))
    return f"checkpoints/{checkpoint.name}", f"checkpoints/{checkpoint.name}"


def _drop_station(pack: Path) -> tuple[str, str]:
    summary = _summary(pack)
    row = next(r for r in summary["figures"]["stations"] if r["records"])
    for path in sorted((pack / row["folder"]).iterdir()):
        path.unlink()
    (pack / row["folder"]).rmdir()
    return f"missing: {row['folder']}/", f"station {row['number']}: {row['folder']}/ missing"


@pytest.mark.parametrize(
    ("tamper", "check"),
    [
        (_tamper_photo, "photos match records"),
        (_tamper_figure, "summary figures"),
        (_tamper_proof, "inclusion proofs"),
        (_tamper_checkpoint, "checkpoint signatures"),
        (_drop_station, "stations complete"),
    ],
)
def test_tampering_is_caught_by_name(night: Night, pack_copy: Path, tamper: Any, check: str) -> None:
    listed, named = tamper(pack_copy)
    caught = {c.name: c for c in verify_pack(pack_copy, night.anchor).failed()}
    assert listed in caught["file hashes"].found  # the file list names it first
    _resum(pack_copy)  # a forger rewrites the list: the check of what the file means still names it
    failed = {c.name: c for c in verify_pack(pack_copy, night.anchor).failed()}
    assert check in failed, failed
    assert named in failed[check].found, failed[check]


def test_a_station_dropped_everywhere_is_still_caught_by_the_polling_scheme(
    night: Night, pack_copy: Path
) -> None:
    # A thorough forger removes the station's folder, its row in the summary and its custody entries.
    summary = _summary(pack_copy)
    row = next(r for r in summary["figures"]["stations"] if r["records"])
    shutil.rmtree(pack_copy / row["folder"])
    summary["figures"]["stations"].remove(row)
    (pack_copy / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True, ensure_ascii=False))
    custody = json.loads((pack_copy / "custody.json").read_text())
    custody["records"] = [c for c in custody["records"] if c["leaf"] not in row["records"]]
    (pack_copy / "custody.json").write_text(json.dumps(custody))
    _resum(pack_copy)
    failed = {c.name: c for c in verify_pack(pack_copy, night.anchor).failed()}
    scheme = summary["constituency"]["stations"]
    assert f"{scheme - 1} station rows for a polling scheme of {scheme}" in failed["stations complete"].found


def test_the_pack_carries_the_observers_records_at_its_stations(night: Night, pack_copy: Path) -> None:
    summary = json.loads((night.pack / "summary.json").read_text())
    observed = summary["figures"]["observation"]
    [checklist] = observed["checklists"]
    [incident] = observed["incidents"]
    station = observed_station(night.election, night.code)
    assert (checklist["form"], checklist["station"], checklist["qc_failures"]) == (
        "pk-count", station, ["men_and_women_make_the_total"],
    )  # fmt: skip
    assert (incident["category"], incident["station"]) == ("result_withheld", station)
    html = (night.pack / "pack.html").read_text()
    assert "men_and_women_make_the_total" in html
    assert "result_withheld" in html
    assert "Secret Observer" not in html
    custody = json.loads((night.pack / "custody.json").read_text())
    carried = {int(r["leaf"]) for r in custody["records"]}
    assert {checklist["leaf"], incident["leaf"]} <= carried  # each with its proof and custody
    assert verify_pack(night.pack, night.anchor).ok
    record = pack_copy / "constituency" / f"{checklist['leaf']}.json"
    record.write_bytes(record.read_bytes().replace(b'"CA":120', b'"CA":130'))
    failed = {c.name for c in verify_pack(pack_copy, night.anchor).failed()}
    assert "inclusion proofs" in failed
