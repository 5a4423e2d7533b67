"""The publisher: signs checkpoints soon after the log grows and asks each witness to cosign them.

Every witness succeeds or fails on its own: a witness that times out, answers garbage, signs with
another key or refuses is recorded (witness, checkpoint size, reason) and never stops the others or
the log. Witnesses are asked before a new checkpoint becomes the latest one, so the receipt answered
at submission already carries their cosignatures; one that failed is retried later, in the background.

>>> from pollwatch.storage import Database
>>> from pollwatch.ledger.note import Signer
>>> from pollwatch.ledger.records import LeafRecord
>>> db = Database("sqlite://"); db.upgrade()
>>> with db.begin() as conn:
...     service.append(conn, [LeafRecord("incident", {"what": "queue"})])
[0]
>>> Publisher(db, LogSettings(Signer.from_seed("example.org/log", bytes(32)))).publish_once()
True

References
----------
C2SP tlog-witness (https://c2sp.org/tlog-witness), tlog-cosignature @5ba5ee8.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from pollwatch.errors import ConflictError, Error
from pollwatch.ledger import service
from pollwatch.ledger import witness as _witness
from pollwatch.ledger.checkpoint import add_signatures, verify_cosignature
from pollwatch.ledger.leader import Leadership, leadership_for, signs_on_request
from pollwatch.ledger.merkle import HashReader, consistency_proof
from pollwatch.ledger.note import NoteSignature, parse_note
from pollwatch.ledger.settings import LogSettings, WitnessEndpoint, load_settings
from pollwatch.storage import Database
from pollwatch.storage import log as store

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WitnessOutcome:
    """What one witness answered for one checkpoint: its cosignature line, or why there is none."""

    endpoint: WitnessEndpoint
    size: int
    line: NoteSignature | None
    reason: str = ""


def ask_witness(
    hashes: Callable[[], HashReader],
    endpoint: WitnessEndpoint,
    note: str,
    size: int,
    seen: dict[str, int],
    timeout: float,
) -> WitnessOutcome:
    """Push ``note`` to one witness and check its answer; never raises (a failure is an outcome).

    ``hashes`` gives a reader of the log's stored hashes, for the consistency proof the witness needs.
    """
    try:
        return _ask(hashes, endpoint, note, size, seen, timeout)
    except Exception as exc:  # a faulty witness must not stop the others: anything it causes is its failure
        return WitnessOutcome(endpoint, size, None, f"{type(exc).__name__}: {exc}"[:500])


def _ask(
    hashes: Callable[[], HashReader],
    endpoint: WitnessEndpoint,
    note: str,
    size: int,
    seen: dict[str, int],
    timeout: float,
) -> WitnessOutcome:
    old = seen.get(endpoint.url, 0)
    for _attempt in range(2):
        proof = consistency_proof(old, size, hashes()) if 0 < old < size else []
        try:
            answer = _witness.push_checkpoint(
                endpoint.url, old_size=old, proof=proof, note=note, timeout=timeout
            )
        except _witness.WitnessConflict as conflict:  # it is at another size: prove from there
            old = conflict.size
            continue
        except httpx.TimeoutException:
            return WitnessOutcome(endpoint, size, None, f"timed out after {timeout:g} s")
        except httpx.HTTPError as exc:
            return WitnessOutcome(endpoint, size, None, f"unreachable: {exc}")
        except Error as exc:  # refused, or an answer that is not a note
            found = exc.problems[0].found if exc.problems else ""
            return WitnessOutcome(endpoint, size, None, f"{exc.message}: {found}".rstrip(": "))
        return _checked(endpoint, size, note, answer, seen)
    return WitnessOutcome(endpoint, size, None, f"the witness is at size {old}, which conflicts twice")


def _checked(
    endpoint: WitnessEndpoint, size: int, note: str, answer: list[NoteSignature], seen: dict[str, int]
) -> WitnessOutcome:
    key = endpoint.key
    lines = [s for s in answer if s.name == key.name and s.key_id == key.key_id]
    if not lines:
        names = ", ".join(sorted({s.name for s in answer})) or "nothing"
        return WitnessOutcome(endpoint, size, None, f"answered without its cosignature (signed by {names})")
    try:
        verify_cosignature(add_signatures(note, lines[:1]), key)
    except Error as exc:
        return WitnessOutcome(endpoint, size, None, f"invalid cosignature: {exc.message}")
    seen[endpoint.url] = size
    return WitnessOutcome(endpoint, size, lines[0])


class _DbReader:
    """Opens a connection only if a witness needs a consistency proof."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        with self.db.connect() as conn:
            return service.DbHashes(conn).read_hashes(indexes)


