"""The headless engine's implementation of xlwings' `base_classes`, over model.SheetData.

xlwings' public objects (xw.Book, xw.Sheet, xw.Range...) wrap an engine's `impl` objects;
these are ours, modelled on xlwings' Windows engine (_xlwindows.py): values read as Excel's
object model hands them out (numbers as floats, dates as datetimes, a single cell as a
scalar), values written as Excel stores them (model.as_entered), and protection enforced
as Excel does it. Where xlwings has no word for something, `.api` answers with Excel's
COM names (api.py), so add-in code runs unchanged against Excel on Windows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import numbers
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlwings import base_classes, utils

from addin.headless import api
from addin.headless.model import (
    MAX_COLUMNS,
    MAX_ROWS,
    OTHER_FILL,
    CellError,
    NoteData,
    SheetData,
    TableData,
    as_entered,
)

NAME = "headless"
_pids = itertools.count(-1000, -1)  # like xlwings' file reader: no process, a negative id


class Engine:
    name, type = NAME, "desktop"  # "desktop": a scalar written to a range fills it, as in Excel

    def __init__(self) -> None:
        self.apps = Apps(self)

    @staticmethod
    def prepare_xl_data_element(x: Any, options: Any = None) -> Any:
        cls = x.__class__
        if x is None or cls is str or cls is bool or cls is float or cls is dt.datetime:
            return x.replace(tzinfo=None) if cls is dt.datetime and x.tzinfo else x
        if cls is int:
            return float(x)
        if isinstance(x, dt.datetime):
            return dt.datetime(x.year, x.month, x.day, x.hour, x.minute, x.second, x.microsecond)
        if isinstance(x, dt.date):
            return dt.datetime(x.year, x.month, x.day)
        if isinstance(x, dt.time):
            return dt.datetime.combine(dt.date(1899, 12, 30), x)
        if isinstance(x, Decimal | numbers.Real) and not isinstance(x, bool):
            number = float(x)
            return None if math.isnan(number) else number
        if isinstance(x, bool):
            return bool(x)
        if isinstance(x, str):
            return str(x)
        try:
            import pandas as pd  # here: only a pandas missing value (NaT, NA) is a blank
        except ImportError:  # pragma: no cover - pandas is installed with the engine
            pd = None
        if pd is not None and not isinstance(x, list | tuple | dict) and pd.isna(x):
            return None
        raise TypeError(f"Excel cannot hold a {cls.__name__} in a cell: {x!r}")

    @staticmethod
    def clean_value_data(data, datetime_builder, empty_as, number_builder, err_to_str):
        if datetime_builder is dt.datetime and number_builder is None:
            return [
                [empty_as if v is None else ((v.text if err_to_str else None) if v.__class__ is CellError else v)
                 for v in row]
                for row in data
            ]
        return [[_clean(v, datetime_builder, empty_as, number_builder, err_to_str) for v in row] for row in data]


def _clean(value, datetime_builder, empty_as, number_builder, err_to_str):
    if value is None:
        return empty_as
    if value.__class__ is CellError:
        return value.text if err_to_str else None
    if value.__class__ is dt.datetime and datetime_builder is not dt.datetime:
        return datetime_builder(year=value.year, month=value.month, day=value.day, hour=value.hour,
                                minute=value.minute, second=value.second, microsecond=value.microsecond)
    if number_builder is not None and value.__class__ is float:
        return number_builder(value)
    return value


class Apps(base_classes.Apps):
    def __init__(self, engine: Engine):
        self.engine = engine
        self._apps: list[App] = []

    def keys(self):
        return [app.pid for app in self._apps]

    def add(self, spec=None, add_book=None, xl=None, visible=None):
        app = App(self)
        self._apps.insert(0, app)
        return app

    def __iter__(self):
        return iter(list(self._apps))

    def __len__(self):
        return len(self._apps)

    def __getitem__(self, index):
        return self._apps[index]

    def __call__(self, index):
        return self._apps[index - 1]

    def active(self) -> App:
        return self._apps[0] if self._apps else self.add()

    @staticmethod
    def cleanup():
        pass


class _Setting:
    """An application setting the add-in sets and reads back (screen updating, status bar...)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, app: Any, owner: type | None = None) -> Any:
        return self if app is None else app._settings[self.name]

    def __set__(self, app: Any, value: Any) -> None:
        app._settings[self.name] = value


