"""An election night small enough to read by eye, submitted through the API by named submitters.

Submitters are registered with names, phone numbers and addresses (which must never reach a page);
their sheets make every reconciliation state appear in NA-1:

* station 1: agent and observer agree (``agreed``);
* station 2: agent and observer disagree (``conflict``);
* station 3: only the agent (``single_source``);
* station 4: nothing (``missing``).

NA-2 station 1 has the agent's copy only; NA-2 station 2 reports more votes than registered voters
(1,310 of 1,000), which the audit flags.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pollwatch.auth import Assignment, AuthRole, create_submitter
from pollwatch.intake.testing import SLUG, bearer, create_tiny_election, sheet_payload
from pollwatch.storage import Database
from pollwatch.tally.projector import status

PERSONAL = (
    "Ayesha Siddiqa Qureshi",
    "03001234567",
    "0300-1234567",
    "House 12, Street 9, G-10/2",
    "Muhammad Bilal Chaudhry",
    "03217654321",
    "0321-7654321",
)
"""Everything personal the fixture registers: no page may contain any of it."""

Post = Callable[..., Any]


def register(db: Database) -> dict[str, str]:
    """The tiny election (2 seats x 4 stations x 3 candidates, named after districts so the map colours
    them) and three named submitters' tokens."""
    create_tiny_election(db, stations=4, names=[("Lahore-I", "Punjab"), ("Karachi West-II", "Sindh")])
    with db.begin() as conn:
        _, agent = create_submitter(
            conn, role=AuthRole.AGENT, organisation="Party 1 polling agents", name=PERSONAL[0],
            phone=PERSONAL[1], address=PERSONAL[3],
            assignments=[Assignment(SLUG, "NA-1"), Assignment(SLUG, "NA-2")],
        )  # fmt: skip
        _, observer = create_submitter(
            conn, role=AuthRole.OBSERVER, organisation="Observers", name=PERSONAL[4], phone=PERSONAL[5]
        )
        _, admin = create_submitter(conn, role=AuthRole.ADMIN)
    return {"agent": agent, "observer": observer, "admin": admin}


def submit(post: Post, token: str, sid: str, *, role: str, **payload: Any) -> dict[str, Any]:
    """Post one sheet; fail loudly unless it was accepted."""
    response = post(
        "/api/v1/sheets?receipt=false", json=sheet_payload(sid, role=role, **payload), headers=bearer(token)
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def populate(db: Database, post: Post) -> dict[str, str]:
    """Register, submit the night's sheets, wait for the app to project them; return the tokens."""
    tokens = register(db)
    agent, observer = tokens["agent"], tokens["observer"]
    submit(post, agent, "a-na1-s1", role="agent", station="1")
    submit(post, observer, "o-na1-s1", role="observer", station="1")
    submit(post, agent, "a-na1-s2", role="agent", station="2")
    submit(post, observer, "o-na1-s2", role="observer", station="2", votes=(100, 200, 300))
    submit(post, agent, "a-na1-s3", role="agent", station="3", votes=(50, 400, 20))
    submit(post, agent, "a-na2-s1", role="agent", constituency="NA-2", station="1")
    submit(post, agent, "a-na2-s2", role="agent", constituency="NA-2", station="2", votes=(900, 300, 100))
    wait_projected(db)
    return tokens


def wait_projected(db: Database, timeout: float = 20.0) -> None:
    """Wait for the running app's projector to apply every leaf (a second projector started here could
    race it creating its cursor row)."""
    deadline = time.monotonic() + timeout
    while status(db)["behind"] > 0:
        assert time.monotonic() < deadline, f"the app's projector is still behind: {status(db)}"
        time.sleep(0.05)


def wait_signed(db: Database, timeout: float = 20.0) -> None:
    """Wait for a checkpoint covering the whole log: the app's publisher signs one within a second
    (signing here too could race it: the loser gets a ConflictError)."""
    from pollwatch.storage import log as log_store

    deadline = time.monotonic() + timeout
    while True:
        with db.connect() as conn:
            state = log_store.get_state(conn)
        if state.checkpoint_size == state.size:
            return
        assert time.monotonic() < deadline, (
            f"no checkpoint covers the log: {state.checkpoint_size} of {state.size}"
        )
        time.sleep(0.05)


__all__ = ["PERSONAL", "SLUG", "populate", "register", "submit", "wait_projected", "wait_signed"]
