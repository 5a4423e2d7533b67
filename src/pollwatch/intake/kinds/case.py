"""The ``case`` kind: a case of repression (an arrest, a detention, a raid, a barred nomination) as a
HURIDOCS-style event (:mod:`pollwatch.observe.cases`): acts done to people by people, each person named
only by a case-local reference (``P1``...) and what they are in the election.

Who the people are may be sent in ``private`` (by reference: name, phone, notes): it is stored in an
access-controlled table and never enters the leaf. A name enters the log only as ``published_name``,
with ``publication`` recording why it may be public (the person's consent, or a public figure).

Its leaf is ``type: "case"``: ``election``, ``submission_id``, ``event``, ``started_on``,
``constituency``, ``district``, ``authority``, ``charges``, ``summary``, ``people``, ``acts``, ``sources``,
``submitter_key``, ``role``, ``organisation``, ``captured_at`` plus ``received_at``, ``signature``,
``checks``. Its status history is ``case_update`` leaves naming this leaf's index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Connection

from pollwatch.auth.roles import AuthRole
from pollwatch.errors import ProblemList
from pollwatch.intake.format import NoNul, Visible
from pollwatch.intake.kinds.base import Batch, Draft, LoggedRecord, RecordBase, Signer
from pollwatch.intake.kinds.observation import (
    Ref,
    ShortText,
    SourceIn,
    StateRows,
    logged_place,
    plausible_day,
    public_record,
    resolve,
    source_docs,
)
from pollwatch.observe.cases import Act, Descriptor, EventType, PersonRole, Publication
from pollwatch.observe.text import screen_text
from pollwatch.storage import observations

if TYPE_CHECKING:
    from pollwatch.intake.service import Job

BEFORE = dt.timedelta(days=366)
"""How long before polling day a case may have begun."""
CASE_ROLES = frozenset({AuthRole.ADMIN, AuthRole.COORDINATOR, AuthRole.OBSERVER})


class PersonIn(BaseModel):
    """One person of a case, as the public log may show them."""

    model_config = ConfigDict(extra="forbid")

    ref: Ref
    roles: list[PersonRole] = Field(min_length=1, max_length=4)
    descriptor: Descriptor = Descriptor.UNKNOWN
    party: ShortText | None = None
    gender: Literal["female", "male", "other"] | None = None
    publication: Publication | None = Field(None, description="Why the name may be public, if it may.")
    published_name: Annotated[str, StringConstraints(min_length=1, max_length=100), Visible] | None = None


class PrivateIdentity(BaseModel):
    """Who a person is: kept in an access-controlled table, never in a leaf."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(max_length=200), NoNul] = ""
    phone: Annotated[str, StringConstraints(max_length=32), Visible] | None = None
    notes: Annotated[str, StringConstraints(max_length=1000), NoNul] = ""


class ActIn(BaseModel):
    """Who did what to whom, and when."""

    model_config = ConfigDict(extra="forbid")

    act: Act
    on: dt.date
    victims: list[Ref] = Field(min_length=1, max_length=50)
    perpetrators: list[Ref] = Field([], max_length=50)
    by: ShortText | None = Field(None, description="The authority or group that acted, if known.")


class CaseSubmission(RecordBase):
    """A case of repression (JSON body of ``POST /api/v1/records/case``)."""

    event: EventType
    started_on: dt.date
    constituency: Annotated[str, StringConstraints(min_length=1, max_length=32), Visible] | None = None
    district: ShortText | None = None
    authority: ShortText | None = None
    charges: list[ShortText] = Field([], max_length=20)
    summary: Annotated[str, StringConstraints(max_length=2000), NoNul] = ""
    people: list[PersonIn] = Field(min_length=1, max_length=50)
    acts: list[ActIn] = Field(min_length=1, max_length=50)
    sources: list[SourceIn] = Field(min_length=1, max_length=20)
    private: dict[Ref, PrivateIdentity] = Field({}, description="Identities by reference; never logged.")


