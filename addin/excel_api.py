"""What xlwings has no word for: a very hidden sheet, sheet protection, a cell's lock and the
print set-up, through the workbook's own object model.

On Windows that is Excel's COM (`sheet.api.Visible = 2`), which the headless engine answers
too (addin/headless/api.py); on macOS it is Excel's AppleScript dictionary through appscript
(`sheet.api.visible.set(k.sheet_very_hidden)`), told apart by the engine xlwings uses. The
macOS half follows Excel's AppleScript dictionary and xlwings' own macOS engine; it cannot
run here (README, "Testing the add-in in Excel", says how to run the tests on a Mac).
"""

from __future__ import annotations

from typing import Any

import xlwings as xw

# Excel's XlSheetVisibility (COM) by the state names of the file (engine.office.xlsx_owned)
VISIBILITY = {"visible": -1, "hidden": 0, "veryHidden": 2}
STATE = {number: name for name, number in VISIBILITY.items()}
LANDSCAPE = 2   # XlPageOrientation
# What the exported sheets allow under protection (engine/sheets/export.py), in COM's words.
EDITABLE_SHEET = {"AllowFormattingCells": True, "AllowFormattingColumns": True, "AllowFormattingRows": True,
                  "AllowInsertingRows": True, "AllowSorting": True, "AllowFiltering": True}
READ_ONLY_SHEET = {"AllowFormattingColumns": True, "AllowSorting": True, "AllowFiltering": True}


def _on_mac(thing: xw.Sheet | xw.Range) -> bool:
    return type(thing.impl).__module__ == "xlwings._xlmac"


def _mac_keywords() -> Any:
    from appscript import k  # here: appscript exists only on macOS, for Excel there

    return k


def state(sheet: xw.Sheet) -> str:
    """"visible", "hidden" or "veryHidden"."""
    if _on_mac(sheet):
        k = _mac_keywords()
        found = sheet.api.visible.get()
        return "veryHidden" if found == k.sheet_very_hidden else "hidden" if found == k.sheet_hidden else "visible"
    return STATE.get(int(sheet.api.Visible), "visible")


def set_state(sheet: xw.Sheet, wanted: str) -> None:
    if _on_mac(sheet):
        k = _mac_keywords()
        sheet.api.visible.set({"visible": k.sheet_visible, "hidden": k.sheet_hidden,
                               "veryHidden": k.sheet_very_hidden}[wanted])
    else:
        sheet.api.Visible = VISIBILITY[wanted]


def protected(sheet: xw.Sheet) -> bool:
    return bool(sheet.api.protect_contents.get() if _on_mac(sheet) else sheet.api.ProtectContents)


def unprotect(sheet: xw.Sheet) -> None:
    """Lift the protection of one of our sheets (they have no password: it guards mistakes)."""
    if _on_mac(sheet):
        sheet.api.unprotect()
    else:
        sheet.api.Unprotect()


def protect(sheet: xw.Sheet, allow: dict[str, bool]) -> None:
    """Protect the sheet's contents, allowing what `allow` names (COM's keywords)."""
    if _on_mac(sheet):
        words = {_snake(name): value for name, value in allow.items()}
        sheet.api.protect_worksheet(contents=True, **words)
    else:
        sheet.api.Protect(DrawingObjects=False, Contents=True, Scenarios=False, **allow)


def lock(cell: xw.Range) -> None:
    if _on_mac(cell):
        cell.api.locked.set(True)
    else:
        cell.api.Locked = True


def is_locked(cell: xw.Range) -> bool:
    return bool(cell.api.locked.get() if _on_mac(cell) else cell.api.Locked)


def print_setup(sheet: xw.Sheet) -> None:
    """As the file's printed sheets (engine/office/xlsx_owned.py): landscape, one page wide,
    the header row on every page, the sheet's name and the page number in the footer."""
    if _on_mac(sheet):
        k = _mac_keywords()
        setup = sheet.api.page_setup_object
        setup.page_orientation.set(k.landscape)
        setup.zoom.set(False)
        setup.fit_to_pages_wide.set(1)
        setup.fit_to_pages_tall.set(False)
        setup.print_title_rows.set("$1:$1")
        setup.left_footer.set("&A")
        setup.right_footer.set("Page &P of &N")
        return
    setup = sheet.api.PageSetup
    setup.Orientation = LANDSCAPE
    setup.Zoom = False
    setup.FitToPagesWide = 1
    setup.FitToPagesTall = False
    setup.PrintTitleRows = "$1:$1"
    setup.LeftFooter = "&A"
    setup.RightFooter = "Page &P of &N"


def _snake(name: str) -> str:
    """AllowFormattingColumns -> allow_formatting_columns (appscript's spelling)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
