"""The garbage collector of a server process (collector.py)."""

from __future__ import annotations

import gc

from pollwatch.collector import THRESHOLDS, set_for_serving


def test_a_server_process_freezes_what_it_holds_and_collects_the_young_less_often() -> None:
    before = gc.get_threshold()
    try:
        set_for_serving()
        assert gc.get_threshold() == THRESHOLDS
        assert THRESHOLDS[0] > 700  # less often than CPython's (700, 10, 10)
        assert THRESHOLDS[2] > 10
        assert gc.get_freeze_count() > 0  # the modules and the app are no longer scanned
        made: list[object] = []
        made.append(made)  # a cycle made after the freeze is still garbage the collector finds
        del made
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
