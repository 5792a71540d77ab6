"""Python's cyclic garbage collector, paused for the length of a workbook operation.

Why: a large export or sync keeps millions of small objects alive at once (rows, cells,
values, labels). Each automatic collection walks all of them, so the collector's cost grows
with the square of the rows: a third of a 100,000-row sync (3.6 s of 10 s, measured), and
2.2 s of a 1,048,000-row export's 12.9 s (`benchmarks/bench_scale.py`, which the pause keeps
linear in rows). Nothing in these operations builds reference cycles that must be reclaimed
while they run: memory is still freed by reference counting, and the collector is restored
afterwards (its next automatic pass picks up whatever cycles were left).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any


def without_cyclic_gc(operation: Callable[..., Any]) -> Callable[..., Any]:
    """`operation`, run with the cyclic collector paused (and left as it was found after)."""

    @functools.wraps(operation)
    def paused(*args: Any, **kwargs: Any) -> Any:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return operation(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused
