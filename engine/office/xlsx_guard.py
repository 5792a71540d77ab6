"""Refuse hostile or foreign .xlsx files before any heavy parsing.

Why: workbooks arrive by mail and from shared folders. calamine and openpyxl are careful, but
a zip bomb, an XML entity bomb, an encrypted file or an old .xls should be stopped with a
message an office worker can act on ("<file>: password-protected ...: remove the password"),
not a stack trace or a machine out of memory. `check_package` reads the zip directory, streams
each XML part once in bounded chunks, and parses only the small structural parts (with
defusedxml); the sheets themselves are left to the reader. A sheet past the row or column cap
is refused from its declared dimension, or, where that is missing or not believable, from a
scan of its XML that stops at the first row past the cap (`sheet_extent`). `open_calamine`
and `read_rows` turn calamine's own failures on odd files into the same kind of clear refusal.
"""

from __future__ import annotations

import posixpath
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from engine.config import WorkbookLimits
from engine.errors import UnusableInput
from engine.office import sheet_scan
from engine.office.sheet_extent import find_overrun
from engine.office.sheet_scan import iter_member

OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
TINY_MEMBER = 1 << 20  # compression ratios of parts smaller than this mean nothing
STRUCTURE_CAP = 32 << 20  # content types, workbook and its rels are small in any real file
ALWAYS_SCAN = 2 << 20  # a sheet part this small is scanned for how far it reaches, dimension or not
BYTES_PER_CELL = 2048  # more XML than this per declared cell: the dimension is not believed
MACRO_MARKERS = ("macroenabled", "vbaproject", "macrosheet")
# What zipfile raises on a broken archive (RuntimeError: a member needing a zip password).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError)

DAMAGED = "damaged: not a readable .xlsx (open and re-save it in Excel)"
SAVE_AS = "open it in Excel and save it as an .xlsx workbook (File > Save As > Excel Workbook)"
UNLOCK = "remove the password in Excel (File > Info > Protect Workbook), then save it as .xlsx"
UNLOCK_ANY = "remove any password in Excel (File > Info > Protect Workbook), then save it as .xlsx"
PASSWORD = f"password-protected (encrypted): {UNLOCK}"
OLD_XLS = f"an old Excel 97-2003 .xls workbook: {SAVE_AS}"
FRESH_COPY = "do not open it, ask the sender for a fresh copy saved from Excel"
BOMB = f"which looks like a zip bomb; {FRESH_COPY}"
ENTITIES = "contains XML entity declarations, which Excel never writes; it may be an attack"
MACROS = (
    "contains macros: save it as an .xlsx workbook without macros (File > Save As > "
    "Excel Workbook), or pass --allow-macros if you trust where it comes from"
)


@dataclass(frozen=True)
class PackageInfo:
    """What the guard learned about an accepted workbook, so the reader need not look again."""

    sheet_names: list[str]
    sheet_parts: dict[str, str]  # sheet name -> zip member, e.g. "xl/worksheets/sheet1.xml"
    has_macros: bool = False
    date1904: bool = False
    dimensions: dict[str, tuple[int, int]] = field(default_factory=dict)  # (rows, columns)
    hidden: dict[str, str] = field(default_factory=dict)  # sheet name -> "hidden" or "veryHidden"
    workbook_part: str = "xl/workbook.xml"  # its folder holds sharedStrings.xml and styles.xml


def check_package(
    path: Path, limits: WorkbookLimits, *, allow_macros: bool | None = None
) -> PackageInfo:
    """Accept `path` as a safe, plain .xlsx workbook, or raise UnusableInput saying what to do."""
    path = Path(path)
    allow = limits.allow_macros if allow_macros is None else allow_macros
    head = _file_head(path, limits)
    if head.startswith(OLE_SIGNATURE):
        raise UnusableInput(path, _ole_reason(path))
    if not head.startswith(b"PK\x03\x04"):
        raise UnusableInput(path, _not_xlsx("it is not a zip package: a CSV, text or other file?"))
    declared = sheet_scan.declared_member_count(path)
    if declared is not None and declared > limits.max_members:
        raise UnusableInput(path, _too_many(declared, limits))
    try:
        with zipfile.ZipFile(path) as zf:
            return _Package(path, zf).check(limits, allow)
    except ZIP_ERRORS as exc:
        raise UnusableInput(path, f"{DAMAGED}: {exc}") from exc


def check_file(path: Path, limits: WorkbookLimits) -> None:
    """Only that `path` is a file that can be read, not empty and within the size limit
    (the remote command line, before it uploads: the server checks everything again)."""
    _file_head(Path(path), limits)