class App(base_classes.App):
    screen_updating = _Setting()
    display_alerts = _Setting()
    enable_events = _Setting()
    interactive = _Setting()
    visible = _Setting()
    calculation = _Setting()
    status_bar = _Setting()
    cut_copy_mode = _Setting()

    def __init__(self, apps: Apps):
        self.apps = apps
        self._pid = next(_pids)
        self._books = Books(self)
        self._settings: dict[str, Any] = {
            "screen_updating": True, "display_alerts": True, "enable_events": True, "interactive": True,
            "visible": False, "calculation": "automatic", "status_bar": False, "cut_copy_mode": False,
        }
        self.alerts: list[dict[str, Any]] = []  # what app.alert() showed, for tests
        self.answers: list[str] = []  # what the next alerts answer (default: the first button)
        self._api = api.AppApi(self)

    @property
    def api(self):
        return self._api

    @property
    def engine(self):
        return self.apps.engine

    @property
    def books(self):
        return self._books

    @property
    def pid(self):
        return self._pid

    @property
    def version(self):
        return "16.0"

    @property
    def hwnd(self):
        return None

    @property
    def path(self):
        return ""

    @property
    def startup_path(self):
        return ""

    @property
    def selection(self):
        book = self._books.active
        if book is None:
            return None
        sheet = book.sheets.active
        return sheet.selection or sheet.range("A1")

    def activate(self, steal_focus=False):
        self.apps._apps.remove(self)
        self.apps._apps.insert(0, self)

    def calculate(self):
        pass

    def quit(self):
        for book in list(self._books):
            book.close()
        if self in self.apps._apps:
            self.apps._apps.remove(self)

    kill = quit

    def alert(self, prompt, title, buttons, mode, callback):
        self.alerts.append({"prompt": prompt, "title": title, "buttons": buttons, "mode": mode})
        if self.answers:
            return self.answers.pop(0)
        return {"ok": "ok", "ok_cancel": "ok", "yes_no": "yes", "yes_no_cancel": "yes"}.get(buttons, "ok")

    def run(self, macro, args):
        raise NotImplementedError("the headless engine runs no VBA")


class Books(base_classes.Books):
    def __init__(self, app: App):
        self.app = app
        self._books: list[Book] = []

    @property
    def api(self):
        return None

    @property
    def active(self):
        return self._books[0] if self._books else None

    def __call__(self, name_or_index):
        if isinstance(name_or_index, numbers.Number):
            return self._books[int(name_or_index) - 1]
        for book in self._books:
            if book.name.lower() == str(name_or_index).lower() or book.fullname == str(name_or_index):
                return book
        raise KeyError(name_or_index)

    def __len__(self):
        return len(self._books)

    def __iter__(self):
        return iter(list(self._books))

    def __contains__(self, name):
        return any(book.name.lower() == str(name).lower() for book in self._books)

    def add(self):
        raise NotImplementedError("the headless engine holds workbooks loaded from .xlsx files: "
                                  "use addin.headless.open_book(path)")

    def open(self, fullname, *args, **kwargs):
        from addin.headless.load import (
            load,  # here: load.py needs model only; engine loads it on open
        )

        path = Path(fullname).resolve()
        loaded = load(path)
        book = Book(self, path, loaded.sheets, loaded.date1904, loaded.active)
        self._books.insert(0, book)
        return book