class CaseKind(StateRows):
    """Cases of repression, people by reference, identities private unless published."""

    name: ClassVar[str] = "case"
    leaf_type: ClassVar[str] = "case"
    schema: ClassVar[type[BaseModel]] = CaseSubmission
    roles: ClassVar[frozenset[AuthRole]] = CASE_ROLES

    def draft(self, batch: Batch, job: Job, signer: Signer) -> Draft:
        rec: CaseSubmission = job.record
        info = batch.election(rec.election)
        plausible_day(rec.started_on, where="started_on", election=info.date, received_at=job.received_at,
                      before=BEFORE)  # fmt: skip
        check_people(rec.people, rec.acts, rec.private)
        screen_text(rec.summary, where="summary")
        ctx = resolve(batch, info.id, rec.constituency, None) if rec.constituency else None
        body = {
            "election": rec.election, "submission_id": rec.submission_id, "event": rec.event.value,
            "started_on": rec.started_on.isoformat(), "constituency": rec.constituency,
            "district": rec.district,
            "authority": rec.authority, "charges": rec.charges, "summary": rec.summary,
            "people": [p.model_dump(mode="json", exclude_none=True) for p in rec.people],
            "acts": [a.model_dump(mode="json", exclude_none=True) for a in rec.acts],
            "sources": source_docs(rec.sources, "sources"), "submitter_key": signer.submitter_key,
            "role": rec.role.value, "organisation": job.principal.organisation,
            "captured_at": signer.captured_at,
        }  # fmt: skip
        public = {k: v for k, v in body.items() if k not in ("captured_at",)}
        row = {
            "election_id": info.id, "event": rec.event.value, "started_on": rec.started_on,
            "constituency_id": ctx.constituency_id if ctx else None, "record": public,
            "submitter_key": signer.submitter_key, "organisation": job.principal.organisation,
            "private": {ref: who.model_dump() for ref, who in rec.private.items()},
        }  # fmt: skip
        return Draft(info.id, body, state=row)

    def insert(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        return observations.insert_cases(conn, rows)

    def state_from_leaf(self, batch: Batch, record: LoggedRecord) -> dict[str, Any]:
        b = record.body
        ctx = logged_place(batch, record)
        return {
            "election_id": record.election_id, "event": b["event"],
            "started_on": dt.date.fromisoformat(b["started_on"]),
            "constituency_id": ctx.constituency_id if ctx else None, "record": public_record(b),
            "submitter_key": b["submitter_key"], "organisation": b["organisation"],
            "private": {},  # identities never entered the leaf: they cannot come back from it
        }  # fmt: skip


def check_people(
    people: Sequence[PersonIn], acts: Sequence[ActIn], private: dict[str, PrivateIdentity]
) -> None:
    """References unique and used consistently; a name public only with a reason."""
    problems = ProblemList()
    refs = [p.ref for p in people]
    if len(set(refs)) != len(refs):
        problems.add("each person has one reference", where="people", found=", ".join(refs))
    victims = {p.ref for p in people if PersonRole.VICTIM in p.roles}
    for n, p in enumerate(people):
        if (p.published_name is None) != (p.publication is None):
            problems.add(
                "a name is public only with the person's consent or as a public figure, and then it is given",
                where=f"people.{n}.publication", expected="both publication and published_name, or neither",
            )  # fmt: skip
    for n, a in enumerate(acts):
        for ref in a.victims:
            if ref not in victims:
                problems.add("an act's victim must be a person of the case with the role victim",
                             where=f"acts.{n}.victims", found=ref)  # fmt: skip
        for ref in a.perpetrators:
            if ref not in refs:
                problems.add("unknown person reference", where=f"acts.{n}.perpetrators", found=ref)
    for ref in private:
        if ref not in refs:
            problems.add("identity given for a reference the case does not have", where=f"private.{ref}")
    problems.raise_if_any("the case's people do not hang together; nothing was written")