class _OneAtATime:
    """A hash reader that several threads share, one read at a time (a connection is not thread-safe)."""

    def __init__(self, reader: HashReader) -> None:
        self.reader = reader
        self._lock = threading.Lock()

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        with self._lock:
            return self.reader.read_hashes(indexes)


class WitnessRound:
    """A :data:`pollwatch.ledger.service.Cosigner`: asks each witness (but those in ``skip``) as a
    checkpoint is signed, and keeps the outcomes so the failures are recorded after the commit."""

    def __init__(
        self, db: Database, *, seen: dict[str, int] | None = None, skip: Set[str] = frozenset()
    ) -> None:
        self.db = db
        self.seen = seen if seen is not None else {}
        self.skip = skip
        self.outcomes: list[WitnessOutcome] = []
        self.settings: LogSettings | None = None

    def __call__(
        self, note: str, size: int, settings: LogSettings, reader: HashReader
    ) -> list[NoteSignature]:
        """Ask every witness at once: a signing waits for the slowest witness, not for their sum."""
        self.settings = settings
        asked = [e for e in settings.witnesses if e.url not in self.skip]
        shared = _OneAtATime(reader)  # the signing's connection: its proofs' reads take turns

        def ask(endpoint: WitnessEndpoint) -> WitnessOutcome:
            return ask_witness(lambda: shared, endpoint, note, size, self.seen, settings.witness_timeout)

        if len(asked) > 1:
            with ThreadPoolExecutor(len(asked), thread_name_prefix="pollwatch-witness") as pool:
                self.outcomes.extend(pool.map(ask, asked))
        else:
            self.outcomes.extend(map(ask, asked))
        return [o.line for o in self.outcomes if o.line is not None]

    def record(self) -> None:
        record_failures(self.db, self.outcomes)


def record_failures(db: Database, outcomes: Sequence[WitnessOutcome]) -> None:
    """Store every failed outcome (witness, checkpoint size, reason) for `log status` and the API."""
    failed = [o for o in outcomes if o.line is None]
    if not failed:
        return
    now = dt.datetime.now(dt.UTC)
    with db.begin() as conn:
        for o in failed:
            store.record_witness_failure(
                conn, witness=o.endpoint.key.name, size=o.size, url=o.endpoint.url, reason=o.reason, at=now
            )
    for o in failed:
        _log.warning("witness %s did not cosign size %d: %s", o.endpoint.url, o.size, o.reason)


def collect_cosignatures(
    db: Database,
    settings: LogSettings,
    *,
    seen: dict[str, int] | None = None,
    skip: Sequence[str] = (),
) -> list[str]:
    """Ask every configured witness (but those in ``skip`` and those that already cosigned) to cosign
    the latest checkpoint; store the cosignatures and the failures. Returns who cosigned."""
    seen = seen if seen is not None else {}
    with db.connect() as conn:
        state = store.get_state(conn)
    if not state.checkpoint or not settings.witnesses:
        return []
    have = {(s.name, s.key_id) for s in parse_note(state.checkpoint).signatures}
    todo = [w for w in settings.witnesses if (w.key.name, w.key.key_id) not in have and w.url not in skip]
    reader = _DbReader(db)
    outcomes = [
        ask_witness(
            lambda: reader, w, state.checkpoint, state.checkpoint_size, seen, settings.witness_timeout
        )
        for w in todo
    ]
    lines = [o.line for o in outcomes if o.line is not None]
    record_failures(db, outcomes)
    if lines:
        _attach(db, state, lines)
    return [line.name for line in lines]