class Book(base_classes.Book):
    def __init__(self, books: Books, path: Path, sheets: list[SheetData], date1904: bool, active: int):
        self.books, self.path, self.date1904 = books, path, date1904
        self.sheet_data: list[SheetData] = sheets
        self.deleted: list[SheetData] = []
        self.active_sheet: SheetData | None = sheets[active] if sheets else None
        self._api = api.BookApi(self)

    @property
    def api(self):
        return self._api

    @property
    def name(self):
        return self.path.name

    @property
    def fullname(self):
        return str(self.path)

    @property
    def sheets(self):
        return Sheets(self)

    @property
    def app(self):
        return self.books.app

    @property
    def names(self):
        raise NotImplementedError("defined names are not held by the headless engine")

    def close(self):
        if self in self.books._books:
            self.books._books.remove(self)

    def save(self, path=None, password=None):
        if password:
            raise NotImplementedError("the headless engine does not encrypt workbooks")
        from addin.headless.save import (
            save_book_data,  # here: save.py imports the patcher only when saving
        )

        save_book_data(self, Path(path) if path else None)

    def activate(self):
        self.books._books.remove(self)
        self.books._books.insert(0, self)

    def json(self):
        raise NotImplementedError("Book.json is xlwings Server's; the headless engine does not make it")

    def sheet(self, data: SheetData) -> Sheet:
        return Sheet(self, data)

    def check_visible_left(self, data: SheetData, state: str) -> None:
        if state != "visible" and not any(s.state == "visible" for s in self.sheet_data if s is not data):
            raise ValueError("Unable to set the Visible property: a workbook must keep one visible sheet")


class Sheets(base_classes.Sheets):
    def __init__(self, book: Book):
        self.book = book

    @property
    def api(self):
        return None

    @property
    def active(self):
        return Sheet(self.book, self.book.active_sheet)

    def __call__(self, name_or_index):
        data = self.book.sheet_data
        if isinstance(name_or_index, numbers.Number):
            index = int(name_or_index)
            if not 1 <= index <= len(data):
                raise IndexError(f"no sheet number {index}")
            return Sheet(self.book, data[index - 1])
        for sheet in data:
            if sheet.name.lower() == str(name_or_index).lower():
                return Sheet(self.book, sheet)
        raise KeyError(name_or_index)

    def __contains__(self, name):
        return any(sheet.name.lower() == str(name).lower() for sheet in self.book.sheet_data)

    def __len__(self):
        return len(self.book.sheet_data)

    def __iter__(self):
        return iter([Sheet(self.book, sheet) for sheet in self.book.sheet_data])

    def add(self, before=None, after=None, name=None):
        data = self.book.sheet_data
        if name is None:
            taken = {sheet.name.lower() for sheet in data}
            name = next(f"Sheet{n}" for n in itertools.count(1) if f"sheet{n}" not in taken)
        new = SheetData(name=name)
        if before is not None:
            data.insert(data.index(before.data), new)
        elif after is not None:
            data.insert(data.index(after.data) + 1, new)
        else:
            data.insert(data.index(self.book.active_sheet) if self.book.active_sheet in data else 0, new)
        self.book.active_sheet = new
        return Sheet(self.book, new)


