"""The Excel add-in's Python side: the ribbon's entry points, the live worksheet functions,
the live-book adapter the round trip reads and writes through xlwings ranges, and the
headless xlwings engine that runs all of it here, without Excel.

It holds no business rule: every button and function calls the engine's round trip,
services and queries as the acting user (locally) or the server's routes (remotely)."""

import sys


def _xlwings_without_matplotlib() -> None:
    """Import xlwings without matplotlib. xlwings imports matplotlib whenever it is installed
    (to paste a figure into a sheet, which the add-in never does), and matplotlib (here for the
    reports' charts) takes a tenth of a second and makes a cache folder in the person's home
    on import: a button, or a refused `addin install`, must do neither. The reports import it
    themselves when they draw a chart."""
    if "xlwings" in sys.modules or "matplotlib" in sys.modules:
        return
    sys.modules["matplotlib"] = None     # an ImportError for xlwings, which then goes without
    try:
        import xlwings  # noqa: F401  # here: once, as the package is imported
    finally:
        del sys.modules["matplotlib"]


_xlwings_without_matplotlib()
