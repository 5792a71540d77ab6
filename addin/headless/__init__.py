"""A headless xlwings engine: real xw.Book / xw.Sheet / xw.Range objects over a workbook held
in memory, loaded from an .xlsx and saved back into it through `engine.office.xlsx_patch`.

Why: Excel does not run on Linux, yet the add-in's code (ribbon entry points, the live book
adapter) is written against xlwings and must be tested here, unchanged, on real workbooks.
The engine is registered with xlwings' engine registry under the name "headless"; the same
add-in code runs against Excel on Windows, so whatever `.api` answers uses Excel's COM names.

    register() -> xw.main.Engine                  # idempotent
    open_book(path) -> xw.Book                    # the file loaded into memory
    save_book(book, path=None)                    # what changed, written into the .xlsx

What it holds and what it cannot save: see docs-fragments/headless.md.
"""

from __future__ import annotations

from pathlib import Path

import xlwings as xw

from addin.headless.engine import NAME, Engine
from addin.headless.model import CellError, SheetProtected

__all__ = ["NAME", "CellError", "SheetProtected", "open_book", "register", "save_book"]


def register() -> xw.main.Engine:
    """Add the engine "headless" to xlwings (once); make it the active engine only if no other
    engine is active (on Windows, Excel stays the one `xw.Book()` talks to)."""
    engines = xw.engines
    engine = engines.engines_by_name.get(NAME)
    if engine is None:
        engine = xw.main.Engine(impl=Engine())
        engines.add(engine)
    if engines.active is None:
        engine.activate()
    return engine


def open_book(path: Path) -> xw.Book:
    """A real xw.Book over the workbook at `path`, loaded into memory (in the engine's one App).
    The same file opened twice is the same book, as in Excel."""
    engine = register()
    app = engine.impl.apps.active()
    return xw.Book(impl=xw.App(impl=app).books.open(str(path)).impl)


def save_book(book: xw.Book, path: Path | None = None) -> None:
    """Write what changed in memory into the .xlsx (default: the file it was opened from, or last
    saved to) through patch_xlsx; everything else in the file is kept byte for byte. Raises
    NotImplementedError, before writing anything, for a change that cannot be saved."""
    if not isinstance(book.impl, _book_class()):
        raise TypeError(f"{book!r} is not a workbook of the headless engine")
    book.impl.save(str(path) if path is not None else None)


def _book_class() -> type:
    from addin.headless.engine import (
        Book,  # here: the implementation's class, not xlwings' own Book
    )

    return Book