class Sheet(base_classes.Sheet):
    def __init__(self, book: Book, data: SheetData):
        self._book, self.data = book, data
        self._api = api.SheetApi(self)

    @property
    def api(self):
        return self._api

    @property
    def selection(self):
        selected = self.data.selected
        return Range(self, *selected) if selected else None

    @property
    def name(self):
        return self.data.name

    @name.setter
    def name(self, value):
        if self.data.loaded:
            raise NotImplementedError(f"renaming the sheet {self.data.name!r} of the file cannot be saved "
                                      "by the headless engine")
        self.data.name = value

    @property
    def index(self):
        return self._book.sheet_data.index(self.data) + 1

    @property
    def book(self):
        return self._book

    def range(self, arg1, arg2=None):
        return Range.of(self, arg1, arg2)

    @property
    def cells(self):
        return Range(self, 1, 1, MAX_ROWS, MAX_COLUMNS)

    @property
    def used_range(self):
        return Range(self, *self.data.extent())

    @property
    def visible(self):
        return self.data.state == "visible"

    @visible.setter
    def visible(self, value):
        self.set_state("visible" if value else "hidden")

    def set_state(self, state: str) -> None:
        self._book.check_visible_left(self.data, state)
        self.data.state = state

    @property
    def tables(self):
        return Tables(self)

    @property
    def notes(self):
        return [Note(self, where) for where in sorted(self.data.notes)]

    @property
    def names(self):
        raise NotImplementedError("defined names are not held by the headless engine")

    def activate(self):
        if self.data.state != "visible":
            raise ValueError(f"Activate method of Worksheet class failed: {self.data.name!r} is hidden")
        self._book.active_sheet = self.data

    select = activate

    def clear_contents(self):
        top, left, bottom, right = self.data.extent()
        Range(self, top, left, bottom, right).clear_contents()

    def clear_formats(self):
        self.data.check_writable(1, 1, 1, 1)
        self.data.fills.clear()
        self.data.bold.clear()
        self.data.formats.clear()

    def clear(self):
        data = self.data
        data.check_writable(*data.extent())
        data.rows = []
        data.fills.clear()
        data.bold.clear()
        data.formats.clear()
        data.notes.clear()
        data.links.clear()
        data.unlocked.clear()      # formats go: every cell is locked again, as in Excel
        data.open_columns, data.closed = set(), set()
        data.cleared = True

    def autofit(self, axis=None):
        raise NotImplementedError("autofit (column widths from the text) is not done by the headless engine")

    def delete(self):
        book = self._book
        if len(book.sheet_data) == 1:
            raise ValueError("a workbook must keep at least one sheet")
        if self.data.state == "visible":
            book.check_visible_left(self.data, "hidden")
        at = book.sheet_data.index(self.data)
        book.sheet_data.remove(self.data)
        if self.data.loaded:
            book.deleted.append(self.data)
        if book.active_sheet is self.data:
            rest = book.sheet_data[at:] + book.sheet_data[:at][::-1]
            book.active_sheet = next(s for s in rest if s.state == "visible")

    def copy(self, before, after):
        raise NotImplementedError("copying sheets is not done by the headless engine")

    def move(self, before, after):
        raise NotImplementedError("moving sheets is not done by the headless engine")

    @property
    def charts(self):
        raise NotImplementedError("charts are not held by the headless engine")

    @property
    def pictures(self):
        raise NotImplementedError("pictures are not held by the headless engine (they survive saving)")

    @property
    def shapes(self):
        raise NotImplementedError("shapes are not held by the headless engine (they survive saving)")