def _file_head(path: Path, limits: WorkbookLimits) -> bytes:
    try:
        found = path.stat()
        mode, size = found.st_mode, found.st_size
        if stat.S_ISDIR(mode):
            raise UnusableInput(path, "a folder, not a workbook: give the path of the .xlsx file")
        if not stat.S_ISREG(mode):  # a pipe or a device would block the read
            raise UnusableInput(path, "not a file: give the path of a saved .xlsx workbook")
        with open(path, "rb") as fh:
            head = fh.read(8)
    except FileNotFoundError as exc:
        raise UnusableInput(path, "not found: check the file name and the folder") from exc
    except OSError as exc:
        reason = "cannot be read (no permission, or locked): close it or ask for read access"
        raise UnusableInput(path, reason) from exc
    if size > limits.max_file_bytes:
        limit = f"the limit is {_mb(limits.max_file_bytes)}"
        raise UnusableInput(
            path, f"too large ({_mb(size)}; {limit}): split it into smaller workbooks"
        )
    if not head:
        raise UnusableInput(path, "empty (0 bytes): it was not saved completely; save it again")
    return head


def too_large(sheet: str, extent: str, limits: WorkbookLimits, *, rows: int = 0, columns: int = 0) -> str:
    """The refusal of a sheet past the row or column cap: what it holds (`extent`), the
    limit, and what to do about it (`rows`, `columns`: how far it reaches, 0 if unknown)."""
    limit = f"the limit is {limits.max_rows} rows x {limits.max_columns} columns"
    fixes, settings = [], []
    if rows > limits.max_rows:
        fixes.append(f"split it into workbooks of at most {limits.max_rows} rows (or delete the rows not needed)")
        settings.append("workbook.max_rows")
    if columns > limits.max_columns:
        fixes.append("delete the columns not needed")
        settings.append("workbook.max_columns")
    fix = " and ".join(fixes) or "delete the unused rows and columns or split the sheet"
    setting = " or ".join(settings) or "workbook.max_rows or workbook.max_columns"
    return (f"sheet '{sheet}' is too large ({extent}; {limit}): {fix}, then save it again; "
            f"or raise the setting {setting}")


def _worth_scanning(size: tuple[int, int] | None, info: zipfile.ZipInfo) -> bool:
    """Whether a sheet's XML must be scanned for how far it reaches: it declares no usable
    dimension; or it is small (the scan costs next to nothing, and a few hundred bytes can
    name a cell a million rows away); or it holds far more XML than its declared cells could
    take (a dimension that lies). A believable dimension is trusted: the reader counts the
    rows calamine read, so a sheet holding more than it declares is still refused there."""
    if size is None or size == FULL_GRID or info.file_size <= ALWAYS_SCAN:
        return True
    rows, cols = size
    return info.file_size > ALWAYS_SCAN + rows * cols * BYTES_PER_CELL


def _ole_reason(path: Path) -> str:
    """An OLE2 container is an encrypted .xlsx or an old binary .xls (or another old file)."""
    try:  # msoffcrypto-tool: optional, and only for the rare OLE2 file
        import msoffcrypto
        from msoffcrypto.format.ooxml import OOXMLFile
        from msoffcrypto.format.xls97 import Xls97File

        with open(path, "rb") as fh:
            office = msoffcrypto.OfficeFile(fh)
            if isinstance(office, OOXMLFile):
                return PASSWORD
            if isinstance(office, Xls97File):
                locked = f"a password-protected old Excel 97-2003 .xls: {UNLOCK}"
                return locked if office.is_encrypted() else OLD_XLS
    except Exception:  # library missing, or a file it cannot classify: name both possibilities
        pass
    return "password-protected (encrypted) or an old binary .xls workbook: " + UNLOCK_ANY


def _not_xlsx(why: str) -> str:
    return f"not an Excel .xlsx workbook ({why}): {SAVE_AS}"


def _too_many(count: int, limits: WorkbookLimits) -> str:
    return f"unsafe: it holds {count} parts (the limit is {limits.max_members}), {BOMB}"


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB" if size < 1 << 30 else f"{size / (1 << 30):.1f} GB"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _key(name: str) -> str:
    """Zip names compared as OPC part names: '/' separators, no leading '/', any case."""
    return name.replace("\\", "/").lstrip("/").lower()


