"""Mirrors check the witnesses' cosignatures against keys and a quorum, and keep their earlier checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from pollwatch.errors import VerificationError
from pollwatch.ledger.checkpoint import add_signatures, cosign
from pollwatch.ledger.mirror import dir_fetch, mirror_log
from pollwatch.ledger.mirror_verify import verify_mirror
from pollwatch.ledger.note import ALG_COSIGNATURE, Signer, parse_note
from tests.ledger.test_mirror import MemoryLog

OTHER = Signer.from_seed("witness.test/w1", bytes(range(32)), alg=ALG_COSIGNATURE)
"""A key with the real witness's name: its cosignature must not count."""


class CosignedLog(MemoryLog):
    """A memory log whose checkpoint carries the cosignatures of the given witnesses."""

    def __init__(self, signer: Signer, witnesses: list[Signer]) -> None:
        super().__init__(signer)
        self.witnesses = witnesses

    def note(self) -> str:
        note = super().note()
        body = parse_note(note).text
        return add_signatures(note, [cosign(body, w, timestamp=1_790_000_000) for w in self.witnesses])


def test_mirror_refuses_a_checkpoint_without_valid_cosignatures(
    log_signer: Signer, witness_signer: Signer, tmp_path: Path
) -> None:
    forged = CosignedLog(log_signer, [OTHER])
    forged.append(10)
    out = tmp_path / "m"
    with pytest.raises(VerificationError, match="lacks the witness cosignatures"):
        mirror_log(forged.fetch, out, log_key=log_signer.verifier(), witnesses=[witness_signer.verifier()])
    assert not (out / "checkpoint").exists()


def test_mirror_copies_only_cosignatures_that_verify(
    log_signer: Signer, witness_signer: Signer, tmp_path: Path
) -> None:
    stranger = Signer.from_seed("stranger.test/w", bytes(32), alg=ALG_COSIGNATURE)
    log = CosignedLog(log_signer, [witness_signer, stranger])
    log.append(10)
    witnesses = [witness_signer.verifier()]
    summary = mirror_log(log.fetch, tmp_path / "m", log_key=log_signer.verifier(), witnesses=witnesses)
    assert summary.cosigned_by == ("witness.test/w1",)
    names = [s.name for s in parse_note((tmp_path / "m" / "checkpoint").read_text()).signatures]
    assert names == [log_signer.name, "witness.test/w1"]


def test_verify_mirror_checks_the_witness_quorum(
    log_signer: Signer, witness_signer: Signer, tmp_path: Path
) -> None:
    log = MemoryLog(log_signer)  # no cosignatures at all
    log.append(10)
    mirror_log(log.fetch, tmp_path / "m", log_key=log_signer.verifier())
    fetch, key = dir_fetch(tmp_path / "m"), log_signer.verifier()
    report = verify_mirror(fetch, log_key=key, witnesses=[witness_signer.verifier()])
    assert {c.name for c in report.failed()} == {"witness quorum"}
    assert report.absent == ("checkpoint: cosignature of witness.test/w1",)
    assert verify_mirror(fetch, log_key=key, witnesses=[witness_signer.verifier()], quorum=0).ok


def test_mirror_keeps_and_verifies_its_earlier_checkpoints(log_signer: Signer, tmp_path: Path) -> None:
    log = MemoryLog(log_signer)
    out = tmp_path / "m"
    for count in (3, 7, 5):
        log.append(count)
        mirror_log(log.fetch, out, log_key=log_signer.verifier())
    assert (out / "checkpoints" / "index").read_text() == "3\n10\n15\n"
    assert (out / "tile/0/000.p/3").exists()  # kept: only it holds the tree of size 3
    report = verify_mirror(dir_fetch(out), log_key=log_signer.verifier())
    assert {c.name: c.found for c in report.checks}["earlier checkpoints"] == "2 checked"
    assert report.ok
    (out / "tile/0/000.p/3").unlink()
    failed = {c.name: c.found for c in verify_mirror(dir_fetch(out), log_key=log_signer.verifier()).failed()}
    assert set(failed) == {"earlier checkpoints"}
    assert failed["earlier checkpoints"].startswith("2 checked; bad: checkpoints/3")