class Range(base_classes.Range):
    def __init__(self, sheet: Sheet, top: int, left: int, bottom: int | None = None, right: int | None = None):
        self._sheet = sheet
        self.r1, self.c1 = top, left
        self.r2 = top if bottom is None else bottom
        self.c2 = left if right is None else right
        if not (1 <= self.r1 <= self.r2 <= MAX_ROWS and 1 <= self.c1 <= self.c2 <= MAX_COLUMNS):
            raise ValueError(f"not a range of Excel's grid: rows {top}-{bottom}, columns {left}-{right}")
        self.options = {}
        self._api = api.RangeApi(self)

    @property
    def api(self):
        return self._api

    @classmethod
    def of(cls, sheet: Sheet, arg1, arg2=None) -> Range:
        first = _corners(arg1)
        if arg2 is None:
            return cls(sheet, *first)
        second = _corners(arg2)
        return cls(sheet, min(first[0], second[0]), min(first[1], second[1]),
                   max(first[2], second[2]), max(first[3], second[3]))

    @property
    def data(self) -> SheetData:
        return self._sheet.data

    @property
    def sheet(self):
        return self._sheet

    @property
    def coords(self):
        return self._sheet.name, self.r1, self.c1, *self.shape

    def __len__(self):
        rows, columns = self.shape
        return rows * columns

    @property
    def row(self):
        return self.r1

    @property
    def column(self):
        return self.c1

    @property
    def shape(self):
        return self.r2 - self.r1 + 1, self.c2 - self.c1 + 1

    @property
    def max_cells_per_read(self):
        return None  # all in memory: one slice, never chunks

    @property
    def max_cells_per_write(self):
        return None

    @property
    def has_array(self):
        return False

    def __call__(self, arg1, arg2=None):
        if arg2 is None:
            columns = self.shape[1]
            arg1, arg2 = (arg1 - 1) // columns + 1, (arg1 - 1) % columns + 1
        return Range(self._sheet, self.r1 + arg1 - 1, self.c1 + arg2 - 1)

    # -- values -------------------------------------------------------------------------------

    @property
    def raw_value(self):
        values = self.data.read(self.r1, self.c1, self.r2, self.c2)
        return values[0][0] if self.r1 == self.r2 and self.c1 == self.c2 else values

    @raw_value.setter
    def raw_value(self, value):
        data = self.data
        rows, columns = self.shape
        if not isinstance(value, list | tuple):
            value = [[value] * columns for _ in range(rows)]
        elif value and not isinstance(value[0], list | tuple):
            value = [value]
        if not value or not value[0]:
            return
        height, width = len(value), len(value[0])
        data.check_writable(self.r1, self.c1, self.r1 + height - 1, self.c1 + width - 1)
        prepare = Engine.prepare_xl_data_element
        text_cells = data.formats and any(code == "@" for *_, code in data.formats)
        block = []
        for r, row in enumerate(value):
            if len(row) != width:
                raise ValueError("All elements of a 2d list or tuple must be of the same length")
            line = [prepare(v) for v in row]
            if text_cells:
                line = [as_entered(v, data.is_text_format(self.r1 + r, self.c1 + c)) for c, v in enumerate(line)]
            else:
                line = [as_entered(v, False) if v.__class__ is str else v for v in line]
            block.append(line)
        data.write(self.r1, self.c1, block)

    @property
    def formula(self):
        values = self.data.read(self.r1, self.c1, self.r2, self.c2)
        text = [["" if v is None else v.text if v.__class__ is CellError else str(v).upper() if v.__class__ is bool
                 else f"{v:g}" if v.__class__ is float else str(v) for v in row] for row in values]
        return text[0][0] if len(text) == 1 and len(text[0]) == 1 else text

    def clear_contents(self):
        data = self.data
        data.check_writable(self.r1, self.c1, self.r2, self.c2)
        top = self.r1
        bottom = min(self.r2, len(data.rows))
        if bottom >= top:
            width = min(self.c2, max(len(r) for r in data.rows[top - 1:bottom])) - self.c1 + 1
            if width > 0:
                data.write(top, self.c1, [[None] * width for _ in range(bottom - top + 1)])

    def clear_formats(self):
        data = self.data
        data.check_writable(self.r1, self.c1, self.r2, self.c2, formatting=True)
        for store in (data.fills, data.links):
            for where in [w for w in store if self._holds(w)]:
                del store[where]
        data.bold -= {w for w in data.bold if self._holds(w)}
        if data.formats:
            data.formats.append((self.r1, self.c1, self.r2, self.c2, "General"))

    def clear(self):
        self.clear_contents()
        self.clear_formats()
        for where in [w for w in self.data.notes if self._holds(w)]:
            del self.data.notes[where]

    def _holds(self, where: tuple[int, int]) -> bool:
        return self.r1 <= where[0] <= self.r2 and self.c1 <= where[1] <= self.c2

    def _cells(self):
        return ((r, c) for r in range(self.r1, self.r2 + 1) for c in range(self.c1, self.c2 + 1))

    def end(self, direction):
        values = self.data.rows
        row, column = self.r1, self.c1

        def filled(r, c):
            return 0 < r <= len(values) and 0 < c <= len(values[r - 1]) and values[r - 1][c - 1] is not None

        step = {"down": (1, 0), "up": (-1, 0), "right": (0, 1), "left": (0, -1)}[direction.lower()]
        limit_r, limit_c = (MAX_ROWS, MAX_COLUMNS)
        r, c = row + step[0], column + step[1]
        if filled(row, column) and filled(r, c):
            while filled(r + step[0], c + step[1]):
                r, c = r + step[0], c + step[1]
        else:
            while 1 <= r <= limit_r and 1 <= c <= limit_c and not filled(r, c):
                if (step[0] > 0 and r > len(values)) or (step[1] > 0 and c > max((len(v) for v in values), default=0)):
                    r, c = (limit_r, c) if step[0] else (r, limit_c)
                    break
                r, c = r + step[0], c + step[1]
            r, c = max(1, min(r, limit_r)), max(1, min(c, limit_c))
        return Range(self._sheet, r, c)

    # -- addresses -------------------------------------------------------------------------------

    def get_address(self, row_absolute=True, col_absolute=True, external=False):
        def ref(r, c):
            return f"{'$' if col_absolute else ''}{utils.col_name(c)}{'$' if row_absolute else ''}{r}"

        text = ref(self.r1, self.c1)
        if (self.r1, self.c1) != (self.r2, self.c2):
            text += ":" + ref(self.r2, self.c2)
        if external:
            text = f"'[{self._sheet.book.name}]{self._sheet.name}'!{text}"
        return text

    @property
    def address(self):
        return self.get_address()

    def select(self):
        self._sheet.activate()
        self.data.selected = (self.r1, self.c1, self.r2, self.c2)

    # -- formats -------------------------------------------------------------------------------

    @property
    def color(self):
        fills = {self.data.fills.get(where) for where in self._cells()} if len(self) <= 100_000 else {None, 0}
        if len(fills) != 1:
            return None
        fill = fills.pop()
        if fill is None or fill == OTHER_FILL:
            return None
        return tuple(int(fill[i:i + 2], 16) for i in (2, 4, 6))

    @color.setter
    def color(self, color_or_rgb):
        self.data.check_writable(self.r1, self.c1, self.r2, self.c2, formatting=True)
        if color_or_rgb is None:
            for where in self._cells():
                self.data.fills.pop(where, None)
            return
        if isinstance(color_or_rgb, str):
            color_or_rgb = utils.hex_to_rgb(color_or_rgb)
        elif isinstance(color_or_rgb, int):
            color_or_rgb = utils.int_to_rgb(color_or_rgb)
        argb = "FF" + "".join(f"{int(part):02X}" for part in color_or_rgb)
        for where in self._cells():
            self.data.fills[where] = argb

    @property
    def font(self):
        return Font(self)

    @property
    def number_format(self):
        codes = {next((code for t, lft, b, rgt, code in reversed(self.data.formats)
                       if t <= r <= b and lft <= c <= rgt), "General") for r, c in self._cells()}
        return codes.pop() if len(codes) == 1 else None

    @number_format.setter
    def number_format(self, value):
        self.data.check_writable(self.r1, self.c1, self.r2, self.c2, formatting=True)
        self.data.formats.append((self.r1, self.c1, self.r2, self.c2, str(value)))

    @property
    def column_width(self):
        widths = {self.data.column_widths.get(c, 8.43) for c in range(self.c1, self.c2 + 1)}
        return widths.pop() if len(widths) == 1 else None

    @column_width.setter
    def column_width(self, value):
        for column in range(self.c1, self.c2 + 1):
            self.data.column_widths[column] = float(value)

    def add_hyperlink(self, address, text_to_display=None, screen_tip=None):
        self.data.check_writable(self.r1, self.c1, self.r1, self.c1)
        self.data.links[(self.r1, self.c1)] = address
        if text_to_display is not None:
            self.data.write(self.r1, self.c1, [[as_entered(text_to_display, True)]])

    @property
    def hyperlink(self):
        link = self.data.links.get((self.r1, self.c1))
        if link is None:
            raise Exception("The cell doesn't seem to contain a hyperlink!")
        return link

    # -- notes ----------------------------------------------------------------------------------

    @property
    def note(self):
        where = (self.r1, self.c1)
        return Note(self._sheet, where) if where in self.data.notes else None

    def add_note(self, text):
        where = (self.r1, self.c1)
        self.data.check_writable(*where, *where, formatting=True)
        self.data.notes[where] = NoteData(text, "Backoffice")
        return Note(self._sheet, where)

    @property
    def table(self):
        for table in self.data.tables:
            if table.top <= self.r1 <= table.bottom and table.left <= self.c1 <= table.right:
                return Table(self._sheet, table)
        return None


