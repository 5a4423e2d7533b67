"""Write one constituency's evidence pack: a folder (and the same as a zip) a court can read and anyone can
verify offline.

Layout of a pack directory::

    pack.pdf, pack.html          the case for a reader (English or Urdu), one HTML rendered to PDF
    summary.json                 every figure the pack states, recomputable from the records
    custody.json                 per file: where it came from, when it entered the log, checkpoints since
    manifest.json                format, election, constituency, language, the stated timestamp, anchor
    stations/<serial>/station.json   the station's copies, signed and official figures, official history
    stations/<serial>/<leaf>.json    each copy's log record, as its original bytes
    stations/<serial>/<leaf>.tlog-proof   its inclusion proof to the anchor checkpoint (C2SP tlog-proof)
    stations/<serial>/<sha256>.<ext>      photos of the sheet, when the election publishes photos
    constituency/<leaf>.json, .tlog-proof the constituency-level official sheets (Form-47/48/49)
    checkpoints/<size>           the custody chain: checkpoints with the witnesses' cosignatures
    consistency/<a>-<b>          consistency proofs between successive checkpoints (base64, one a line)
    keys/log.vkey, keys/witnesses.vkeys   the keys that signed (verify with keys you hold, not these)
    SHA256SUMS                   ``sha256sum -c`` format, every file above

Reproducible: the same log and arguments give the same bytes; the only time that varies is the stated
``generated_at`` (default: ``SOURCE_DATE_EPOCH`` if set, else now), written in the manifest, the
pages and the PDF's metadata.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pollwatch.errors import InputError
from pollwatch.evidence.sniff import sniff_type
from pollwatch.ledger.bundle import PhotoSource
from pollwatch.ledger.checkpoint import parse_checkpoint
from pollwatch.ledger.note import parse_note
from pollwatch.ledger.settings import LogSettings
from pollwatch.packs import legal
from pollwatch.packs.collect import PackContent, collect
from pollwatch.packs.custody import device_signature, record_details
from pollwatch.packs.figures import StationRef, compute_figures
from pollwatch.packs.render import render_html
from pollwatch.packs.text import LANGUAGES
from pollwatch.reports.pdf import render_pdf
from pollwatch.storage import Database

FORMAT = "pollwatch-pack/v1"
SUMS = "SHA256SUMS"
_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


@dataclass(frozen=True)
class PackSummary:
    """What an export wrote."""

    path: Path
    zip_path: Path
    files: int
    records: int
    photos: int
    stations: int
    discrepancies: int


def generated_time(value: dt.datetime | None = None) -> dt.datetime:
    """The stated timestamp: ``value``, else ``SOURCE_DATE_EPOCH`` (reproducible builds), else now."""
    if value is not None:
        return value.astimezone(dt.UTC).replace(microsecond=0)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise InputError("SOURCE_DATE_EPOCH is not a number of seconds", found=epoch)
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def export_pack(
    db: Database,
    slug: str,
    code: str,
    out: Path,
    *,
    lang: str = "en",
    gazette_date: dt.date | None = None,
    generated_at: dt.datetime | None = None,
    photos: PhotoSource | None = None,
    settings: LogSettings | None = None,
) -> PackSummary:
    """Write the pack of constituency ``code`` of election ``slug`` to ``out`` and ``out``.zip."""
    if lang not in LANGUAGES:
        raise InputError("unknown pack language", expected=" or ".join(LANGUAGES), found=lang)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} is not empty", remedy="export into a new or empty directory")
    when = generated_time(generated_at).isoformat().replace("+00:00", "Z")
    content = collect(db, slug, code, settings=settings)
    figures = compute_figures(code, sorted(content.records.items()), content.stations)
    files: dict[str, bytes] = {}
    copied = _write_records(files, content, figures, photos)
    summary = _summary(content, figures, lang=lang, when=when, gazette_date=gazette_date)
    files["summary.json"] = _json(summary)
    files["custody.json"] = _json(_custody(content, figures, files))
    files["manifest.json"] = _json(
        {
            "format": FORMAT,
            "election": content.election["slug"],
            "constituency": code,
            "lang": lang,
            "generated_at": when,
            "anchor": summary["anchor"],
            "records": len(content.entries),
            "photos": copied,
        }
    )
    for key, lines in content.consistency.items():
        files[f"consistency/{key[0]}-{key[1]}"] = "".join(
            base64.b64encode(h).decode() + "\n" for h in lines
        ).encode()
    for checkpoint in content.chain:
        files[f"checkpoints/{checkpoint.size}"] = checkpoint.note.encode()
    files["keys/log.vkey"] = (content.log_vkey + "\n").encode()
    files["keys/witnesses.vkeys"] = "".join(v + "\n" for v in content.witness_vkeys).encode()
    html = render_html(summary, custody=json.loads(files["custody.json"]))
    files["pack.html"] = html.encode()
    files["pack.pdf"] = render_pdf(html)
    files[SUMS] = "".join(f"{_sha(data)}  {name}\n" for name, data in sorted(files.items())).encode()
    _write_all(out, files)
    zip_path = out.with_name(out.name + ".zip")
    _write_zip(zip_path, out.name, files, when)
    return PackSummary(
        out,
        zip_path,
        len(files),
        len(content.entries),
        len(copied),
        len(figures["stations"]),
        len(figures["discrepancies"]),
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _station_of(figures: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {leaf: row for row in figures["stations"] for leaf in row["records"]}


def record_path(row: dict[str, Any] | None, leaf: int, suffix: str = ".json") -> str:
    """Where a record (``.json``) or its proof (``.tlog-proof``) lives in a pack."""
    folder = row["folder"] if row is not None else "constituency"
    return f"{folder}/{leaf}{suffix}"


def _write_records(
    files: dict[str, bytes], content: PackContent, figures: dict[str, Any], photos: PhotoSource | None
) -> list[str]:
    stations = _station_of(figures)
    copied: list[str] = []
    for leaf, entry in sorted(content.entries.items()):
        row = stations.get(leaf)
        files[record_path(row, leaf)] = entry
        files[record_path(row, leaf, ".tlog-proof")] = content.receipts[leaf].encode()
        sha = content.records[leaf].body.get("photo_sha256")
        if photos is not None and isinstance(sha, str) and photos.has(sha):
            data = photos.get(sha)
            ext = _EXT.get(sniff_type(data) or "", "bin")
            files[f"{row['folder'] if row else 'constituency'}/{sha}.{ext}"] = data
            copied.append(sha)
    for row in figures["stations"]:
        if not row["records"]:
            continue
        details = [
            record_details(leaf, content.records[leaf], content.entries[leaf]) for leaf in row["records"]
        ]
        files[f"{row['folder']}/station.json"] = _json({"figures": row, "copies": details})
    return sorted(set(copied))


def _summary(
    content: PackContent, figures: dict[str, Any], *, lang: str, when: str, gazette_date: dt.date | None
) -> dict[str, Any]:
    cp = parse_checkpoint(parse_note(content.anchor.note).text)
    return {
        "format": FORMAT,
        "election": content.election,
        "constituency": content.constituency,
        "ballot": content.ballot,
        "lang": lang,
        "generated_at": when,
        "anchor": {"origin": cp.origin, "size": cp.size, "root": base64.b64encode(cp.root).decode()},
        "figures": figures,
        "findings": content.findings,
        "deadlines": legal.filing_window(gazette_date),
        "checklist": list(legal.CHECKLIST),
    }


def _custody(content: PackContent, figures: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """Per record and photo: origin, SHA-256, when it entered the log, and the checkpoints since."""
    stations = _station_of(figures)
    photo_files = {name.rsplit("/", 1)[-1].split(".")[0]: name for name in files if _is_photo(name)}
    signed = {c.size: c.signed_at.isoformat() for c in content.chain}
    sizes = [c.size for c in content.chain]
    out = []
    for leaf, record in sorted(content.records.items()):
        row = stations.get(leaf)
        first = content.first_checkpoint[leaf]
        body = record.body
        photo = body.get("photo_sha256")
        photo_file = photo_files.get(photo) if isinstance(photo, str) else None
        out.append(
            {
                "file": record_path(row, leaf),
                "sha256": _sha(content.entries[leaf]),
                "proof": record_path(row, leaf, ".tlog-proof"),
                "leaf": leaf,
                "station": row["number"] if row else None,
                "origin": {
                    "type": record.type,
                    "form": body.get("form"),
                    "submitter_key": body.get("submitter_key"),
                    "role": body.get("role"),
                    "organisation": body.get("organisation"),
                    "source": body.get("source"),
                },
                "captured_at": body.get("captured_at"),
                "entered_log_at": body.get("received_at"),
                "device_signature": device_signature(record),
                "photo": {"sha256": photo, "file": photo_file} if photo else None,
                "first_checkpoint": {"size": first, "signed_at": signed.get(first)},
                "checkpoints_since": [s for s in sizes if s >= first],
            }
        )
    return {"records": out, "chain": [{"size": c.size, "signed_at": signed[c.size]} for c in content.chain]}


def _is_photo(name: str) -> bool:
    return name.startswith(("stations/", "constituency/")) and not name.endswith((".json", ".tlog-proof"))


def _write_all(out: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _write_zip(path: Path, folder: str, files: dict[str, bytes], when: str) -> None:
    """The same files in a zip whose entries carry the stated time, so the zip is reproducible too."""
    stamp = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name])


__all__ = ["FORMAT", "PackSummary", "StationRef", "export_pack", "generated_time", "record_path"]