class _Package:
    """One open zip being checked; members are looked up by `_key` (as Office does)."""

    def __init__(self, path: Path, zf: zipfile.ZipFile):
        self.path, self.zf = path, zf
        self.members: dict[str, zipfile.ZipInfo] = {}

    def fail(self, reason: str) -> NoReturn:
        raise UnusableInput(self.path, reason)

    def check(self, limits: WorkbookLimits, allow_macros: bool) -> PackageInfo:
        infos = self.zf.infolist()
        if len(infos) > limits.max_members:
            self.fail(_too_many(len(infos), limits))
        for info in infos:
            key = _key(info.filename)
            if key in self.members:  # two parsers could each pick a different copy
                self.fail(f"{DAMAGED}: the part {info.filename} is in it twice")
            self.members[key] = info
            if info.flag_bits & 0x1:
                self.fail(_not_xlsx("it is a password-protected zip file"))
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= TINY_MEMBER and ratio > limits.max_compression_ratio:
                packed = f"{ratio:.0f}:1, the limit is {limits.max_compression_ratio}:1"
                self.fail(f"unsafe: its part {info.filename} is packed {packed}, {BOMB}")
        total = sum(i.file_size for i in infos)
        if total > limits.max_uncompressed_bytes:
            limit = f"the limit is {_mb(limits.max_uncompressed_bytes)}"
            self.fail(f"unsafe: it unpacks to {_mb(total)} ({limit}), {BOMB}")
        main, types = self.main_part()
        macro_parts = [k for k in self.members if k.endswith("vbaproject.bin") or "macrosheet" in k]
        has_macros = bool(macro_parts) or any(m in t.lower() for t in types for m in MACRO_MARKERS)
        if has_macros and not allow_macros:
            self.fail(MACROS)
        names, parts, linked, date1904, hidden = self.sheets(main)
        # Every part calamine or openpyxl may parse: XML by name, and whatever the workbook links.
        worksheets = {member.lower() for member in parts.values()}
        for key, info in self.members.items():
            scan = key.endswith((".xml", ".rels", ".vml")) or key in linked
            if scan and sheet_scan.has_entity_declarations(self.zf, info, prolog_only=key in worksheets):
                self.fail(f"{ENTITIES} (in {info.filename}): {FRESH_COPY}")
        dimensions: dict[str, tuple[int, int]] = {}
        for name, member in parts.items():
            info = self.zf.getinfo(member)
            size = sheet_scan.declared_dimension(self.zf, info)
            if size is not None and size != FULL_GRID:  # Gnumeric writes the whole grid for any sheet
                dimensions[name] = rows, cols = size
                if rows > limits.max_rows or cols > limits.max_columns:
                    self.fail(too_large(name, f"{rows} rows x {cols} columns", limits, rows=rows, columns=cols))
            if _worth_scanning(size, info):
                over = find_overrun(self.zf, info, limits.max_rows, limits.max_columns)
                if over:
                    reached = f"it reaches row {over.row}" if over.row > limits.max_rows else \
                        f"it reaches column {sheet_scan.column_letters(over.column)}"
                    self.fail(too_large(name, reached, limits, rows=over.row, columns=over.column))
        return PackageInfo(names, parts, has_macros, date1904, dimensions, hidden, self.members[main].filename)

    def parse(self, key: str) -> Element:
        """Parse a small structural part with defusedxml, which refuses entities and DTDs."""
        info = self.members[key]
        if info.file_size > STRUCTURE_CAP:
            self.fail(f"unsafe: its part {info.filename} is {_mb(info.file_size)}, {BOMB}")
        try:
            return SafeET.fromstring(b"".join(iter_member(self.zf, info)))
        except DefusedXmlException:
            self.fail(f"{ENTITIES} (in {info.filename}): {FRESH_COPY}")
        except ParseError:
            self.fail(f"{DAMAGED}: {info.filename} is not well-formed XML")

    def rels(self, source: str) -> list[tuple[str, str, str]]:
        """(id, type, target key) of the internal relationships of part `source` ('' = package)."""
        folder, name = posixpath.split(source)
        rels_key = posixpath.join(folder, "_rels", name + ".rels")
        if rels_key not in self.members:
            return []
        found = []
        for rel in self.parse(rels_key).iter():
            if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target", "").replace("\\", "/")
            base = "" if target.startswith("/") else folder  # "/xl/x.xml" or relative "x.xml"
            key = _key(posixpath.normpath(posixpath.join(base, target.lstrip("/"))))
            if key not in self.members and _key(unquote(key)) in self.members:
                key = _key(unquote(key))
            found.append((rel.get("Id", ""), rel.get("Type", ""), key))
        return found

    def main_part(self) -> tuple[str, list[str]]:
        """The workbook part and every content type in the package; refuses what is not .xlsx."""
        if "mimetype" in self.members:
            if b"opendocument" in b"".join(
                iter_member(self.zf, self.members["mimetype"], limit=99)
            ):
                self.fail(f"an OpenDocument file (.ods), not an Excel .xlsx workbook: {SAVE_AS}")
        if "[content_types].xml" not in self.members:
            self.fail(_not_xlsx("it is a zip file without an Excel workbook in it"))
        found = [t for _, kind, t in self.rels("") if kind.endswith("/officeDocument")]
        main = next((t for t in found if t in self.members), "xl/workbook.xml")
        if main.endswith(".bin") or "xl/workbook.bin" in self.members:
            self.fail(f"an Excel binary workbook (.xlsb), not an .xlsx workbook: {SAVE_AS}")
        if main not in self.members:
            self.fail(_not_xlsx("it is a zip file without an Excel workbook in it"))
        types: dict[str, str] = {}
        for item in self.parse("[content_types].xml").iter():
            if _local(item.tag) == "Override":
                types["/" + _key(item.get("PartName", ""))] = item.get("ContentType", "")
            elif _local(item.tag) == "Default":
                types["." + item.get("Extension", "").lower()] = item.get("ContentType", "")
        kind = types.get("/" + main) or types.get(posixpath.splitext(main)[1], "")
        if "spreadsheetml" not in kind and "ms-excel" not in kind:
            self.fail(_not_xlsx(f"it is another kind of document: {kind or 'unknown'}"))
        return main, list(types.values())

    def sheets(self, main: str) -> tuple[list[str], dict[str, str], set[str], bool, dict[str, str]]:
        """Sheet names in order, their members, every part the workbook links to, date1904,
        and the state of each hidden sheet."""
        workbook = self.parse(main)
        rels = self.rels(main)
        targets = {rid: key for rid, _, key in rels}
        names: list[str] = []
        parts: dict[str, str] = {}
        hidden: dict[str, str] = {}
        date1904 = False
        for item in workbook.iter():
            if _local(item.tag) == "workbookPr":
                date1904 = item.get("date1904", "").strip().lower() in ("1", "true")
            elif _local(item.tag) == "sheet":
                name = item.get("name", "")
                # r:id, whatever its prefix, in the transitional or the strict namespace
                rid = [v for k, v in item.attrib.items() if k[:1] == "{" and _local(k) == "id"]
                key = targets.get(rid[0] if rid else "", "")
                if not name or key not in self.members:
                    self.fail(f"{DAMAGED}: sheet '{name}' is missing from the file")
                names.append(name)
                parts[name] = self.members[key].filename
                if item.get("state", "visible") != "visible":
                    hidden[name] = item.get("state", "")
        if not names:
            self.fail(f"{DAMAGED}: it has no sheets")
        return names, parts, {key for _, _, key in rels} | {main}, date1904, hidden