def _parse_address(text: str) -> tuple[int, int, int, int]:
    text = text.replace("$", "").strip()
    if "!" in text:
        raise NotImplementedError(f"an address naming a sheet ({text!r}): ask that sheet for the range")
    first, _, last = text.partition(":")
    if first.isdigit() and last.isdigit():  # "1:3", whole rows
        return int(first), 1, int(last), MAX_COLUMNS
    if first.isalpha() and last.isalpha():  # "A:C", whole columns
        return 1, _column(first), MAX_ROWS, _column(last)
    start, end = utils.a1_to_tuples(text)
    if not start:
        raise NotImplementedError(f"{text!r}: named ranges are not held by the headless engine")
    return (*start, *(end or start))


def _column(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def _corners(arg) -> tuple[int, int, int, int]:
    """A cell or range as xlwings hands it over: "A1:C5", (row, column), (row, column, rows,
    columns) as Range.__getitem__ asks, or another of our ranges."""
    if isinstance(arg, Range):
        return arg.r1, arg.c1, arg.r2, arg.c2
    if isinstance(arg, str):
        return _parse_address(arg)
    if len(arg) == 2:
        return arg[0], arg[1], arg[0], arg[1]
    if len(arg) == 4:
        row, column, rows, columns = arg
        return row, column, row + max(rows, 1) - 1, column + max(columns, 1) - 1
    raise ValueError(f"not a cell or range: {arg!r}")


class Font(base_classes.Font):
    def __init__(self, rng: Range):
        self.rng = rng

    @property
    def api(self):
        return None

    @property
    def bold(self):
        cells = set(self.rng._cells())
        return cells <= self.rng.data.bold

    @bold.setter
    def bold(self, value):
        self.rng.data.check_writable(self.rng.r1, self.rng.c1, self.rng.r2, self.rng.c2, formatting=True)
        cells = set(self.rng._cells())
        if value:
            self.rng.data.bold |= cells
        else:
            self.rng.data.bold -= cells


class Note(base_classes.Note):
    def __init__(self, sheet: Sheet, where: tuple[int, int]):
        self.sheet, self.where = sheet, where

    @property
    def api(self):
        return api.NoteApi(self)

    @property
    def _data(self) -> NoteData:
        note = self.sheet.data.notes.get(self.where)
        if note is None:
            raise ValueError("this note was deleted")
        return note

    @property
    def text(self):
        return self._data.text

    @text.setter
    def text(self, value):
        self.sheet.data.check_writable(*self.where, *self.where, formatting=True)
        self.sheet.data.notes[self.where] = NoteData(str(value), "Backoffice")

    @property
    def author(self):
        return self._data.author

    @property
    def location(self):
        return Range(self.sheet, *self.where)

    def delete(self):
        self.sheet.data.check_writable(*self.where, *self.where, formatting=True)
        self.sheet.data.notes.pop(self.where, None)


class Tables(base_classes.Tables):
    def __init__(self, sheet: Sheet):
        self.sheet = sheet

    @property
    def api(self):
        return None

    @property
    def parent(self):
        return self.sheet

    def __call__(self, name_or_index):
        tables = self.sheet.data.tables
        if isinstance(name_or_index, numbers.Number):
            return Table(self.sheet, tables[int(name_or_index) - 1])
        for table in tables:
            if table.name.lower() == str(name_or_index).lower():
                return Table(self.sheet, table)
        raise KeyError(name_or_index)

    def __len__(self):
        return len(self.sheet.data.tables)

    def __iter__(self):
        return iter([Table(self.sheet, table) for table in self.sheet.data.tables])

    def __contains__(self, name):
        return any(t.name.lower() == str(name).lower() for t in self.sheet.data.tables)

    def add(self, *args, **kwargs):
        raise NotImplementedError("new Excel tables are not made by the headless engine")


class Table(base_classes.Table):
    def __init__(self, sheet: Sheet, data: TableData):
        self.sheet, self.data = sheet, data

    @property
    def api(self):
        return None

    @property
    def parent(self):
        return self.sheet

    @property
    def name(self):
        return self.data.name

    @property
    def display_name(self):
        return self.data.name

    @property
    def range(self):
        d = self.data
        return Range(self.sheet, d.top, d.left, d.bottom, d.right)

    @property
    def header_row_range(self):
        d = self.data
        return Range(self.sheet, d.top, d.left, d.top, d.right)

    @property
    def data_body_range(self):
        d = self.data
        return Range(self.sheet, d.top + 1, d.left, d.bottom, d.right) if d.bottom > d.top else None

    @property
    def insert_row_range(self):
        return None

    @property
    def show_totals(self):
        return False

    def resize(self, range):
        impl = getattr(range, "impl", range)
        self.data.top, self.data.left, self.data.bottom, self.data.right = impl.r1, impl.c1, impl.r2, impl.c2

