"""The stored log on SQLite and PostgreSQL: appends, roots, proofs, checkpoints with compare-and-swap."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pollwatch.errors import ConflictError, NotFoundError, StorageError
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import open_checkpoint
from pollwatch.ledger.merkle import (
    leaf_hash,
    root_from_leaves,
    stored_hash_index,
    verify_consistency,
    verify_inclusion,
)
from pollwatch.ledger.note import Signer
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.records import LeafRecord, canonical_bytes
from pollwatch.ledger.settings import LogSettings
from pollwatch.storage import Database
from pollwatch.storage import log as store
from pollwatch.storage.log_schema import log_hashes


def _records(n: int, start: int = 0) -> list[LeafRecord]:
    return [LeafRecord("incident", {"n": i}) for i in range(start, start + n)]


def test_append_assigns_consecutive_indices_across_batches(db: Database) -> None:
    with db.begin() as conn:
        assert service.append(conn, _records(3)) == [0, 1, 2]
    with db.begin() as conn:
        assert service.append(conn, _records(4, 3)) == [3, 4, 5, 6]
        assert service.append(conn, []) == []


def test_stored_root_equals_rfc_root_of_the_entries(db: Database) -> None:
    records = _records(37)
    with db.begin() as conn:
        for i in range(0, 37, 5):
            service.append(conn, records[i : i + 5])
    leaves = [leaf_hash(canonical_bytes(r)) for r in records]
    with db.connect() as conn:
        for size in (1, 2, 5, 16, 33, 37):
            assert service.get_root(conn, size) == root_from_leaves(leaves[:size])
        proof = service.get_inclusion_proof(conn, 20, 37)
        verify_inclusion(leaves[20], 20, 37, proof, root_from_leaves(leaves))
        proof = service.get_consistency_proof(conn, 13, 37)
        verify_consistency(13, 37, proof, root_from_leaves(leaves[:13]), root_from_leaves(leaves))
        with pytest.raises(NotFoundError, match="not that large"):
            service.get_inclusion_proof(conn, 0, 38)


def test_append_rolls_back_with_the_callers_transaction(db: Database) -> None:
    def failing_caller() -> None:
        with db.begin() as conn:
            service.append(conn, _records(2))
            raise RuntimeError("caller failed")

    with pytest.raises(RuntimeError, match="caller failed"):
        failing_caller()
    with db.begin() as conn:
        assert service.append(conn, _records(1)) == [0]
        assert store.count_entries(conn) == 1


def test_receipt_verifies_against_a_new_checkpoint(db: Database, settings: LogSettings) -> None:
    records = _records(10)
    with db.begin() as conn:
        service.append(conn, records)
    receipt = service.get_receipt(db, 7, wait_seconds=0, settings=settings)
    report = verify_receipt(receipt, entry=canonical_bytes(records[7]), log_key=settings.signer.verifier())
    assert report.checkpoint.size == 10
    with pytest.raises(NotFoundError, match="no log entry"):
        service.get_receipt(db, 10, wait_seconds=0, settings=settings)


def test_sign_checkpoint_only_when_the_log_grew(db: Database, settings: LogSettings) -> None:
    with db.begin() as conn:
        service.append(conn, _records(3))
    first = service.sign_checkpoint(db, settings)
    assert first is not None
    assert service.sign_checkpoint(db, settings) is None
    with db.begin() as conn:
        service.append(conn, _records(2, 3))
    second = service.sign_checkpoint(db, settings)
    assert second is not None
    assert open_checkpoint(second, settings.signer.verifier()).size == 5
    assert service.latest_checkpoint(db, settings) == second
    with db.connect() as conn:
        assert [c.size for c in store.list_checkpoints(conn)] == [3, 5]


def test_log_refuses_to_sign_a_checkpoint_inconsistent_with_the_stored_one(
    db: Database, settings: LogSettings
) -> None:
    with db.begin() as conn:
        service.append(conn, _records(6))
    service.sign_checkpoint(db, settings)
    with db.begin() as conn:
        service.append(conn, _records(3, 6))
        # Someone rewrites history below the signed checkpoint: the stored hash of leaves [0, 4).
        index = stored_hash_index(2, 0)
        conn.execute(sa.update(log_hashes).where(log_hashes.c.idx == index).values(hash=bytes(32)))
    with pytest.raises(StorageError, match="inconsistent"):
        service.sign_checkpoint(db, settings)


def test_checkpoint_compare_and_swap_refuses_a_stale_size(db: Database, settings: LogSettings) -> None:
    with db.begin() as conn:
        service.append(conn, _records(2))
    service.sign_checkpoint(db, settings)
    with db.begin() as conn:
        assert not store.swap_checkpoint(conn, old_size=0, new_size=9, note="forged")
        assert store.get_state(conn).checkpoint_size == 2


def test_checkpoint_signed_with_another_origin_key_is_refused(db: Database, settings: LogSettings) -> None:
    with db.begin() as conn:
        service.append(conn, _records(2))
    service.sign_checkpoint(db, settings)
    with db.begin() as conn:
        service.append(conn, _records(1, 2))
    other = LogSettings(Signer.from_seed("other.example/log", bytes(32)))
    with pytest.raises(StorageError, match="another origin"):
        service.sign_checkpoint(db, other)


def test_concurrent_signers_never_store_two_checkpoints_of_one_size(
    db: Database, settings: LogSettings
) -> None:
    with db.begin() as conn:
        service.append(conn, _records(4))
    results = []
    for _ in range(3):
        try:
            results.append(service.sign_checkpoint(db, settings))
        except ConflictError:
            results.append(None)
    assert sum(r is not None for r in results) == 1


def test_concurrent_appenders_get_distinct_indices_and_one_tree(db: Database) -> None:
    import threading

    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for batch in range(6):
                with db.begin() as conn:
                    service.append(
                        conn, [LeafRecord("incident", {"w": worker, "b": batch, "i": i}) for i in range(4)]
                    )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with db.connect() as conn:
        entries = store.read_entries(conn, 0, 1000)
        assert len(entries) == 96
        assert len(set(entries)) == 96
        assert service.get_root(conn, 96) == root_from_leaves([leaf_hash(e) for e in entries])


def test_batch_receipts_equal_single_receipts_and_prefer_a_cosigned_checkpoint(
    db: Database, settings: LogSettings, witness_signer: Signer
) -> None:
    import datetime as dt

    from pollwatch.ledger.checkpoint import cosign
    from pollwatch.ledger.note import parse_note

    records = _records(37)
    with db.begin() as conn:
        service.append(conn, records[:20])
    first = service.sign_checkpoint(db, settings)
    assert first is not None
    line = cosign(parse_note(first).text, witness_signer, timestamp=1_790_000_000).line()
    with db.begin() as conn:
        store.insert_cosignature(
            conn, size=20, witness=witness_signer.name, line=line, at=dt.datetime.now(dt.UTC)
        )
        service.append(conn, records[20:])
    assert service.sign_checkpoint(db, settings) is not None
    batch = service.get_receipts(db, [-1, 3, 19, 20, 36, 37, 3])
    assert sorted(batch) == [3, 19, 20, 36]  # 37 is past the log, -1 before it
    for index, receipt in batch.items():
        assert receipt == service.get_receipt(db, index, wait_seconds=0, settings=settings)
        report = verify_receipt(
            receipt, entry=canonical_bytes(records[index]), log_key=settings.signer.verifier()
        )
        assert report.checkpoint.size == (20 if index < 20 else 37)
    assert service.get_receipts(db, []) == {}


def test_signing_a_checkpoint_does_not_stall_appends(
    db: Database, settings: LogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Intake keeps appending while the publisher computes and signs (it used to hold the append lock)."""
    import threading

    with db.begin() as conn:
        service.append(conn, _records(5))
    appended = threading.Event()
    real_sign = service.sign_note  # type: ignore[attr-defined]  # patched where the service calls it

    def append_meanwhile() -> None:
        with db.begin() as conn:
            service.append(conn, _records(3, 5))
        appended.set()

    def slow_sign(body: str, signers: list[Signer]) -> str:
        thread = threading.Thread(target=append_meanwhile, daemon=True)
        thread.start()
        assert appended.wait(timeout=10), "an append waited for the checkpoint signer"
        return real_sign(body, signers)

    monkeypatch.setattr(service, "sign_note", slow_sign)
    note = service.sign_checkpoint(db, settings)
    assert note is not None
    assert open_checkpoint(note, settings.signer.verifier()).size == 5  # the size it read, not 8
    with db.connect() as conn:
        assert store.get_state(conn).size == 8
    monkeypatch.setattr(service, "sign_note", real_sign)
    later = service.sign_checkpoint(db, settings)
    assert later is not None
    assert open_checkpoint(later, settings.signer.verifier()).size == 8
