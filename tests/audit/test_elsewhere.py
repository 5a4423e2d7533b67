"""A server's worker hands one constituency's audit to a child process at a lower CPU priority."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.audit import elsewhere, views
from pollwatch.audit.service import audit_election
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.auth.tokens import principal_for_secret
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.service import Cache, Job, write_batch
from pollwatch.intake.testing import SLUG, create_tiny_election, sheet_payload
from pollwatch.model import Channel
from pollwatch.storage import Database
from pollwatch.tally.projector import Projector
from pollwatch.tally.views import constituency_input

AUDIT = f"/api/v1/elections/{SLUG}/audit"


@pytest.fixture
def night(tmp_path: Path) -> Iterator[Database]:
    """A file database (the child opens it by URL) with signed copies, a Form-47 that differs from
    them, and the projections current."""
    db = Database(f"sqlite:///{tmp_path / 'night.sqlite3'}")
    db.upgrade()
    create_tiny_election(db)
    with db.begin() as conn:
        principals = [
            principal_for_secret(conn, create_submitter(conn, role=AuthRole.OBSERVER, organisation=org)[1])
            for org in ("FAFEN", "TDEA")
        ]
    jobs = [
        Job(
            SheetSubmission.model_validate(
                sheet_payload(
                    f"elsewhere-{n}-{org}", station=str(n), votes=(300 + n * k, 200, 100), role="observer"
                )
            ),
            principal,
            Channel.API,
        )
        for n in (1, 2, 3)
        for k, (org, principal) in enumerate(zip(("FAFEN", "TDEA"), principals, strict=True))
    ]
    with db.begin() as conn:  # a Form-47 that does not add up to the signed copies: a finding
        admin = principal_for_secret(conn, create_submitter(conn, role=AuthRole.ADMIN, organisation="ECP")[1])
    form47 = sheet_payload(
        "elsewhere-form47", station=None, votes=(1, 2, 3), role="official", kind="provisional"
    )
    jobs.append(Job(SheetSubmission.model_validate(form47), admin, Channel.API))
    with db.begin() as conn:
        outcomes = write_batch(conn, jobs, Cache())
    assert not [o for o in outcomes if isinstance(o, Exception)]
    Projector(db).catch_up()
    yield db
    db.dispose()


def _no_audit_in_the_worker(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError("audited in the worker")


def _nice_of(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def _expected(db: Database, code: str) -> dict[str, object]:
    with db.connect() as conn:
        return audit_election(constituency_input(conn, SLUG, code)).as_dict()


def test_a_worker_of_pollwatch_serve_audits_in_a_child_at_a_lower_priority(
    night: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_BACKGROUND", "process")  # as `pollwatch serve` sets for its workers
    monkeypatch.setenv("POLLWATCH_BACKGROUND_NICE", "6")
    assert not elsewhere.running()
    with TestClient(create_app(night)) as client:
        assert elsewhere.running()
        child = elsewhere.child_pid()
        assert child is not None
        assert child != os.getpid()
        if Path(f"/proc/{child}/stat").exists():
            assert _nice_of(child) - _nice_of(threading.get_native_id()) == 6
        expected = _expected(night, "NA-1")
        # The worker itself cannot audit now: only the child can have answered.
        monkeypatch.setattr(views, "audit_election", _no_audit_in_the_worker)
        answer = client.get(AUDIT, params={"constituency": "NA-1"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected
        assert answer.json()["findings"], "the Form-47 makes findings to compare"
        found = elsewhere.audit(night.url, SLUG, "NA-2")
        assert found is not None
        assert found[1].as_dict() == _expected(night, "NA-2")
    assert not elsewhere.running()
    if Path("/proc").is_dir():
        deadline = time.monotonic() + 30
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{child}").exists(), "the audit child outlived its worker's app"


def test_a_dead_child_costs_no_answer_and_is_replaced(
    night: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_BACKGROUND", "process")
    with TestClient(create_app(night)) as client:
        first = elsewhere.child_pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        answer = client.get(AUDIT, params={"constituency": "NA-2"})  # computed in line meanwhile
        assert answer.status_code == 200, answer.text
        assert answer.json() == _expected(night, "NA-2")
        second = elsewhere.child_pid()
        assert second is not None
        assert second != first
        again = client.get(AUDIT, params={"constituency": "NA-1"})
        assert again.json() == _expected(night, "NA-1")


def test_an_app_alone_audits_in_line(night: Database) -> None:
    with TestClient(create_app(night)) as client:
        assert not elsewhere.running()
        assert elsewhere.audit(night.url, SLUG, "NA-1") is None
        answer = client.get(AUDIT, params={"constituency": "NA-1"})
        assert answer.json() == _expected(night, "NA-1")
