"""The committed layouts in workbooks/ match the sheet specs (regenerate: `backoffice workbook layouts`)."""

from pathlib import Path

import python_calamine

from engine.sheets.exporting import write_layout
from engine.sheets.spec import modules

COMMITTED = Path(__file__).resolve().parents[2] / "workbooks"


def _content(path: Path) -> dict:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_every_module_has_a_committed_layout_equal_to_its_spec(tmp_path):
    for module in modules():
        committed = COMMITTED / f"{module}.xlsx"
        assert committed.exists(), f"run `backoffice workbook layouts` and commit workbooks/{module}.xlsx"
        fresh = write_layout(module, tmp_path)
        assert _content(committed) == _content(fresh), (
            f"workbooks/{module}.xlsx has drifted from the specs: run `backoffice workbook layouts`")
