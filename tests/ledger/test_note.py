"""Signed notes, checkpoints and cosignatures against the published C2SP/Go examples and LEDGER.md."""

from __future__ import annotations

import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pollwatch.errors import InputError, VerificationError
from pollwatch.ledger.checkpoint import (
    Checkpoint,
    add_signatures,
    cosign,
    open_checkpoint,
    parse_checkpoint,
    verify_cosignature,
    verify_quorum,
)
from pollwatch.ledger.merkle import leaf_hash, root_from_leaves
from pollwatch.ledger.note import (
    ALG_COSIGNATURE,
    Signer,
    open_note,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_note,
)

# C2SP signed-note.md "Example" (C2SP/C2SP @5ba5ee8), quoted verbatim.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
# golang.org/x/mod sumdb/note/note_test.go: the PeterNeumann key pair and its signature.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIG = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="

# LEDGER.md §1.6 in-house vector: seeds, names, the 8-leaf RFC 6962 root and cosignature time 1790000000.
HOUSE_LOG_VKEY = "example.org/election-2026/results+1ed4f8c7+AbOIxApGIIW6GMb8s/KUv0fCbzShMDv/jyvPILs+4ukn"
HOUSE_WITNESS_VKEY = "witness.example.net/w1+11fa3b6d+BAYrKpmdDHfdmX1MO8dcSo3zDI32Q14wGnHc2VEqyPkn"
HOUSE_NOTE = (
    "example.org/election-2026/results\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
    "\u2014 example.org/election-2026/results "
    "HtT4x+X+0shR0qR7MFcbLREXq3eTTmWWW3VZLZ8yFcXfPdgJrOpu7VUSg8kRR9AhWm1lchOKWv1PgfDsZ7zXrWHM0gM=\n"
    "\u2014 witness.example.net/w1 "
    "Efo7bQAAAABqsTuApaaXfSxHYfD2pmRg9jBcz0EID8+iKilBV8kPSusr25E1OiKyj1c94/bqWEoRBHEInoffhLKbsBj5y/OgJqBeAg==\n"
)
RFC6962_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]


def _house_signers() -> tuple[Signer, Signer]:
    log = Signer.from_seed(
        "example.org/election-2026/results", hashlib.sha256(b"demo-log-seed-do-not-use").digest()
    )
    witness = Signer.from_seed(
        "witness.example.net/w1",
        hashlib.sha256(b"demo-witness-seed-do-not-use").digest(),
        alg=ALG_COSIGNATURE,
    )
    return log, witness


def test_spec_example_note_verifies() -> None:
    verifier = parse_vkey(SPEC_VKEY)
    assert verifier.vkey == SPEC_VKEY
    assert open_note(SPEC_NOTE, [verifier]).text == "This is an example message.\n"


def test_spec_example_note_with_changed_text_fails() -> None:
    with pytest.raises(VerificationError, match="invalid"):
        open_note(SPEC_NOTE.replace("example message", "exemple message"), [parse_vkey(SPEC_VKEY)])


def test_go_key_pair_signs_the_published_signature() -> None:
    signer = parse_skey(GO_SKEY)
    assert signer.verifier().vkey == GO_VKEY
    assert signer.skey() == GO_SKEY
    assert sign_note(GO_TEXT, [signer]) == f"{GO_TEXT}\n\u2014 PeterNeumann {GO_SIG}\n"


def test_in_house_checkpoint_vector_is_reproduced_and_verifies() -> None:
    log, witness = _house_signers()
    assert log.verifier().vkey == HOUSE_LOG_VKEY
    assert witness.verifier().vkey == HOUSE_WITNESS_VKEY
    root = root_from_leaves([leaf_hash(bytes.fromhex(h)) for h in RFC6962_LEAVES])
    body = Checkpoint("example.org/election-2026/results", 8, root).body()
    note = add_signatures(sign_note(body, [log]), [cosign(body, witness, timestamp=1790000000)])
    assert note == HOUSE_NOTE
    checkpoint = open_checkpoint(HOUSE_NOTE, parse_vkey(HOUSE_LOG_VKEY))
    assert (checkpoint.size, checkpoint.root) == (8, root)
    assert verify_cosignature(HOUSE_NOTE, parse_vkey(HOUSE_WITNESS_VKEY)) == 1790000000


def test_cosignature_over_other_time_fails() -> None:
    tampered = HOUSE_NOTE.replace("Efo7bQAAAABqsTuA", "Efo7bQAAAABqsTuB")
    with pytest.raises(VerificationError, match="cosignature is invalid"):
        verify_cosignature(tampered, parse_vkey(HOUSE_WITNESS_VKEY))


def test_quorum_counts_only_valid_cosignatures() -> None:
    other = Signer.generate("witness.example.net/w2", alg=ALG_COSIGNATURE).verifier()
    witnesses = [parse_vkey(HOUSE_WITNESS_VKEY), other]
    assert verify_quorum(HOUSE_NOTE, witnesses, quorum=1) == {"witness.example.net/w1": 1790000000}
    with pytest.raises(VerificationError, match="too few witnesses") as info:
        verify_quorum(HOUSE_NOTE, witnesses, quorum=2)
    assert info.value.problems[0].expected == "at least 2 of 2"


def test_checkpoint_for_another_origin_is_refused() -> None:
    log, _ = _house_signers()
    note = sign_note(Checkpoint("other.example/log", 1, bytes(32)).body(), [log])
    with pytest.raises(VerificationError, match="another log"):
        open_checkpoint(note, log.verifier())


def test_malformed_checkpoints_are_refused() -> None:
    for body in ["o\n08\nAAAA\n", "o\n8\n", "\n8\n" + "A" * 43 + "=\n"]:
        with pytest.raises(VerificationError, match="malformed"):
            parse_checkpoint(body)


def test_vkey_with_wrong_id_is_refused() -> None:
    with pytest.raises(InputError, match="id does not match"):
        parse_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))


def test_note_text_with_control_characters_is_refused() -> None:
    log, _ = _house_signers()
    with pytest.raises(VerificationError, match="control characters"):
        sign_note("origin\rinjected\n", [log])
    with pytest.raises(VerificationError, match="control characters"):
        parse_note("a\tb\n\n\u2014 x AAAAAAAA\n")


def test_a_key_created_by_many_threads_at_once_is_one_key(tmp_path: Path) -> None:
    """The publisher and a first request may both create the log key: exactly one key must win."""

    from pollwatch.ledger.note import load_signer

    path = tmp_path / "keys" / "log.key"
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as a loaded machine would
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            signers = list(pool.map(lambda _: load_signer(path, name="race.test/log"), range(64)))
    finally:
        sys.setswitchinterval(interval)
    assert len({s.verifier().vkey for s in signers}) == 1
    assert load_signer(path).verifier().vkey == signers[0].verifier().vkey
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
