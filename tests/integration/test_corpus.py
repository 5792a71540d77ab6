"""Every file of the shared spreadsheet corpus gives a clean read or a clear refusal.

The corpus (../shared/corpus, outside the repository) holds other projects' test files: odd
encodings, encrypted and broken packages, .xls/.xlsb/.ods. For each one: check_package, then,
if accepted, calamine reads every sheet and special_cells scans it. Anything but a clean read
or UnusableInput with a reason (another exception, or more than 20 s) is a bug in the guard.
"""

from __future__ import annotations

import shutil
import threading
import traceback
from pathlib import Path

import pytest

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office.sheet_scan import special_cells
from engine.office.xlsx_guard import check_package, open_calamine, read_rows

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
TIME_LIMIT = 20.0
FILES = (
    sorted(
        p.relative_to(CORPUS).as_posix()
        for p in CORPUS.rglob("*")
        if p.is_file() and not p.name.upper().startswith(("LICENSE", "README"))
    )
    if CORPUS.is_dir()
    else []
)
# Outcomes worth pinning: the start of the refusal reason, or "read" for a clean read.
EXPECTED = {
    "calamine/any_sheets.xls": "an old Excel 97-2003 .xls",  # OLE file with a zip inside it
    "calamine/errors.xlsx": "read",
    "calamine/issue252.xlsx": "damaged",  # a part larger than its zip header says
    "calamine/issue_174.xlsx": "read",  # declares the whole grid (A1:XFD1048576); holds 2 x 11 values
    "calamine/issue_530.xlsx": "read",  # zip names with backslashes
    "calamine/issue_594_dos.ods": "an OpenDocument file",
    "calamine/minimal_package.xlsx": "read",  # workbook.xml at the package root
    "calamine/pass_protected.xlsx": "password-protected (encrypted)",
    "calamine/strict_iso_paths.xlsx": "read",  # ISO strict namespaces
    "calamine/too_small.xls": "not an Excel .xlsx workbook",
    "calamine/vba.xlsm": "contains macros",
    "excelize/BadWorkbook.xlsx": "damaged",  # no sheets
    "excelize/encryptAES.xlsx": "password-protected (encrypted)",
    "excelize/encryptSHA1.xlsx": "password-protected (encrypted)",
}
NEVER_READ = (".xls", ".xlsb", ".ods")  # only .xlsx packages get through

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")


def read_everything(path: Path) -> dict:
    """The full read path: guard, calamine on every sheet, the special-cell scan."""
    info = check_package(path, WorkbookLimits())
    workbook = open_calamine(path, info)
    try:
        rows = {name: read_rows(path, workbook, name) for name in info.sheet_names}
    finally:
        workbook.close()
    cells = {name: special_cells(path, part) for name, part in info.sheet_parts.items()}
    return {"info": info, "rows": rows, "special": cells}


def run_with_time_limit(path: Path) -> dict | BaseException:
    """The read's result or the exception it raised; fails the test when it hangs."""
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = read_everything(path)
        except BaseException as exc:  # reported below, not swallowed
            outcome["value"] = exc
            outcome["trace"] = traceback.format_exc()

    worker = threading.Thread(target=work, daemon=True)  # a hung worker cannot block exit
    worker.start()
    worker.join(TIME_LIMIT)
    if worker.is_alive():
        pytest.fail(f"{path.name}: no answer after {TIME_LIMIT:.0f} s (a hang)")
    if isinstance(outcome["value"], BaseException) and not isinstance(
        outcome["value"], UnusableInput
    ):
        pytest.fail(f"{path.name}: unexpected exception\n{outcome['trace']}")
    return outcome["value"]


@pytest.mark.parametrize("name", FILES)
def test_corpus_file_reads_cleanly_or_is_refused_clearly(name, tmp_path):
    path = Path(shutil.copy(CORPUS / name, tmp_path / Path(name).name))
    outcome = run_with_time_limit(path)
    if isinstance(outcome, UnusableInput):
        assert outcome.reason.strip(), "a refusal must say why"
        assert str(outcome).startswith(f"{path}: ")
        assert outcome.exit_code == 2
        got = outcome.reason
    else:
        assert not name.lower().endswith(NEVER_READ), f"{name} should have been refused"
        assert outcome["info"].sheet_names == list(outcome["rows"])
        got = "read"
    if name in EXPECTED:
        assert got.startswith(EXPECTED[name]), got


@pytest.mark.skipif("calamine/date_1904.xlsx" not in FILES, reason="file not in corpus")
def test_corpus_details_are_right(tmp_path):
    dates = read_everything(Path(shutil.copy(CORPUS / "calamine/date_1904.xlsx", tmp_path)))
    assert dates["info"].date1904 is True
    errors = read_everything(Path(shutil.copy(CORPUS / "calamine/errors.xlsx", tmp_path)))
    assert {c.text for c in errors["special"]["Feuil1"]} == {
        "#DIV/0!", "#NAME?", "#VALUE!", "#NULL!", "#REF!", "#NUM!", "#N/A",
    }  # fmt: skip
    allowed = check_package(
        Path(shutil.copy(CORPUS / "calamine/vba.xlsm", tmp_path)),
        WorkbookLimits(),
        allow_macros=True,
    )
    assert allowed.has_macros and allowed.sheet_names
