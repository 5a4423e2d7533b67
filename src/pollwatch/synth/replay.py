"""Writing a synthetic night through the submission core: all at once, or replayed live.

:func:`load_night` writes every entry in timeline order with :func:`~pollwatch.intake.service.write_batch`
(one transaction per batch). :class:`Replay` hands the entries to a running server's own
:class:`~pollwatch.intake.writer.Writer` at an accelerated clock, so the night can be watched arriving.
Both are idempotent: an entry already written is answered as a duplicate and appends nothing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pollwatch.errors import Error
from pollwatch.intake.service import Accepted, Cache, Job, write_batch
from pollwatch.intake.writer import Writer
from pollwatch.ledger.note import parse_note
from pollwatch.storage import Database
from pollwatch.storage import log as log_store
from pollwatch.storage import submissions as submission_store
from pollwatch.synth.submissions import Entry, Form, Night

Progress = Callable[[str, int, int], None]
DEFAULT_SPEED = 720.0
"""Night seconds per wall-clock second: the 38 hours from polls closing to the last Form-48 in about
three minutes."""


@dataclass(frozen=True)
class LoadSummary:
    """How many entries were written now, and how many an earlier load had already written."""

    written: int
    duplicates: int

    @property
    def total(self) -> int:
        return self.written + self.duplicates


def load_night(
    db: Database, night: Night, *, batch_size: int = 1000, progress: Progress | None = None
) -> LoadSummary:
    """Write every entry of the night, in timeline order, one transaction per batch."""
    cache = Cache()
    duplicates = start = first_unwritten(db, night)
    written = 0
    for first in range(start, len(night.entries), batch_size):
        accepted = _write(db, _jobs(night, night.entries[first : first + batch_size]), cache)
        written += sum(1 for o in accepted if not o.duplicate)
        duplicates += sum(1 for o in accepted if o.duplicate)
        if progress:
            progress("sheets", first + len(accepted), len(night.entries))
    return LoadSummary(written, duplicates)


def _jobs(night: Night, entries: list[Entry]) -> list[Job]:
    return [night.job(entry) for entry in entries]


def _write(db: Database, jobs: list[Job], cache: Cache) -> list[Accepted]:
    with db.begin() as conn:
        outcomes = write_batch(conn, jobs, cache)
        refused = [o for o in outcomes if isinstance(o, Error)]
        if refused:
            raise refused[0]  # a synthetic sheet the core refuses is a bug of the generator
    db.statistics.wrote(len(outcomes))
    return [o for o in outcomes if isinstance(o, Accepted)]


def first_unwritten(db: Database, night: Night) -> int:
    """Index of the first entry not yet written (entries are written in order, so a binary search)."""
    lo, hi = 0, len(night.entries)
    with db.connect() as conn:
        while lo < hi:
            mid = (lo + hi) // 2
            entry = night.entries[mid]
            key = (night.identities[night.submitter_of(entry)].principal.key_id, night.submission_id(entry))
            found, _ = submission_store.list_submissions(conn, {key}, set())
            if found:
                lo = mid + 1
            else:
                hi = mid
    return lo


class Replay:
    """A background thread replaying the night through ``writer`` at ``speed`` (0: flat out)."""

    def __init__(
        self,
        night: Night,
        writer: Writer,
        *,
        speed: float = DEFAULT_SPEED,
        say: Callable[[str], None] = lambda _: None,
        start: int = 0,
        chunk: int = 2000,
        report_every: float = 5.0,
    ) -> None:
        self.night, self.writer, self.speed, self.say = night, writer, speed, say
        self.start_index, self.chunk, self.report_every = start, chunk, report_every
        self.done = 0
        self.refused = 0
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._pending: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._run, name="pollwatch-synth-replay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._replay())
        except Exception as exc:  # a background thread: say why it stopped instead of dying silently
            self.say(f"the replay stopped: {exc}; run the demo again to resume where it stopped")
        finally:
            self.finished.set()

    async def _replay(self) -> None:
        entries = self.night.entries[self.start_index :]
        if not entries:
            return
        began, first_at = time.monotonic(), entries[0].at
        reported, i = began, 0
        while i < len(entries) and not self._stop.is_set():
            clock = first_at.timestamp() + (time.monotonic() - began) * self.speed
            due = self._due(entries, i, clock)
            if not due:
                wait = (entries[i].at.timestamp() - clock) / self.speed
                await asyncio.sleep(min(max(wait, 0.01), 0.5))
                continue
            await self._write(due)
            i += len(due)
            if time.monotonic() - reported >= self.report_every:
                reported = time.monotonic()
                self.say(self._status(entries[i - 1]))
        await self._drain()
        if i:
            self.say(self._status(entries[i - 1]))

    def _due(self, entries: list[Entry], i: int, clock: float) -> list[Entry]:
        if self.speed <= 0:
            return entries[i : i + self.chunk]
        end = i
        while end < len(entries) and end - i < self.chunk and entries[end].at.timestamp() <= clock:
            end += 1
        return entries[i:end]

    async def _write(self, due: list[Entry]) -> None:
        """Sign ``due`` while the previous chunk is being written, then hand it to the writer."""
        jobs = [self.night.job(entry) for entry in due]
        await self._drain()
        self._pending = asyncio.ensure_future(self._settle(jobs))

    async def _drain(self) -> None:
        if self._pending is not None:
            await self._pending
            self._pending = None

    async def _settle(self, jobs: list[Job]) -> None:
        outcomes = await asyncio.gather(*(self.writer.submit_async(j) for j in jobs), return_exceptions=True)
        self.refused += sum(1 for o in outcomes if isinstance(o, BaseException))
        self.done += len(jobs)

    def _status(self, last: Entry) -> str:
        total = len(self.night.entries)
        since = last.at - self.night.polls_close
        hours, minutes = divmod(int(since.total_seconds()) // 60, 60)
        stage = {Form.STATION: "Form-45 copies", Form.PROVISIONAL: "Form-47", Form.CONSOLIDATED: "Form-48"}
        with self.writer.db.connect() as conn:
            state = log_store.get_state(conn)
        signatures = len(parse_note(state.checkpoint).signatures) if state.checkpoint else 0
        return (
            f"night: polls closed +{hours}h{minutes:02d}, {self.start_index + self.done:,} of {total:,} "
            f"signed sheets written ({stage[last.form]} arriving)"
            + (f", {self.refused:,} refused" if self.refused else "")
            + f"; log size {state.size:,}, checkpoint {state.checkpoint_size:,} with "
            f"{max(signatures - 1, 0)} cosignature(s)"
        )
