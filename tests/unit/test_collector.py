"""The cyclic collector paused for a workbook operation, and left as it was found."""

from __future__ import annotations

import gc

import pytest

from engine.sheets.collector import without_cyclic_gc
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_while_it_runs_and_enabled_again_after(collector_on):
    seen = []
    run = without_cyclic_gc(lambda: seen.append(gc.isenabled()) or "done")
    assert run() == "done"
    assert seen == [False]
    assert gc.isenabled()


def test_enabled_again_after_a_failure(collector_on):
    def fails():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        without_cyclic_gc(fails)()
    assert gc.isenabled()


def test_left_paused_when_it_was_paused(collector_on):
    gc.disable()
    without_cyclic_gc(lambda: None)()
    assert not gc.isenabled()


def test_export_and_round_trips_run_with_it_paused():
    # a large export's collections cost a sixth of it (benchmarks/bench_scale.py)
    for operation in (new_workbook, RoundTrip.sync, RoundTrip.validate, RoundTrip.refresh):
        assert operation.__code__ is without_cyclic_gc(len).__code__, operation.__qualname__
        assert operation.__wrapped__.__name__ == operation.__name__