@contextmanager
def _calamine_errors(path: Path, where: str = "") -> Iterator[None]:
    """Turn calamine's failures on odd files into UnusableInput (a password, a broken part)."""
    try:
        yield
    except UnusableInput:
        raise
    except BaseException as exc:
        # A Rust panic inside calamine arrives as pyo3's PanicException, a BaseException.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        if type(exc).__name__ == "PasswordError":
            raise UnusableInput(path, PASSWORD) from exc
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise UnusableInput(path, f"{DAMAGED}: {where}{detail}") from exc


def open_calamine(path: Path, info: PackageInfo) -> Any:
    """A python_calamine workbook for a file check_package accepted, or UnusableInput."""
    from python_calamine import (
        CalamineWorkbook,  # here: only the commands that read a workbook load it
    )

    with _calamine_errors(path):
        workbook = CalamineWorkbook.from_path(str(path))
        if list(workbook.sheet_names) != list(info.sheet_names):
            workbook.close()
            raise UnusableInput(path, f"{DAMAGED}: its list of sheets is inconsistent")
    return workbook


FULL_GRID = (1_048_576, 16_384)


def read_rows(
    path: Path, workbook: Any, sheet: str, *, skip_empty_area: bool = True, limits: WorkbookLimits | None = None
) -> list[list[Any]]:
    """One sheet's values as lists (calamine's `to_python`), its failures as UnusableInput.

    With `limits`, a sheet reaching past the row cap (one whose dimension lied to the guard)
    is refused before its cells become Python values, the larger part of the memory."""
    with _calamine_errors(path, f"sheet '{sheet}' cannot be read: "):
        found = workbook.get_sheet_by_name(sheet)
        reach = found.end[0] + 1 if found.end else 0  # rows from row 1, as to_python gives them
        if limits is not None and reach > limits.max_rows:
            raise UnusableInput(path, too_large(sheet, f"{reach} rows", limits, rows=reach))
        return found.to_python(skip_empty_area=skip_empty_area)
