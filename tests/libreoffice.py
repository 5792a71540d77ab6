"""Opening files in real, headless LibreOffice, as an office user's other client would."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        pytest.fail("LibreOffice (soffice) is not installed; .ci/run installs it")
    return found


def sheets_as_rows(workbook: Path, workdir: Path, infilter: str | None = None) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as LibreOffice reads it (values after its own recalculation).
    `infilter`: LibreOffice's import filter, for a file it does not recognise by its name (an
    .xlam add-in: "Calc MS Excel 2007 VBA XML")."""
    out = workdir / f"lo-{workbook.stem}"
    out.mkdir(parents=True, exist_ok=True)
    profile = (workdir / "lo-profile").resolve().as_uri()
    done = subprocess.run(
        [soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile}",
         *([f"--infilter={infilter}"] if infilter else []),
         "--convert-to", ALL_SHEETS_CSV, "--outdir", str(out), str(workbook)],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    sheets = {}
    for path in out.glob(f"{workbook.stem}-*.csv"):
        with open(path, newline="", encoding="utf-8") as fh:
            sheets[path.stem.removeprefix(f"{workbook.stem}-")] = list(csv.reader(fh))
    assert sheets, f"LibreOffice could not read {workbook.name}: {done.stdout} {done.stderr}"
    return sheets


def save_with_libreoffice(workbook: Path, workdir: Path) -> Path:
    """Open the workbook in LibreOffice and save it again as .xlsx, in place, as a user of
    LibreOffice would (Excel 2007-365 format): LibreOffice writes every part its own way."""
    out = workdir / f"lo-saved-{workbook.stem}"
    out.mkdir(parents=True, exist_ok=True)
    profile = (workdir / "lo-profile").resolve().as_uri()
    done = subprocess.run(
        [soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile}",
         "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(workbook)],
        capture_output=True, text=True, timeout=180,
    )
    saved = out / f"{workbook.stem}.xlsx"
    assert done.returncode == 0 and saved.exists(), f"LibreOffice could not save {workbook.name}: {done.stderr}"
    shutil.move(saved, workbook)
    return workbook
