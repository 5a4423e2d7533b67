"""A real server around a small election, enrolment payloads for its agent and observer, and chromium."""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from pollwatch.api.app import create_app
from pollwatch.auth import Assignment, AuthRole, create_submitter
from pollwatch.auth.enrol import app_url, create_enrolment
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.ledger.settings import load_settings
from pollwatch.storage import Database
from tests.web.conftest import browser  # noqa: F401  (the one chromium fixture)

STATIONS = 30


@dataclass
class Site:
    url: str
    db: Database
    home: Path
    submitters: dict[str, str]

    def enrolment(self, who: str) -> dict[str, Any]:
        """A fresh one-time payload for ``who`` (agent, observer) as the coordinator's QR code carries it."""
        with self.db.begin() as conn:
            _, payload = create_enrolment(
                conn, submitter=self.submitters[who], election=SLUG, server=self.url,
                log_key=load_settings().signer.verifier().vkey, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        return payload

    def app_url(self, who: str, lang: str = "en") -> str:
        url = app_url(self.enrolment(who))
        return url.replace("/app#", "/ur/app#") if lang == "ur" else url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("home")
    os.environ["POLLWATCH_HOME"] = str(home)
    os.environ["POLLWATCH_RECEIPT_WAIT"] = "0.3"
    db = Database(f"sqlite:///{home / 'app.sqlite3'}")
    db.upgrade()
    create_tiny_election(db, stations=STATIONS)
    with db.begin() as conn:
        two = (Assignment(SLUG, "NA-1", 1), Assignment(SLUG, "NA-1", 2))
        agent, _ = create_submitter(
            conn, role=AuthRole.AGENT, organisation="PartyA", name="A", assignments=two
        )
        everywhere = (Assignment(SLUG, "NA-1"),)
        observer, _ = create_submitter(conn, role=AuthRole.OBSERVER, organisation="FAFEN", name="O",
                                       assignments=everywhere)  # fmt: skip
        roaming, _ = create_submitter(conn, role=AuthRole.OBSERVER, organisation="FAFEN", name="Roaming Name")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield Site(
        f"http://127.0.0.1:{port}", db, home, {"agent": agent, "observer": observer, "roaming": roaming}
    )
    server.should_exit = True
    thread.join(timeout=10)


def b64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
