"""The garbage collector of a server process, set for a process that holds many long-lived objects.

Every process of ``pollwatch serve`` sets it: each worker, and the results process, whose projector keeps
20,000 stations' parsed copies (at the default thresholds full collections took a third of its CPU per
leaf: 0.154 against 0.106 ms on bench_intake's workload). A worker keeps a thousand event streams open
(each a few hundred objects: its connection, its task, its generator) beside the app and its caches.
CPython's collector scans every tracked object at each full collection, and with the default thresholds
(700, 10, 10) the objects every request and event leave behind trigger one every few seconds: in
bench_dashboard each took 0.2-0.9 s with the GIL held, during which no page was served (all eight of the
bench's connections waited at once). So a server process freezes what exists when it starts (modules, the
app: never garbage, never scanned again) and collects less often (:data:`THRESHOLDS`): the young
generation after 10,000 allocations instead of 700 (most of what a request makes is gone before it is
promoted) and the oldest after 100 middle collections instead of 10 (a full scan every few million
allocations, not every few seconds). Cyclic garbage is still collected, later.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 100)
"""Allocations before a young collection; young collections before a middle one; middle ones before a
full one (which CPython also skips until the objects promoted since the last are a quarter of those it
kept)."""


def set_for_serving() -> None:
    """Freeze what the process holds now and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
