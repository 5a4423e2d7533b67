"""tlog-witness: cosigning consistent checkpoints, refusing split views, and the publisher pushing to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import Checkpoint, add_signatures, verify_cosignature, verify_quorum
from pollwatch.ledger.merkle import MemoryHashes, consistency_proof, leaf_hash
from pollwatch.ledger.note import Signer, parse_note, sign_note
from pollwatch.ledger.publisher import Publisher
from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.settings import LogSettings, WitnessEndpoint
from pollwatch.ledger.witness import SIZE_TYPE, Witness, format_request, serve
from pollwatch.storage import Database
from pollwatch.storage import log as store

TREE = MemoryHashes.from_leaves(leaf_hash(bytes([i])) for i in range(20))


def _note(signer: Signer, size: int, root: bytes | None = None) -> str:
    return sign_note(Checkpoint(signer.name, size, root or TREE_ROOT(size)).body(), [signer])


def TREE_ROOT(size: int) -> bytes:  # noqa: N802
    from pollwatch.ledger.merkle import tree_root

    return tree_root(size, TREE)


@pytest.fixture
def witness(tmp_path: Path, log_signer: Signer, witness_signer: Signer) -> Witness:
    return Witness(
        witness_signer, {log_signer.name: log_signer.verifier()}, state_file=tmp_path / "state.json"
    )


def test_witness_cosigns_first_and_consistent_checkpoints(
    witness: Witness, log_signer: Signer, witness_signer: Signer
) -> None:
    first = witness.add_checkpoint(format_request(0, [], _note(log_signer, 5)), now=1790000000)
    assert first.status == 200
    signed = _note(log_signer, 5) + first.body
    assert verify_cosignature(signed, witness_signer.verifier()) == 1790000000
    proof = consistency_proof(5, 12, TREE)
    second = witness.add_checkpoint(format_request(5, proof, _note(log_signer, 12)))
    assert second.status == 200


def test_witness_state_survives_a_restart(
    witness: Witness, log_signer: Signer, witness_signer: Signer, tmp_path: Path
) -> None:
    assert witness.add_checkpoint(format_request(0, [], _note(log_signer, 5))).status == 200
    again = Witness(witness_signer, witness.logs, state_file=tmp_path / "state.json")
    answer = again.add_checkpoint(format_request(0, [], _note(log_signer, 7)))
    assert (answer.status, answer.content_type, answer.body) == (409, SIZE_TYPE, "5\n")


def test_witness_refuses_same_size_with_another_root(witness: Witness, log_signer: Signer) -> None:
    witness.add_checkpoint(format_request(0, [], _note(log_signer, 8)))
    forked = _note(log_signer, 8, root=bytes(32))
    answer = witness.add_checkpoint(format_request(8, [], forked))
    assert (answer.status, answer.content_type) == (409, SIZE_TYPE)


def test_witness_refuses_a_smaller_tree(witness: Witness, log_signer: Signer) -> None:
    witness.add_checkpoint(format_request(0, [], _note(log_signer, 8)))
    answer = witness.add_checkpoint(format_request(8, [], _note(log_signer, 6)))
    assert answer.status == 400


def test_witness_refuses_an_inconsistent_larger_tree(witness: Witness, log_signer: Signer) -> None:
    witness.add_checkpoint(format_request(0, [], _note(log_signer, 8)))
    other = MemoryHashes.from_leaves(leaf_hash(bytes([i + 100])) for i in range(12))
    proof = consistency_proof(8, 12, other)
    answer = witness.add_checkpoint(format_request(8, proof, _note(log_signer, 12, root=other.root())))
    assert answer.status == 422


def test_witness_refuses_unknown_logs_and_bad_signatures(witness: Witness, log_signer: Signer) -> None:
    stranger = Signer.from_seed("stranger.example/log", bytes(32))
    assert witness.add_checkpoint(format_request(0, [], _note(stranger, 3))).status == 404
    impostor = Signer.from_seed(log_signer.name, bytes(32))
    assert witness.add_checkpoint(format_request(0, [], _note(impostor, 3))).status == 403
    assert witness.add_checkpoint("garbage").status == 400


@pytest.fixture
def running_witness(witness: Witness) -> Iterator[str]:
    server = serve(witness)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/witness"
    server.shutdown()
    server.server_close()


def test_publisher_attaches_cosignatures_from_a_running_witness(
    sqlite_db: Database, log_signer: Signer, witness_signer: Signer, running_witness: str
) -> None:
    endpoint = WitnessEndpoint(running_witness, witness_signer.verifier())
    settings = LogSettings(log_signer, (endpoint,))
    publisher = Publisher(sqlite_db, settings)
    for batch in range(3):
        with sqlite_db.begin() as conn:
            service.append(conn, [LeafRecord("incident", {"n": batch * 10 + i}) for i in range(4)])
        assert publisher.publish_once()
        note = service.latest_checkpoint(sqlite_db, settings)
        assert verify_quorum(note, [witness_signer.verifier()], quorum=1)
    # A new publisher (restart) learns the witness's size from its 409 answer and still gets cosigned.
    publisher.stop()  # the old process is gone, and with it its leadership
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": 99})])
    assert Publisher(sqlite_db, settings).publish_once()
    note = service.latest_checkpoint(sqlite_db, settings)
    assert "\n13\n" in note
    verify_cosignature(note, witness_signer.verifier())
    assert add_signatures(note, []) == note


def test_publisher_thread_signs_after_growth(sqlite_db: Database, settings: LogSettings) -> None:
    publisher = Publisher(sqlite_db, settings, interval=0.05)
    publisher.start()
    try:
        with sqlite_db.begin() as conn:
            service.append(conn, [LeafRecord("incident", {"n": 1})])
        for _ in range(200):  # the thread, not this test, must sign: poll the stored state only
            with sqlite_db.connect() as conn:
                if store.get_state(conn).checkpoint_size == 1:
                    break
            time.sleep(0.05)
    finally:
        publisher.stop()
    with sqlite_db.connect() as conn:
        assert store.get_state(conn).checkpoint_size == 1


def test_receipt_carries_the_witness_quorum(
    sqlite_db: Database, log_signer: Signer, witness_signer: Signer, running_witness: str
) -> None:
    from pollwatch.errors import VerificationError
    from pollwatch.ledger.proof import verify_receipt
    from pollwatch.ledger.records import canonical_bytes

    settings = LogSettings(log_signer, (WitnessEndpoint(running_witness, witness_signer.verifier()),))
    records = [LeafRecord("incident", {"n": i}) for i in range(5)]
    with sqlite_db.begin() as conn:
        service.append(conn, records)
    Publisher(sqlite_db, settings).publish_once()
    receipt = service.get_receipt(sqlite_db, 2, wait_seconds=0, settings=settings)
    witnesses = [witness_signer.verifier()]
    report = verify_receipt(
        receipt,
        entry=canonical_bytes(records[2]),
        log_key=log_signer.verifier(),
        witnesses=witnesses,
        quorum=1,
    )
    assert list(report.witnesses) == [witness_signer.name]
    other = Signer.generate("witness.test/w2", alg=witness_signer.alg).verifier()
    with pytest.raises(VerificationError, match="too few witnesses"):
        verify_receipt(
            receipt,
            entry=canonical_bytes(records[2]),
            log_key=log_signer.verifier(),
            witnesses=[*witnesses, other],
            quorum=2,
        )


def test_receipt_prefers_a_cosigned_checkpoint_over_a_newer_bare_one(
    sqlite_db: Database, log_signer: Signer, witness_signer: Signer, running_witness: str
) -> None:
    settings = LogSettings(log_signer, (WitnessEndpoint(running_witness, witness_signer.verifier()),))
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": i}) for i in range(3)])
    Publisher(sqlite_db, settings).publish_once()
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": 3})])
    service.sign_checkpoint(sqlite_db, settings, cosign=lambda *_: [])  # signed, not yet sent to the witness
    old = service.get_receipt(sqlite_db, 1, wait_seconds=0, settings=settings)
    assert "\n3\n" in old
    verify_cosignature(old.split("\n\n", 1)[1], witness_signer.verifier())
    new = service.get_receipt(sqlite_db, 3, wait_seconds=0, settings=settings)
    assert "\n4\n" in new


def test_publisher_retries_a_witness_that_was_down(
    sqlite_db: Database, log_signer: Signer, witness: Witness, witness_signer: Signer
) -> None:
    server = serve(witness)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = LogSettings(
        log_signer, (WitnessEndpoint(url, witness_signer.verifier()),), witness_timeout=0.5
    )
    publisher = Publisher(sqlite_db, settings)
    publisher.retry_seconds = 0.0
    with sqlite_db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": 1})])
    assert publisher.publish_once()  # the witness is not serving yet: no cosignature
    assert len(parse_note(service.latest_checkpoint(sqlite_db, settings)).signatures) == 1
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert not publisher.publish_once()  # nothing new to sign, but the cosignature is fetched
    finally:
        server.shutdown()
        server.server_close()
    verify_cosignature(service.latest_checkpoint(sqlite_db, settings), witness_signer.verifier())
