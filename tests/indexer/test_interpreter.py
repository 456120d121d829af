"""`sluice indexer` tunes its interpreter once at start: GIL switch interval and garbage collector."""

from __future__ import annotations

import gc
import sys

from indexer.runner import GC_GEN0_THRESHOLD, GIL_SWITCH_INTERVAL, tune_interpreter


def test_tune_interpreter_sets_the_switch_interval_and_the_young_generation() -> None:
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    try:
        tune_interpreter()
        assert sys.getswitchinterval() == GIL_SWITCH_INTERVAL < 0.005  # shorter than CPython's default
        assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
