"""The writing core on SQLite and PostgreSQL: one transaction per batch, idempotent, refusals per job."""

from __future__ import annotations

import pytest

from pollwatch.auth import AuthRole
from pollwatch.auth.tokens import principal_for
from pollwatch.errors import ConflictError, InputError
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.service import Accepted, Job, write_batch, write_one
from pollwatch.intake.testing import create_tiny_election, sheet_payload
from pollwatch.model import Channel, SheetKind
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from pollwatch.storage import submissions as submission_store
from pollwatch.storage import submitters as submitter_store
from pollwatch.storage.sheets import list_sheets

KEY_ID = "sub-service-test"


def _job(db: Database, submission_id: str, **kw: object) -> Job:
    with db.connect() as conn:
        row = submitter_store.get_submitter(conn, key_id=KEY_ID)
        assert row is not None
        principal = principal_for(conn, row)
    payload = sheet_payload(submission_id, role="observer", **kw)  # type: ignore[arg-type]
    return Job(SheetSubmission.model_validate(payload), principal, Channel.API)


@pytest.fixture
def observer_db(db: Database) -> Database:
    create_tiny_election(db)
    with db.begin() as conn:
        submitter_store.create_submitter(
            conn, key_id=KEY_ID, role=AuthRole.OBSERVER.value, organisation="Watch"
        )
    return db


def test_batch_writes_sheets_leaves_and_submissions_together(observer_db: Database) -> None:
    jobs = [_job(observer_db, f"svc-{n:04d}-x", station=str(1 + n % 3)) for n in range(5)]
    jobs.append(_job(observer_db, "svc-0000-x", station="1"))  # the same sheet twice in one batch
    jobs.append(_job(observer_db, "svc-bad-0001", station="42"))
    with observer_db.begin() as conn:
        outcomes = write_batch(conn, jobs)
    accepted = [o for o in outcomes if isinstance(o, Accepted)]
    assert len(accepted) == 6
    assert outcomes[5].duplicate is True  # type: ignore[union-attr]
    assert isinstance(outcomes[6], InputError)
    with observer_db.connect() as conn:
        assert logstore.count_entries(conn) == 5
        assert submission_store.count_submissions(conn) == 5
        sheets = list_sheets(conn, 1, kind=SheetKind.STATION_COUNT)
    assert len(sheets) == 5
    assert sheets[0].provenance.role.value == "observer"
    assert sheets[0].provenance.organisation == "Watch"
    assert sheets[0].form == "Form-45"
    assert sheets[0].extra["submission_id"] == accepted[0].submission_id
    with observer_db.connect() as conn:  # the submissions table links each sheet row to its leaf
        rows = [submission_store.get_submission(conn, KEY_ID, a.submission_id) for a in accepted[:5]]
    assert [(r.sheet_id, r.leaf_index) for r in rows if r] == [
        (a.sheet_id, a.leaf_index) for a in accepted[:5]
    ]
    assert sorted(a.leaf_index for a in accepted[:5]) == [0, 1, 2, 3, 4]


def test_retry_and_conflict_across_transactions(observer_db: Database) -> None:
    with observer_db.begin() as conn:
        first = write_one(conn, _job(observer_db, "svc-retry-01"))
    with observer_db.begin() as conn:
        again = write_one(conn, _job(observer_db, "svc-retry-01"))
    assert (again.leaf_index, again.duplicate) == (first.leaf_index, True)
    with observer_db.begin() as conn, pytest.raises(ConflictError):
        write_one(conn, _job(observer_db, "svc-retry-01", rejected=99))


def test_two_writers_on_one_database_interleave_without_losing_or_clashing(observer_db: Database) -> None:
    """Two server processes each run a writer: their batches interleave on one database (ids, leaves)."""
    import threading

    from pollwatch.intake.writer import Writer

    url = observer_db.engine.url.render_as_string(hide_password=False)
    engines = [Database(url), Database(url)]
    writers = [Writer(e, max_batch=8) for e in engines]
    jobs = [_job(observer_db, f"two-{n:04d}", station=str(1 + n % 3)) for n in range(120)]
    outcomes: list[Accepted] = []
    lock = threading.Lock()

    def send(writer: Writer, mine: list[Job]) -> None:
        for job in mine:
            accepted = writer.submit(job)
            with lock:
                outcomes.append(accepted)

    threads = [
        threading.Thread(target=send, args=(writers[k], jobs[k::2])) for k in range(2) for _ in range(3)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for writer in writers:
            writer.close()
        for engine in engines:
            engine.dispose()
    assert len(outcomes) == 3 * 120  # each job sent three times: once stored, twice answered as a retry
    first = {a.submission_id: a for a in outcomes if not a.duplicate}
    assert len(first) == 120
    assert all(a.leaf_index == first[a.submission_id].leaf_index for a in outcomes)
    with observer_db.connect() as conn:
        assert logstore.count_entries(conn) == 120
        assert submission_store.count_submissions(conn) == 120
        stored = {
            a.submission_id: submission_store.get_submission(conn, KEY_ID, a.submission_id)
            for a in first.values()
        }
    assert {(r.sheet_id, r.leaf_index) for r in stored.values() if r} == {
        (a.sheet_id, a.leaf_index) for a in first.values()
    }
    assert sorted(a.leaf_index for a in first.values()) == list(range(120))