def _attach(db: Database, state: store.LogState, lines: list[NoteSignature]) -> None:
    now = dt.datetime.now(dt.UTC)
    body = parse_note(state.checkpoint).text
    with db.begin() as conn:
        for line in lines:
            store.insert_cosignature(
                conn, size=state.checkpoint_size, witness=line.name, line=line.line(), at=now
            )
        current = store.get_state(conn, lock=True)
        if current.checkpoint_size == state.checkpoint_size and parse_note(current.checkpoint).text == body:
            store.swap_checkpoint(
                conn,
                old_size=state.checkpoint_size,
                new_size=state.checkpoint_size,
                note=add_signatures(current.checkpoint, lines),
            )
    service.notify_signed()


class Publisher:
    """Background thread: signs a checkpoint soon after the log grows and asks witnesses to cosign it.

    Only while it leads (``leadership``, by default the election fitting the database): the others
    wait, each round trying to take over, so a deployment of many processes has one signer.

    ``interval`` (default 0.25 s) bounds the delay between an accepted entry and a signed checkpoint.
    A witness that failed is left out of the next signings (so it cannot slow them) and retried every
    ``retry_seconds`` instead.
    """

    def __init__(
        self,
        db: Database,
        settings: LogSettings | None = None,
        *,
        interval: float = 0.25,
        leadership: Leadership | None = None,
    ) -> None:
        self.db = db
        self._settings = settings
        self.interval = interval
        self.leadership = leadership if leadership is not None else leadership_for(db)
        """Taken or confirmed before every round: only the leader signs (:mod:`pollwatch.ledger.leader`)."""
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[str, int] = {}
        self._failing: set[str] = set()
        self._last_push = 0.0
        self.retry_seconds = 5.0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pollwatch-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.leadership.release()
        self.leading = False

    @property
    def settings(self) -> LogSettings:
        """The log settings, loaded (and the log key created) only once there is something to sign."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def publish_once(self) -> bool:
        """Sign (with the healthy witnesses' cosignatures) if the log grew; retry failed witnesses when
        due. Return whether a checkpoint was signed."""
        if not self._lead():
            return False
        asked = WitnessRound(self.db, seen=self._seen, skip=self._failing)
        # Where requests never sign (PostgreSQL), the leader signs the first, empty checkpoint too.
        empty = not signs_on_request(self.db)
        try:
            note = service.sign_checkpoint(self.db, self._settings, cosign=asked, allow_empty=empty)
        except ConflictError:  # another worker process published first: nothing to do this round
            return False
        asked.record()
        self._settings = self._settings or asked.settings  # loaded by the signing, when it was lazy
        outcomes = asked.outcomes
        self._failing |= {o.endpoint.url for o in outcomes if o.line is None}
        if note is not None and outcomes:
            self._last_push = time.monotonic()
        if self._retry_due():
            self._last_push = time.monotonic()
            cosigned = collect_cosignatures(self.db, self.settings, seen=self._seen)
            self._failing -= {w.url for w in self.settings.witnesses if w.key.name in cosigned}
        return note is not None

    def _lead(self) -> bool:
        """Take or confirm leadership; log when it changes hands."""
        leading = self.leadership.hold()
        if leading != self.leading:
            if leading:
                _log.warning("this publisher now leads: it signs the checkpoints")
            else:
                _log.warning("this publisher does not lead (%s): it signs nothing", self.leadership.reason)
            self.leading = leading
        return leading

    def _retry_due(self) -> bool:
        """Whether to ask again for missing cosignatures (a witness was down), at most every 5 s."""
        if self._settings is None or not self._settings.witnesses:
            return False
        if time.monotonic() - self._last_push < self.retry_seconds:
            return False
        latest = service.latest_checkpoint(self.db, self.settings)
        return len(parse_note(latest).signatures) < 1 + len(self.settings.witnesses)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.publish_once()
            except Exception:  # keep publishing; the next round retries
                _log.exception("checkpoint publication failed")
            self._stop.wait(self.interval)
