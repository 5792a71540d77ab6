"""Driving the Excel add-in in tests: a workbook opened as the calling workbook, the add-in
acting as a user of a test database, and typing into cells through xlwings ranges as a
person types in Excel.

The tests are a contract for any xlwings engine: here they run on the headless engine
(addin/headless); on Windows or macOS with Excel, the `excel` parameter of the
`excel_engine` fixture (tests/integration/conftest.py) runs the same tests in Excel itself (README: "Testing the add-in in Excel")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xlwings as xw

from addin import excel_api, headless
from addin.connection import environment
from addin.livebook import unprotected
from engine.db.session import Database


def real_excel() -> bool:
    """Whether xlwings can drive Excel here (Windows or macOS with Excel installed)."""
    return any(engine.name == "excel" for engine in xw.engines)


@contextmanager
def open_in_excel(path: Path, save: bool = False, engine: str = "headless") -> Iterator[xw.Book]:
    """`path` open as the workbook the ribbon's buttons are pressed in (xw.Book.caller()), in
    the headless engine or in Excel; saved back to the file afterwards with `save`; closed
    (and Excel quit) either way."""
    app = None
    if engine == "excel":
        app = xw.App(visible=False, add_book=False)
        app.display_alerts = False
        book = app.books.open(str(path))
    else:
        headless.register()
        book = headless.open_book(path)
    open_before = {other.fullname for other in book.app.books if other != book}
    book.set_mock_caller()
    try:
        yield book
        if save:
            book.save() if app is not None else headless.save_book(book)
    finally:
        if getattr(xw.Book, "_mock_caller", None) is not None:
            del xw.Book._mock_caller
        for opened in list(book.app.books):   # the book, and any a button opened (New workbook)
            if opened.fullname not in open_before:
                opened.close()
        if app is not None:
            app.quit()


@contextmanager
def acting_in_addin(db: Database, login: str, **more: str | None) -> Iterator[None]:
    """The add-in working on `db` locally as `login` (its settings from the environment; no
    settings file of the user's), for the length of the block; `more` sets (None: unsets)
    other variables, e.g. a server and a settings file holding a token."""
    values = {"BACKOFFICE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
              "BACKOFFICE_USER": login, "BACKOFFICE_ADDIN_SETTINGS": os.devnull,
              "BACKOFFICE_SERVER_URL": None, "BACKOFFICE_TOKEN": None, **more}
    with environment(values):
        yield


def header(sheet: xw.Sheet) -> list[str]:
    last = sheet.used_range.last_cell.column
    return [str(v or "") for v in sheet.range((1, 1), (1, last)).options(ndim=1).value]


def type_row(sheet: xw.Sheet, values: dict[str, Any], find: tuple[str, Any] | None = None,
             row: int | None = None) -> int:
    """Type `values` ({column label: value}) into a row, cell by cell: the first empty row
    (`row` None), the given `row`, or the saved row whose `find` = (label, value)."""
    labels = header(sheet)
    if row is None and find is not None:
        label, wanted = find
        column = labels.index(label) + 1
        last = sheet.used_range.last_cell.row
        cells = sheet.range((2, column), (last, column)).options(ndim=1).value
        row = next(n for n, v in enumerate(cells, start=2) if v == wanted)
    elif row is None:
        ids = sheet.range((2, 1), (sheet.used_range.last_cell.row + 1, 1)).options(ndim=1).value
        row = next(n for n, v in enumerate(ids, start=2) if v is None and _blank_row(sheet, n, len(labels)))
    for label, value in values.items():
        cell = sheet.range((row, labels.index(label) + 1))
        if excel_api.protected(sheet) and excel_api.is_locked(cell):
            # a locked cell (a posted row): a person lifts the protection (it has no password)
            with unprotected(sheet):
                cell.value = value
        else:
            cell.value = value
    return row


def find_row_in(sheet: xw.Sheet, label: str, value: Any) -> int:
    """The row whose column `label` holds `value` (a number as Excel keeps it: 7 is 7.0)."""
    column = header(sheet).index(label) + 1
    cells = sheet.range((2, column), (sheet.used_range.last_cell.row, column)).options(ndim=1).value
    return next(n for n, v in enumerate(cells, start=2) if v == value)


def _blank_row(sheet: xw.Sheet, row: int, width: int) -> bool:
    return all(v in (None, "") for v in sheet.range((row, 1), (row, width)).options(ndim=1).value)
