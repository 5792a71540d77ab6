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


class _Seen(Exception):
    """Raised by the first step of an operation, once it has noted whether the collector ran."""


class _FirstStep:
    """Stands in for the operation's first collaborator: notes the collector's state, stops."""

    def __init__(self):
        self.enabled: list[bool] = []

    def note(self, *_args, **_kwargs):
        self.enabled.append(gc.isenabled())
        raise _Seen

    _read = require = note     # RoundTrip's first step, and the actor's (new_workbook's)


@pytest.mark.parametrize("operation", [RoundTrip.sync, RoundTrip.validate, RoundTrip.refresh, new_workbook],
                         ids=lambda operation: operation.__qualname__)
def test_export_and_round_trips_run_with_it_paused(collector_on, operation):
    # a large export's collections cost a sixth of it (benchmarks/bench_scale.py)
    first = _FirstStep()
    with pytest.raises(_Seen):
        if operation is new_workbook:
            operation(None, first, "contacts", None)
        else:
            operation(first, "not a path: a snapshot's place")
    assert first.enabled == [False]
    assert gc.isenabled()
