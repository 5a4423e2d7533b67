"""How hard a background job works: a share of the time, smaller while intake is busy.

A background job (the projector, the auditor) follows the log. While leaves arrive faster than
``busy_rate`` per second the machine's CPU belongs to intake, whose acknowledgements phones wait for:
the job then works at most ``busy_duty`` of the time, and at ``duty`` otherwise. After a piece of work
that took ``busy`` seconds it pauses ``busy * (1 - d) / d``; with ``d`` = 1 it never pauses.

>>> pace = Pace(duty=1.0, busy_duty=0.1, busy_rate=1_000.0)
>>> pace.observe(0, now=0.0); pace.observe(5_000, now=1.0)
>>> pace.rate, pace.current(), round(pace.pause(0.2), 3)
(5000.0, 0.1, 1.8)
>>> pace.observe(5_100, now=2.0); pace.current(), pace.pause(0.2)
(1.0, 0.0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Pace:
    duty: float
    """Share of the time to work while intake is quiet (1: no pause)."""
    busy_duty: float
    """Share of the time to work while the log grows faster than ``busy_rate``."""
    busy_rate: float
    """Leaves per second above which intake is busy."""
    window: float = 0.5
    """Seconds over which the log's growth is measured (at least)."""
    rate: float = 0.0
    """The log's growth, in leaves per second, over the last window."""
    _seen: tuple[float, int] | None = field(default=None, repr=False)

    def observe(self, size: int, *, now: float | None = None) -> None:
        """The log holds ``size`` leaves (at ``now``, by the monotonic clock)."""
        now = time.monotonic() if now is None else now
        if self._seen is None:
            self._seen = (now, size)
            return
        then, before = self._seen
        if now - then >= self.window:
            self.rate = max(size - before, 0) / (now - then)
            self._seen = (now, size)

    def current(self) -> float:
        """The share of the time to work now."""
        return self.busy_duty if self.rate > self.busy_rate else self.duty

    def pause(self, busy: float) -> float:
        """Seconds to pause after ``busy`` seconds of work."""
        duty = self.current()
        return busy * (1 - duty) / duty if duty < 1 else 0.0
