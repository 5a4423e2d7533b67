"""A station row's stored versions settle to the reconciliation of every copy, by the one rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from pollwatch.audit import views as audit_views
from pollwatch.audit.service import audit_election
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.auth.tokens import principal_for_secret
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.service import Cache, Job, write_batch
from pollwatch.intake.testing import SLUG, create_tiny_election, sheet_payload
from pollwatch.model import Channel
from pollwatch.storage import Database
from pollwatch.tally import views
from pollwatch.tally.leaves import sheet_from_leaf
from pollwatch.tally.projected_rows import settled_from, stored_versions
from pollwatch.tally.projector import Projector
from pollwatch.tally.reconcile import reconcile_station

_T0 = dt.datetime(2026, 2, 8, 17, tzinfo=dt.UTC)

copy = st.tuples(
    st.sampled_from(["FAFEN", "TDEA", "PTI agent", "official"]),  # who sends it
    st.sampled_from([(300, 200, 10), (301, 200, 10), (300, 200, None)]),  # its figures
    st.integers(0, 5),  # minutes after the close
    st.booleans(),  # whether it corrects its sender's previous copy
)


def _docs(copies: list[tuple[str, tuple[int, int, int | None], int, bool]]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    last: dict[str, int] = {}
    for index, (who, (a, b, rejected), minutes, corrects) in enumerate(copies, start=10):
        body: dict[str, Any] = {
            "kind": "station_count",
            "constituency": "NA-1",
            "station": "4",
            "votes": {"1": a, "2": b},
            "totals": {"valid": a + b, "rejected": rejected},
            "role": "official" if who == "official" else "observer",
            "organisation": who,
            "submitter_key": f"key-{who}",
            "received_at": (_T0 + dt.timedelta(minutes=minutes)).isoformat(),
        }
        if corrects and who in last:
            body["supersedes"] = last[who]
        last[who] = index
        docs.append({"index": index, "type": "sheet", "body": body})
    return docs


@settings(max_examples=200, deadline=None)
@given(st.lists(copy, min_size=1, max_size=8))
def test_stored_versions_settle_to_the_reconciliation_of_every_copy(
    copies: list[tuple[str, tuple[int, int, int | None], int, bool]],
) -> None:
    docs = _docs(copies)
    sheets = [s for d in docs if (s := sheet_from_leaf(d["index"], d["type"], d["body"])) is not None]
    whole = reconcile_station(sheets, constituency="NA-1", serial=4, number=sheets[-1].station)
    stored = stored_versions(whole, docs, sheets)
    settled = settled_from(stored, constituency="NA-1", serial=4)
    assert settled.station == whole
    assert stored["first"] == docs[0]["index"]
    assert settled.positions == (1, 2)


def test_rows_written_before_they_kept_versions_are_audited_from_every_copy(db: Database) -> None:
    """A database upgraded from before revision 0015 has rows without versions: the audit reads their
    copies instead, and finds the same."""
    create_tiny_election(db)
    with db.begin() as conn:
        observer = principal_for_secret(
            conn, create_submitter(conn, role=AuthRole.OBSERVER, organisation="FAFEN")[1]
        )
        admin = principal_for_secret(conn, create_submitter(conn, role=AuthRole.ADMIN, organisation="ECP")[1])
    payloads = [
        (sheet_payload(f"settled-{n}", station=str(n), votes=(300 + n, 200, 100), role="observer"), observer)
        for n in (1, 2, 3)
    ]
    form47 = sheet_payload(
        "settled-form47", station=None, votes=(1, 2, 3), role="official", kind="provisional"
    )
    payloads.append((form47, admin))
    jobs = [Job(SheetSubmission.model_validate(p), who, Channel.API) for p, who in payloads]
    with db.begin() as conn:
        assert not [o for o in write_batch(conn, jobs, Cache()) if isinstance(o, Exception)]
    Projector(db).catch_up()
    with db.connect() as conn:
        settled = views.constituency_input(conn, SLUG, "NA-1")
        assert settled.reconciled is not None
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE station_results SET versions = NULL"))
    audit_views._CACHE.clear()
    with db.connect() as conn:
        legacy = views.constituency_input(conn, SLUG, "NA-1")
    assert legacy.reconciled is None
    assert audit_election(legacy).as_dict() == audit_election(settled).as_dict()
    assert audit_election(settled).findings, "the night has findings to compare"
