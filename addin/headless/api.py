"""`.api` of the headless engine's objects: the few Excel COM members the add-in uses.

xlwings has no word for a very hidden sheet, sheet protection or a cell's lock, so the add-in
reaches them through `.api` with Excel's own names (Worksheet.Visible, .ProtectContents,
.Protect(), .Unprotect(), Range.Locked, Workbook.Date1904). These classes answer the same
names with the same values (XlSheetVisibility: -1 visible, 0 hidden, 2 very hidden), so the
add-in code is the same on Windows and here. Anything else is an AttributeError, as a COM
member Excel does not have would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from addin.headless.model import STATE_OF, VISIBILITY_OF, SheetProtected

if TYPE_CHECKING:
    from addin.headless.engine import App, Book, Note, Range, Sheet

# Excel's own keywords of Worksheet.Protect
PROTECT_KEYWORDS = frozenset({
    "Password", "DrawingObjects", "Contents", "Scenarios", "UserInterfaceOnly", "AllowFormattingCells",
    "AllowFormattingColumns", "AllowFormattingRows", "AllowInsertingColumns", "AllowInsertingRows",
    "AllowInsertingHyperlinks", "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting",
    "AllowFiltering", "AllowUsingPivotTables",
})
CALCULATION = {"automatic": -4105, "manual": -4135, "semiautomatic": 2}  # XlCalculation


class AppApi:
    def __init__(self, app: App):
        self._app = app

    @property
    def StatusBar(self) -> Any:
        return self._app.status_bar

    @StatusBar.setter
    def StatusBar(self, value: Any) -> None:
        self._app.status_bar = value

    @property
    def ScreenUpdating(self) -> bool:
        return self._app.screen_updating

    @ScreenUpdating.setter
    def ScreenUpdating(self, value: bool) -> None:
        self._app.screen_updating = bool(value)

    @property
    def Calculation(self) -> int:
        return CALCULATION[self._app.calculation]

    @property
    def Version(self) -> str:
        return self._app.version

    @property
    def UserName(self) -> str:
        return "Backoffice"


class BookApi:
    def __init__(self, book: Book):
        self._book = book

    @property
    def Date1904(self) -> bool:
        return self._book.date1904

    @property
    def Name(self) -> str:
        return self._book.name

    @property
    def FullName(self) -> str:
        return self._book.fullname


class SheetApi:
    def __init__(self, sheet: Sheet):
        self._sheet = sheet

    @property
    def Name(self) -> str:
        return self._sheet.name

    @property
    def Index(self) -> int:
        return self._sheet.index

    @property
    def Visible(self) -> int:
        return VISIBILITY_OF[self._sheet.data.state]

    @Visible.setter
    def Visible(self, value: Any) -> None:
        number = -1 if value is True else 0 if value is False else int(value)
        if number not in STATE_OF:
            raise ValueError(f"Unable to set the Visible property: {value!r} is not an XlSheetVisibility")
        self._sheet.set_state(STATE_OF[number])

    @property
    def ProtectContents(self) -> bool:
        return self._sheet.data.protected

    @property
    def PageSetup(self) -> PageSetupApi:
        return PageSetupApi(self._sheet)

    def Protect(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError("pass Protect's arguments by name (Password=..., Contents=...), as the add-in does")
        unknown = set(kwargs) - PROTECT_KEYWORDS
        if unknown:
            raise TypeError(f"Protect() has no argument {sorted(unknown)}")
        if kwargs.get("Contents", True) is False:
            raise NotImplementedError("Protect(Contents=False) is not held by the headless engine")
        self._sheet.data.protect(**kwargs)

    def Unprotect(self, Password: str | None = None) -> None:
        data = self._sheet.data
        wanted = data.protect_args.get("Password")
        if data.protected and wanted and Password != wanted:
            raise SheetProtected("The password you supplied is not correct.")
        data.unprotect()


class PageSetupApi:
    """Worksheet.PageSetup: the members a printed sheet of ours is set up with, kept as given."""

    MEMBERS = frozenset({"Orientation", "Zoom", "FitToPagesWide", "FitToPagesTall", "PrintTitleRows",
                         "LeftFooter", "CenterFooter", "RightFooter"})

    def __init__(self, sheet: Sheet):
        object.__setattr__(self, "_sheet", sheet)

    def __getattr__(self, name: str) -> Any:
        if name not in self.MEMBERS:
            raise AttributeError(f"PageSetup has no member {name!r} in the headless engine")
        return self._sheet.data.page_setup.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.MEMBERS:
            raise AttributeError(f"PageSetup has no member {name!r} in the headless engine")
        self._sheet.data.page_setup[name] = value


class RangeApi:
    def __init__(self, rng: Range):
        self._range = rng

    @property
    def Address(self) -> str:
        return self._range.address

    @property
    def Locked(self) -> bool | None:
        data = self._range.data
        states = {not data.is_unlocked(where) for where in self._range._cells()}
        return states.pop() if len(states) == 1 else None

    @Locked.setter
    def Locked(self, value: bool) -> None:
        rng, data = self._range, self._range.data
        if data.protected:
            raise SheetProtected("Unable to set the Locked property of the Range class (the sheet is protected)")
        cells = set(rng._cells())
        data.set_locked(cells, bool(value))


class NoteApi:
    def __init__(self, note: Note):
        self._note = note

    def Text(self, Text: str | None = None) -> str:  # noqa: N803 - Excel's name
        if Text is not None:
            self._note.text = Text
        return self._note.text

    def Delete(self) -> None:
        self._note.delete()
