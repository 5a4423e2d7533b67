"""A station row's stored versions settle to the reconciliation of every copy, by the one rule."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

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
from pollwatch.tally.reconcile import StationCopies, effective_copies, reconcile_station, station_versions

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
    stored = stored_versions(whole, sheets)
    by_index = {d["index"]: s for d, s in zip(docs, sheets, strict=True)}
    settled = settled_from(stored, by_index, constituency="NA-1", serial=4)
    assert settled.station == whole
    assert stored["first"] == docs[0]["index"]
    assert settled.positions == (1, 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(copy, min_size=1, max_size=10), st.lists(st.integers(0, 10), max_size=4))
def test_copies_added_a_few_at_a_time_give_the_versions_of_every_copy(
    copies: list[tuple[str, tuple[int, int, int | None], int, bool]], cuts: list[int]
) -> None:
    """What the projector keeps per station (:class:`StationCopies`) equals the batch rule's versions after
    every step, with copies received out of order and corrections among them."""
    parsed = (sheet_from_leaf(d["index"], d["type"], d["body"]) for d in _docs(copies))
    sheets = [s for s in parsed if s is not None]
    bounds = sorted({0, len(sheets), *(min(c, len(sheets)) for c in cuts)})
    kept = StationCopies.of(sheets[: bounds[1]])
    for start, end in itertools.pairwise(bounds[1:]):
        kept = kept.extended(sheets[start:end])
        assert kept.versions == tuple(station_versions(effective_copies(sheets[:end])))
    one_by_one = StationCopies.of([])
    for n, sheet in enumerate(sheets, start=1):
        one_by_one = one_by_one.extended([sheet])
        assert one_by_one.versions == tuple(station_versions(effective_copies(sheets[:n])))
    assert kept.sheets == one_by_one.sheets == tuple(sheets)


def test_the_audit_settled_from_the_rows_versions_equals_the_audit_of_every_copy(db: Database) -> None:
    """The audit settles each station from the versions its row keeps (one copy each, read by leaf);
    an evidence pack's audit reads every copy in log order: both find the same."""
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
    audit_views._CACHE.clear()
    with db.connect() as conn:
        legacy = views.constituency_input(conn, SLUG, "NA-1", every_copy=True)
    assert legacy.reconciled is None
    assert len(legacy.sheets) == len(payloads)
    assert audit_election(legacy).as_dict() == audit_election(settled).as_dict()
    assert audit_election(settled).findings, "the night has findings to compare"
