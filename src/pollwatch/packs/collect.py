"""Read what one constituency's pack needs from the store: its leaves, proofs, checkpoints and audit.

Every station copy and official sheet of the constituency is named by its log leaf (the projection keeps
the index, :func:`pollwatch.tally.views.constituency_input`); the pack carries each leaf's exact bytes
with an inclusion proof to one *anchor* checkpoint: the largest checkpoint covering every leaf that a
witness cosigned, else the latest. The custody chain of a leaf is the first checkpoint that covered it,
then every later checkpoint the pack carries up to the anchor, each proved consistent with the last.

References
----------
RFC 9162 §2.1.3 (inclusion), §2.1.4 (consistency); C2SP tlog-proof, tlog-cosignature @5ba5ee8.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from pollwatch.audit.views import audit_constituency
from pollwatch.errors import NotFoundError, StorageError
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import add_signatures
from pollwatch.ledger.merkle import consistency_proof, inclusion_proof
from pollwatch.ledger.note import parse_note
from pollwatch.ledger.proof import format_receipt
from pollwatch.ledger.records import LeafRecord, parse_leaf
from pollwatch.ledger.settings import LogSettings, load_settings
from pollwatch.packs.figures import StationRef
from pollwatch.storage import Database, observations
from pollwatch.storage import log as log_store
from pollwatch.tally.views import constituency_input, get_structure


@dataclass(frozen=True)
class Anchor:
    """A checkpoint the pack proves against: size, note (with cosignatures) and when it was signed."""

    size: int
    note: str
    signed_at: dt.datetime


@dataclass(frozen=True)
class PackContent:
    """Everything a pack is made of, read in one go (no personal data: leaves carry none)."""

    election: dict[str, Any]
    constituency: dict[str, Any]
    ballot: list[dict[str, Any]]
    stations: list[StationRef]
    entries: dict[int, bytes]
    records: dict[int, LeafRecord]
    receipts: dict[int, str]
    anchor: Anchor
    chain: list[Anchor]
    """Checkpoints from the first covering any leaf up to the anchor (the anchor last)."""
    consistency: dict[tuple[int, int], list[bytes]]
    first_checkpoint: dict[int, int]
    """Leaf index -> size of the first carried checkpoint that covers it."""
    findings: list[dict[str, Any]]
    log_vkey: str
    witness_vkeys: list[str]


def collect(db: Database, slug: str, code: str, *, settings: LogSettings | None = None) -> PackContent:
    """Read the constituency's leaves, proofs and audit; sign a checkpoint first if none covers them."""
    settings = settings or load_settings()
    with db.connect() as conn:
        s = get_structure(conn, slug)
        place = s.by_code.get(code)
        if place is None:
            raise NotFoundError(
                f"no constituency {code} in {slug}", where=code, expected="a constituency code"
            )
        inp = constituency_input(conn, slug, code, every_copy=True)
        findings = [_renamed(f.as_dict()) for f in audit_constituency(conn, slug, code).findings]
        observed = observations.observation_leaves(conn, place.id)
    indices = sorted({int(i) for sh in inp.sheets if isinstance(i := sh.extra.get("leaf_index"), int)})
    if not indices:
        raise NotFoundError(f"{code} has no result in the log", where=code, expected="at least one sheet")
    indices = sorted({*indices, *observed})  # observers' checklists and incidents at these stations
    anchor, history = _anchor(db, settings, indices[-1])
    with db.connect() as conn:
        entries = log_store.read_entries_at(conn, indices)
        reader = service.DbHashes(conn)
        receipts = {
            i: format_receipt(
                i, inclusion_proof(i, anchor.size, reader), checkpoint=anchor.note, extra=entries[i]
            )
            for i in indices
        }
        sizes = [c.size for c in history]
        first = {i: sizes[bisect.bisect_right(sizes, i)] for i in indices}
        chain = [c for c in history if c.size in set(first.values()) or c.size == anchor.size]
        consistency = {
            (a.size, b.size): consistency_proof(a.size, b.size, reader)
            for a, b in zip(chain, chain[1:], strict=False)
        }
    e = s.election
    ballot = s.ballots.ballot(code)
    return PackContent(
        election={"slug": str(e.slug), "title": e.name, "date": e.date.isoformat(), "rule_pack": e.rule_pack},
        constituency={
            "code": code,
            "assembly": place.assembly,
            "region": place.region,
            "registered": place.registered,
            "stations": place.stations,
        },
        ballot=[_candidate(b.as_dict()) for b in ballot],
        stations=[StationRef(st.serial, str(st.number)) for st in inp.stations if st.constituency == code],
        entries=entries,
        records={i: parse_leaf(d) for i, d in entries.items()},
        receipts=receipts,
        anchor=anchor,
        chain=chain,
        consistency=consistency,
        first_checkpoint=first,
        findings=findings,
        log_vkey=settings.signer.verifier().vkey,
        witness_vkeys=[w.key.vkey for w in settings.witnesses],
    )


def _renamed(value: Any) -> Any:
    """The audit's candidate entries keyed ``candidate`` instead of ``name`` (the log's convention, so a
    walk for personal keys finds none: candidates are public, submitters never named)."""
    if isinstance(value, dict):
        return {("candidate" if k == "name" else k): _renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v) for v in value]
    return value


def _candidate(entry: dict[str, Any]) -> dict[str, Any]:
    """A ballot entry keyed as the log keys candidates (``candidate``, never ``name``: see records.py)."""
    return {"position": entry["position"], "candidate": entry["name"], "party": entry["party"],
            "party_name": entry["party_name"]}  # fmt: skip


def _anchor(db: Database, settings: LogSettings, last: int) -> tuple[Anchor, list[Anchor]]:
    """The anchor checkpoint for leaves up to ``last`` and every stored checkpoint up to it."""
    for attempt in range(2):
        with db.connect() as conn:
            stored = log_store.list_checkpoints(conn)
        covering = [c for c in stored if c.size > last]
        if covering:
            cosigned = [c for c in covering if c.cosignatures]
            best = (cosigned or covering)[-1]
            history = [
                Anchor(c.size, _with_cosignatures(c.note, c.cosignatures), c.signed_at)
                for c in stored
                if c.size <= best.size
            ]
            return history[-1], history
        if attempt == 0:
            with service.signing_allowed(db) as allowed:
                if allowed:
                    service.sign_checkpoint(db, settings)
                else:  # the publisher leads: it covers the leaves within a second
                    time.sleep(2.0)
    raise StorageError("no checkpoint covers the constituency's leaves", found=f"leaf {last}")


def _with_cosignatures(note: str, lines: tuple[str, ...]) -> str:
    if not lines:
        return note
    extra = parse_note(note.rstrip("\n") + "\n" + "".join(lines)).signatures
    return add_signatures(note, list(extra))
