"""Offline receipts in the c2sp.org/tlog-proof@v1 format, and their verification.

References
----------
C2SP tlog-proof (https://c2sp.org/tlog-proof) @5ba5ee8; RFC 9162 §2.1.3.2.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from pollwatch.errors import VerificationError
from pollwatch.ledger.checkpoint import Checkpoint, open_checkpoint, verify_quorum
from pollwatch.ledger.merkle import leaf_hash, verify_inclusion
from pollwatch.ledger.note import Verifier

HEADER = "c2sp.org/tlog-proof@v1"
_MAX_PROOF = 63
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Receipt:
    """A parsed receipt: leaf index, inclusion path (leaf to root), the checkpoint note and extra data."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None


@dataclass(frozen=True)
class ReceiptReport:
    """What a receipt proved: the checkpoint it is in and the witnesses that cosigned it (name -> time)."""

    index: int
    checkpoint: Checkpoint
    witnesses: dict[str, int] = field(default_factory=dict)


def format_receipt(index: int, proof: list[bytes], *, checkpoint: str, extra: bytes | None = None) -> str:
    """Return tlog-proof text: header, optional extra, index, base64 hashes, blank line, checkpoint."""
    lines = [HEADER]
    if extra is not None:
        lines.append("extra " + base64.b64encode(extra).decode())
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode() for h in proof)
    return "\n".join(lines) + "\n\n" + checkpoint


def parse_receipt(text: str) -> Receipt:
    """Parse tlog-proof text (no verification)."""
    head, sep, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != HEADER:
        raise VerificationError(
            "not a tlog-proof receipt",
            expected=f"{HEADER}, index, hashes, blank line, checkpoint",
            found=repr(text[:60]),
        )
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = _b64(rest.pop(0)[6:], "extra")
    if not rest or not rest[0].startswith("index ") or not _DECIMAL.fullmatch(rest[0][6:]):
        raise VerificationError(
            "the receipt has no canonical index line",
            expected="index <n in decimal without leading zeros>",
            found=repr(rest[:1])[:80],
        )
    index = int(rest[0][6:])
    proof = tuple(_b64(line, "proof hash") for line in rest[1:])
    if len(proof) > _MAX_PROOF:
        raise VerificationError("the receipt's proof is too long", expected="<= 63", found=str(len(proof)))
    return Receipt(index, proof, checkpoint, extra)


def verify_receipt(
    text: str,
    *,
    entry: bytes | None,
    log_key: Verifier,
    witnesses: list[Verifier] | None = None,
    quorum: int = 0,
    leaf: bytes | None = None,
) -> ReceiptReport:
    """Verify a receipt with public keys alone (tlog-proof "Verification").

    The entry is ``entry``, else the one pollwatch carries in the receipt's ``extra`` line.
    1. compute the leaf hash of the entry (or take ``leaf``); 2. check the log signature and origin;
    3. check a ``quorum``-of-n witness cosignatures; 4. check inclusion in the checkpoint's tree.
    """
    receipt = parse_receipt(text)
    if entry is not None and receipt.extra is not None and entry != receipt.extra:
        raise VerificationError(
            "the entry given differs from the entry carried in the receipt",
            expected=receipt.extra[:80].decode("utf-8", "replace"),
            found=entry[:80].decode("utf-8", "replace"),
        )
    entry = entry if entry is not None else receipt.extra
    if entry is not None:
        leaf = leaf_hash(entry)
    if leaf is None:
        raise VerificationError(
            "nothing to check the receipt against",
            expected="the entry (carried in the receipt or given) or its leaf hash",
        )
    checkpoint = open_checkpoint(receipt.checkpoint, log_key)
    times = verify_quorum(receipt.checkpoint, witnesses or [], quorum=quorum) if quorum else {}
    verify_inclusion(leaf, receipt.index, checkpoint.size, list(receipt.proof), checkpoint.root)
    return ReceiptReport(receipt.index, checkpoint, times)


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"the receipt's {what} is not base64", found=value[:60]) from exc


def fetch_receipt(base: str, index: int, *, timeout: float = 30.0) -> str:
    """GET ``<base>/api/v1/receipts/<index>`` from the log (for :func:`upgrade_receipt`)."""
    import httpx

    if not base.startswith(("http://", "https://")):
        raise VerificationError("not an http(s) URL", expected="https://host", found=base[:100])
    try:
        response = httpx.get(f"{base.rstrip('/')}/api/v1/receipts/{index}", timeout=timeout)
    except httpx.HTTPError as exc:
        raise VerificationError("could not fetch the receipt from the log", found=str(exc)[:200]) from exc
    if response.status_code != 200:
        raise VerificationError(
            "the log did not answer a receipt", expected="200", found=str(response.status_code)
        )
    return response.text


def upgrade_receipt(held: str, fresh: str) -> str:
    """Return ``fresh`` if it is a receipt for the same leaf and entry as ``held``; raise otherwise.

    A receipt answered at submission may lack a witness that was down then; the log's newer receipt
    for the same entry carries the cosignatures that arrived since. The caller still verifies it.
    """
    old, new = parse_receipt(held), parse_receipt(fresh)
    if new.index != old.index or (old.extra is not None and new.extra != old.extra):
        raise VerificationError(
            "the log answered a receipt for another entry",
            expected=f"index {old.index} with the entry the held receipt carries",
            found=f"index {new.index}",
        )
    return fresh
