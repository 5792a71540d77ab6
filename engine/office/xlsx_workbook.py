"""The workbook part of an .xlsx: its sheets, date system, styles part and calculation chain.

Read with a small XML parser (the workbook part is small); edited by splicing text into the
original, so whatever else the workbook holds (defined names, views, extensions) is kept.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from defusedxml import ElementTree

from engine.office.xlsx_cells import escape_attribute
from engine.office.xlsx_package import (
    Package,
    WorkbookPatchError,
    closing_tag_position,
    get_attribute,
    root_prefix,
    set_attribute,
)

WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
SHEET_STATES = ("visible", "hidden", "veryHidden")
_BAD_NAME = re.compile(r"[\[\]:*?/\\]")
_TAB_SELECTED = re.compile(rb"""\s+tabSelected\s*=\s*["'][^"']*["']""")


@dataclass
class SheetEntry:
    name: str
    rel_id: str
    part: str | None
    kind: str  # "worksheet", "chartsheet", "dialogsheet", "macrosheet"


class Workbook:
    """What the patcher needs to know about, and change in, the workbook part."""

    def __init__(self, package: Package):
        self.package = package
        office = [
            rel for rel in package.relationships("") if rel.kind == "officeDocument" and rel.part
        ]
        if not office or not package.has(office[0].part):
            raise WorkbookPatchError(package.path, "the package has no workbook part")
        self.part = office[0].part
        self.rel_base = office[0].type.rsplit("/", 1)[0]  # strict or transitional namespace
        try:
            root = ElementTree.fromstring(package.read(self.part))
        except Exception as exc:
            raise WorkbookPatchError(
                package.path, f"the workbook part cannot be read: {exc}"
            ) from exc
        self.main_ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        self.date1904 = any(
            _local(element.tag) == "workbookPr"
            and element.get("date1904", "").lower() in ("1", "true")
            for element in root
        )
        rels = {rel.id: rel for rel in package.relationships(self.part)}
        self.sheets: list[SheetEntry] = []
        self._sheet_ids: list[int] = []
        listed = [child for sheets in root if _local(sheets.tag) == "sheets" for child in sheets]
        for element in listed:
            if _local(element.tag) != "sheet":
                continue
            rel_id = next(
                (v for k, v in element.attrib.items() if _local(k) == "id" and "}" in k), ""
            )
            rel = rels.get(rel_id)
            self.sheets.append(
                SheetEntry(
                    element.get("name", ""),
                    rel_id,
                    rel.part if rel else None,
                    rel.kind if rel else "",
                )
            )
            self._sheet_ids.append(int(element.get("sheetId", "0") or 0))
        self.styles_part = next((rel.part for rel in rels.values() if rel.kind == "styles"), None)
        self._calc_chain = next((rel for rel in rels.values() if rel.kind == "calcChain"), None)

    @property
    def rel_namespace(self) -> str:
        """The namespace of `r:id` attributes in this package's parts."""
        return self.rel_base

    def rel_type(self, kind: str) -> str:
        return f"{self.rel_base}/{kind}"

    def folder(self) -> str:
        return posixpath.dirname(self.part)

    def find(self, name: str) -> SheetEntry | None:
        exact = [sheet for sheet in self.sheets if sheet.name == name]
        if exact:
            return exact[0]
        return next(
            (sheet for sheet in self.sheets if sheet.name.casefold() == name.casefold()), None
        )

    def worksheet_part(self, name: str) -> str:
        sheet = self.find(name)
        if sheet is None:
            raise WorkbookPatchError(self.package.path, f"the workbook has no sheet named {name!r}")
        if sheet.kind != "worksheet" or not sheet.part or not self.package.has(sheet.part):
            raise WorkbookPatchError(
                self.package.path, f"the sheet {name!r} is not a worksheet that can be written to"
            )
        return sheet.part

    # -- changes ---------------------------------------------------------------------------

    def add_worksheet(self, name: str, state: str) -> str:
        """Register a new worksheet part (appended as the last tab); returns its part name."""
        _check_sheet_name(name)
        part = self.package.unused_part_name(
            posixpath.join(self.folder(), "worksheets", "sheet{}.xml")
        )
        rel_id = self.package.add_relationship(self.part, self.rel_type("worksheet"), part)
        self.package.add_content_type(part, WORKSHEET_TYPE)
        sheet_id = max(self._sheet_ids, default=0) + 1
        xml = self.package.read(self.part)
        prefix = root_prefix(xml, b"workbook")
        state_text = "" if state == "visible" else f' state="{state}"'
        element = (
            f'<{prefix}sheet xmlns:r="{self.rel_namespace}" name="{escape_attribute(name)}" '
            f'sheetId="{sheet_id}"{state_text} r:id="{rel_id}"/>'
        ).encode()
        at = closing_tag_position(xml, prefix, "sheets")
        if at < 0:
            raise WorkbookPatchError(self.package.path, "the workbook part has no <sheets> list")
        self.package.write(self.part, xml[:at] + element + xml[at:])
        self.sheets.append(SheetEntry(name, rel_id, part, "worksheet"))
        self._sheet_ids.append(sheet_id)
        return part

    def set_state(self, name: str, state: str) -> None:
        xml = self.package.read(self.part).decode("utf-8")
        prefix = root_prefix(xml.encode("utf-8"), b"workbook")
        target = self.find(name).name

        def restate(match: re.Match) -> str:
            if html.unescape(get_attribute(match.group(0), "name") or "") != target:
                return match.group(0)
            return set_attribute(match.group(0), "state", state)

        pattern = rf"<{re.escape(prefix)}sheet\b[^>]*>"
        self.package.write(self.part, re.sub(pattern, restate, xml).encode("utf-8"))

    def repeat_first_row(self, name: str) -> None:
        """Print the sheet's first row at the top of every page (Excel's print titles), unless
        the workbook names print titles for it already."""
        index = next(n for n, sheet in enumerate(self.sheets) if sheet.name == self.find(name).name)
        xml = self.package.read(self.part).decode("utf-8")
        prefix = root_prefix(xml.encode("utf-8"), b"workbook")
        for tag in re.findall(rf"<{re.escape(prefix)}definedName\b[^>]*>", xml):
            if get_attribute(tag, "name") == "_xlnm.Print_Titles" and get_attribute(tag, "localSheetId") == str(index):
                return
        titles = html.escape("'" + self.sheets[index].name.replace("'", "''") + "'!$1:$1", quote=False)
        element = (f'<{prefix}definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
                   f"{titles}</{prefix}definedName>")
        closing = xml.find(f"</{prefix}definedNames>")
        if closing >= 0:
            xml = xml[:closing] + element + xml[closing:]
        else:
            after = max(xml.find(f"</{prefix}externalReferences>"), xml.find(f"</{prefix}sheets>"))
            if after < 0:
                raise WorkbookPatchError(self.package.path, "the workbook part has no <sheets> list")
            after = xml.index(">", after) + 1
            xml = xml[:after] + f"<{prefix}definedNames>{element}</{prefix}definedNames>" + xml[after:]
        self.package.write(self.part, xml.encode("utf-8"))

    def unselect_sheets(self) -> None:
        """Take the selection off every worksheet tab (`tabSelected`), so that the one sheet
        made active next is the only one selected: two selected tabs are a group in Excel,
        where typing goes into every sheet of it."""
        for sheet in self.sheets:
            if sheet.kind != "worksheet" or not sheet.part or not self.package.has(sheet.part):
                continue
            head = _head(self.package.stream(sheet.part))  # a big sheet's rows stay unread
            if b"tabSelected" not in head:
                continue
            self.package.write_head(sheet.part, len(head), _TAB_SELECTED.sub(b"", head))

    def place(self, name: str, first: bool) -> None:
        """Move sheet `name` to the first tab and make it the active one (`first`), or to the
        last tab with the first visible sheet active. Sheet-local defined names follow their
        sheets (they refer to a sheet by its position)."""
        xml = self.package.read(self.part).decode("utf-8")
        prefix = root_prefix(xml.encode("utf-8"), b"workbook")
        p = re.escape(prefix)
        listing = re.search(rf"(<{p}sheets\b[^>]*>)(.*?)(</{p}sheets>)", xml, re.S)
        if listing is None:
            raise WorkbookPatchError(self.package.path, "the workbook part has no <sheets> list")
        elements = re.findall(rf"<{p}sheet\b[^>]*?(?:/>|>.*?</{p}sheet>)", listing.group(2), re.S)
        names = [html.unescape(get_attribute(e, "name") or "") for e in elements]
        target = self.find(name).name
        old = names.index(target)
        order = [n for n in range(len(elements)) if n != old]
        order = [old, *order] if first else [*order, old]
        new_index = {was: now for now, was in enumerate(order)}
        xml = (xml[: listing.start(2)] + "".join(elements[n] for n in order) + xml[listing.end(2) :])

        def renumber(match: re.Match) -> str:
            local = get_attribute(match.group(0), "localSheetId")
            if local is None or not local.isdigit() or int(local) not in new_index:
                return match.group(0)
            return set_attribute(match.group(0), "localSheetId", str(new_index[int(local)]))

        xml = re.sub(rf"<{p}definedName\b[^>]*>", renumber, xml)
        states = [get_attribute(elements[n], "state") or "visible" for n in order]
        active = 0 if first else next((n for n, state in enumerate(states) if state == "visible"), 0)

        def activate(match: re.Match) -> str:
            tag = set_attribute(match.group(0), "activeTab", str(active))
            return set_attribute(tag, "firstSheet", "0") if get_attribute(tag, "firstSheet") else tag

        if re.search(rf"<{p}workbookView\b", xml):
            xml = re.sub(rf"<{p}workbookView\b[^>]*>", activate, xml, count=1)
        self.package.write(self.part, xml.encode("utf-8"))
        self.sheets = [self.sheets[n] for n in order]
        self._sheet_ids = [self._sheet_ids[n] for n in order]

    def drop_calc_chain(self) -> None:
        """Remove the calculation chain (Excel rebuilds it) once any formula was removed."""
        rel = self._calc_chain
        if rel is None:
            return
        if self.package.has(rel.part):
            self.package.remove(rel.part)
        self.package.remove_relationship(self.part, rel.id)
        self.package.remove_content_type(rel.part)
        self._calc_chain = None

    def save_styles(self, styles_xml: bytes) -> None:
        if self.styles_part is None:
            plain = posixpath.join(self.folder(), "styles.xml")  # some readers insist on it
            self.styles_part = (
                plain
                if not self.package.has(plain)
                else self.package.unused_part_name(posixpath.join(self.folder(), "styles{}.xml"))
            )
            self.package.add_relationship(self.part, self.rel_type("styles"), self.styles_part)
            self.package.add_content_type(self.styles_part, STYLES_TYPE)
        self.package.write(self.styles_part, styles_xml)

    def read_styles(self) -> bytes | None:
        if self.styles_part and self.package.has(self.styles_part):
            return self.package.read(self.styles_part)
        self.styles_part = None
        return None

    def check_some_sheet_visible(self) -> None:
        xml = self.package.read(self.part).decode("utf-8")
        prefix = root_prefix(xml.encode("utf-8"), b"workbook")
        states = [
            get_attribute(tag, "state") or "visible"
            for tag in re.findall(rf"<{re.escape(prefix)}sheet\b[^>]*>", xml)
        ]
        if states and "visible" not in states:
            raise ValueError("at least one sheet of a workbook must stay visible")


def _head(chunks: Iterator[bytes]) -> bytes:
    """A worksheet's bytes before its first `sheetData` (all of them if it has none)."""
    data = b""
    for chunk in chunks:
        searched = max(len(data) - 8, 0)
        data += chunk
        at = data.find(b"sheetData", searched)
        if at >= 0:
            return data[:at]
    return data


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _check_sheet_name(name: str) -> None:
    if (
        not 1 <= len(name) <= 31
        or _BAD_NAME.search(name)
        or name.startswith("'")
        or name.endswith("'")
    ):
        raise ValueError(f"{name!r} cannot be the name of an Excel sheet")
