"""`backoffice addin build|install`: the Excel add-in's file.

Thin: the building is addin.build's, the installing xlwings' own `xlwings addin install`
(its open-source CLI). The addin package is imported inside each command: the engine never
imports it at module level.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.cli_support import JsonOption, handles_errors, out, print_json, settings
from engine.errors import BackofficeError

addin_app = typer.Typer(help="The Excel add-in (Backoffice.xlam): build it, install it.", no_args_is_help=True)

ADDIN_FILE = "Backoffice.xlam"
EXCEL_PLATFORMS = ("win32", "darwin")


class NoExcelHere(BackofficeError):
    """`addin install` on a computer without Excel (Linux): nothing to install into."""

    code = "no_excel"


class AddinNotReady(BackofficeError):
    """The add-in file is missing, or built but its VBA modules not imported yet."""

    code = "addin_not_ready"


def _default_file() -> Path:
    return settings().output_dir / ADDIN_FILE


@addin_app.command("build")
@handles_errors
def build(
    output: Annotated[Path | None, typer.Option(
        "--output", metavar="FILE.xlam", help=f"Where to write it (default: OUTPUT_DIR/{ADDIN_FILE}).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Assemble Backoffice.xlam from xlwings' open-source add-in template and our ribbon; the
    VBA modules are imported afterwards, in Excel (addin/scripts/import_vba.ps1 on Windows)."""
    from addin import build as builder  # here: the add-in is imported only by its commands

    target = output or _default_file()
    if target.suffix.lower() != ".xlam":
        raise BackofficeError(f"--output {target}: an Excel add-in is an .xlam file; end the name in .xlam")
    result = builder.build(target)
    if as_json:
        print_json(result.as_json())
        return
    out.print(f"wrote {result.file} (from {result.template}; ribbon: {', '.join(result.buttons)})")
    out.print(f"next, in Excel: import {', '.join(result.vba_modules)} into its VBA project "
              f"(Windows: powershell -ExecutionPolicy Bypass -File addin/scripts/import_vba.ps1 {result.file}; "
              "macOS: see the README), then `backoffice addin install`")


@addin_app.command("install")
@handles_errors
def install(
    file: Annotated[Path | None, typer.Option(
        "--file", metavar="FILE.xlam", help=f"The add-in to install (default: OUTPUT_DIR/{ADDIN_FILE}).")] = None,
) -> None:
    """Install the add-in into Excel's start-up folder (XLSTART), through `xlwings addin install`.

    Needs Excel (Windows or macOS) and an add-in whose VBA modules are imported."""
    from addin.build import vba_imported  # here: the add-in is imported only by its commands

    path = file or _default_file()
    if not path.is_file():
        raise AddinNotReady(f"{path} does not exist: make it with `backoffice addin build` first")
    if sys.platform not in EXCEL_PLATFORMS:
        raise NoExcelHere(
            f"Excel is not available on this computer ({sys.platform}): an add-in installs only where Excel runs, "
            f"on Windows or macOS. Nothing was installed. Copy {path.name} to a Windows or Mac PC with Excel and "
            f"Python, import its VBA modules there (see the README), then run `backoffice addin install --file "
            f"{path.name}` (or copy it into Excel's XLSTART folder).")
    if not vba_imported(path):
        raise AddinNotReady(
            f"{path}: its VBA modules are not imported yet, so its buttons would find no macro. Nothing was installed. "
            f"Run addin/scripts/import_vba.ps1 (Windows) or import addin/vba/*.bas by hand (macOS), as the README "
            f"says, then install again.")
    # `xlwings addin install`, run by this very Python (the `xlwings` script need not be on PATH).
    done = subprocess.run([sys.executable, "-m", "xlwings.cli", "addin", "install", "--file", str(path.resolve())],
                          capture_output=True, text=True, timeout=300)
    said = (done.stdout + done.stderr).strip()
    # xlwings says "Successfully installed" when done; it prints other failures and still exits 0.
    if done.returncode != 0 or "Successfully installed" not in said:
        raise BackofficeError(f"xlwings could not install {path.name}: {said or f'exit code {done.returncode}'}")
    out.print(said.replace("the xlwings add-in", f"the Backoffice add-in ({path.name})"))
