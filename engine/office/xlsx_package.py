"""The zip package of an .xlsx: its parts, relationships and content types, edited in place.

Every member we do not edit is written back with identical content, in the original order and
under its original name; edited parts are replaced, new parts appended. Edits to the small
XML parts (relationships, content types, workbook) splice text into the original bytes, so
prefixes, unknown extensions and the author's formatting of everything else stay as they were.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from defusedxml import ElementTree

from engine.errors import UnusableInput
from engine.office import zip_ahead
from engine.office.sheet_scan import iter_member
from engine.office.xlsx_zip import DeflatedPart, PackageWriter, new_entry

PACKAGE_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TRANSITIONAL_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_RELS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
STREAM_CHUNK = 1 << 20  # a big part is read in chunks of this many bytes (inflated)
_AHEAD = 6  # chunks a streamed part is inflated ahead of its reader (`stream(ahead=True)`)
_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


class WorkbookPatchError(UnusableInput):
    """The workbook cannot be patched safely; nothing was written."""


class NotPatchable(ValueError):
    """A part is not laid out the way we can patch safely (chart sheet, odd encoding, ...).

    Raised deep inside; `patch_xlsx` turns it into a WorkbookPatchError naming the file.
    """


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str
    target: str
    part: str | None  # the target part's name, None for an external target

    @property
    def kind(self) -> str:
        """The last word of the type ('worksheet', 'comments'), the same in strict and transitional."""
        return self.type.rsplit("/", 1)[-1]


def rels_part_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def root_prefix(xml: bytes, local_name: bytes) -> str:
    """The namespace prefix ('' or 'x:') the part's root element is written with."""
    match = re.search(rb"<([A-Za-z_][\w.-]*:)?" + local_name + rb"[\s/>]", xml)
    return match.group(1).decode() if match and match.group(1) else ""


def closing_tag_position(xml: bytes, prefix: str, local_name: str) -> int:
    """Where `</prefix:name>` starts (its last occurrence); -1 if the element is absent."""
    return xml.rfind(f"</{prefix}{local_name}>".encode())


def set_attribute(start_tag: str, name: str, value: str) -> str:
    """A start tag with `name="value"` replaced or added."""
    pattern = re.compile(rf'(\s{re.escape(name)}\s*=\s*)(["\'])(.*?)\2', re.S)
    if pattern.search(start_tag):
        return pattern.sub(lambda m: f'{m.group(1)}"{value}"', start_tag, count=1)
    end = len(start_tag) - (2 if start_tag.endswith("/>") else 1)
    return f'{start_tag[:end]} {name}="{value}"{start_tag[end:]}'


def get_attribute(start_tag: str | bytes, name: str) -> str | None:
    text = start_tag.decode() if isinstance(start_tag, bytes) else start_tag
    match = re.search(rf'\s{re.escape(name)}\s*=\s*(["\'])(.*?)\1', text, re.S)
    return match.group(2) if match else None


@dataclass(frozen=True)
class _NewHead:
    """A part's original bytes with its first `old_length` bytes replaced by `head`."""

    head: bytes
    old_length: int


class Package:
    """An .xlsx opened for patching; `save` writes the result to a new zip file.

    A part's new content is bytes, chunks (a list, or a generator consumed by `save`), a
    DeflatedPart (a big sheet, deflated as it was rewritten), or a new head on the original
    bytes (`write_head`); parts are read whole (`read`, the small ones) or in chunks (`stream`).
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookPatchError(
                path, f"cannot be opened as an .xlsx package (encrypted, damaged or missing): {exc}"
            ) from exc
        self.members = self.zip.infolist()
        names = [info.filename for info in self.members]
        if len(set(names)) != len(names):
            self.zip.close()
            raise WorkbookPatchError(path, "the package holds two members with the same name")
        self._by_key = {_key(info.filename): info for info in self.members if not info.is_dir()}
        self._backslashes = any("\\" in name for name in names)
        self._new: dict[str, tuple[str, Any]] = {}  # key -> (name, content)
        self._removed: set[str] = set()
        self._cache: dict[str, bytes] = {}

    def close(self) -> None:
        for _, content in self._new.values():
            if isinstance(content, DeflatedPart):
                content.close()
        self.zip.close()

    # -- reading -------------------------------------------------------------------------

    def has(self, part: str) -> bool:
        key = _key(part)
        return key not in self._removed and (key in self._new or key in self._by_key)

    def read(self, part: str) -> bytes:
        key = _key(part)
        if key in self._new and isinstance(self._new[key][1], bytes):
            return self._new[key][1]
        if key in self._new and isinstance(self._new[key][1], _NewHead):
            return b"".join(self.stream(part))
        if key not in self._cache:
            info = self._by_key.get(key)
            if info is None:
                raise WorkbookPatchError(self.path, f"the part {part} is missing")
            try:
                self._cache[key] = self.zip.read(info)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                raise WorkbookPatchError(
                    self.path, f"the part {part} cannot be read: {exc}"
                ) from exc
        return self._cache[key]

    def stream(self, part: str, ahead: bool = False) -> Iterator[bytes]:
        """A part's content in chunks of a megabyte: a big sheet is never read whole.

        The original is inflated as it is read, never past the size its zip entry declares;
        `ahead`: by a second thread, a few chunks ahead of the reader (a sheet read to its end).
        """
        key = _key(part)
        content = self._new.get(key, (None, None))[1]
        if isinstance(content, bytes):
            yield content
            return
        if content is not None and not isinstance(content, _NewHead):
            raise NotPatchable(f"the part {part} was rewritten already")
        info = self._by_key.get(key)
        if info is None:
            raise WorkbookPatchError(self.path, f"the part {part} is missing")
        skip = 0
        if content is not None:
            yield content.head
            skip = content.old_length
        try:
            chunks = iter_member(self.zip, info, chunk=STREAM_CHUNK)
            for chunk in zip_ahead.ahead(chunks, _AHEAD) if ahead else chunks:
                if skip:
                    chunk, skip = chunk[skip:], max(skip - len(chunk), 0)
                if chunk:
                    yield chunk
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as exc:
            raise WorkbookPatchError(self.path, f"the part {part} cannot be read: {exc}") from exc

    def part_names(self) -> list[str]:
        names = [_part_name(info.filename) for info in self.members if not info.is_dir()]
        return names + [name for key, (name, _) in self._new.items() if key not in self._by_key]

    def unused_part_name(self, pattern: str) -> str:
        """`pattern` with {} replaced by the first number that names no part, e.g. xl/comments3.xml."""
        taken = {_key(name) for name in self.part_names()}
        number = 1
        while _key(pattern.format(number)) in taken:
            number += 1
        return pattern.format(number)

    def relationships(self, part: str) -> list[Relationship]:
        rels_part = rels_part_of(part) if part else "_rels/.rels"
        if not self.has(rels_part):
            return []
        root = _parse(self, rels_part)
        source_folder = posixpath.dirname(part)
        found = []
        for element in root:
            if element.tag.rsplit("}", 1)[-1] != "Relationship":
                continue
            target = element.get("Target", "")
            external = element.get("TargetMode", "").lower() == "external"
            found.append(
                Relationship(
                    element.get("Id", ""),
                    element.get("Type", ""),
                    target,
                    None if external else _resolve(source_folder, target),
                )
            )
        return found

    # -- editing -------------------------------------------------------------------------

    def write(self, part: str, content: bytes | Iterable[bytes] | DeflatedPart) -> None:
        """Replace (or add) a part; `content` may be chunks or a DeflatedPart for a big part."""
        key = _key(part)
        self._removed.discard(key)
        self._cache.pop(key, None)
        existing = self._by_key.get(key)
        self._new[key] = (_part_name(existing.filename) if existing else part, content)

    def write_head(self, part: str, old_length: int, head: bytes) -> None:
        """Replace the first `old_length` bytes of a part by `head`, the rest kept as it is
        (and streamed when saved: a sheet's tab selection without reading its rows)."""
        key = _key(part)
        content = self._new.get(key, (None, None))[1]
        if isinstance(content, bytes):
            self.write(part, head + content[old_length:])
        elif content is None:
            self.write(part, _NewHead(head, old_length))
        elif isinstance(content, _NewHead) and old_length >= len(content.head):
            self.write(part, _NewHead(head, content.old_length + old_length - len(content.head)))
        elif isinstance(content, _NewHead):
            self.write(part, _NewHead(head + content.head[old_length:], content.old_length))
        else:
            raise NotPatchable(f"the part {part} was rewritten already")

    def remove(self, part: str) -> None:
        key = _key(part)
        self._removed.add(key)
        self._new.pop(key, None)

    def add_relationship(self, source: str, type_: str, target_part: str) -> str:
        """Add a relationship from `source` to an internal part; returns its new Id."""
        rels_part = rels_part_of(source) if source else "_rels/.rels"
        taken = {rel.id for rel in self.relationships(source)}
        number = len(taken) + 1
        while f"rId{number}" in taken:
            number += 1
        new_id = f"rId{number}"
        target = quote(posixpath.relpath(target_part, posixpath.dirname(source) or "."))
        element = f'<Relationship Id="{new_id}" Type="{type_}" Target="{target}"/>'
        if self.has(rels_part):
            xml = self.read(rels_part)
            prefix = root_prefix(xml, b"Relationships")
            if prefix:
                element = element.replace("<Relationship ", f"<{prefix}Relationship ")
            self.write(rels_part, _insert_before_close(xml, prefix, "Relationships", element))
        else:
            self.write(
                rels_part,
                _XML_DECLARATION
                + f'<Relationships xmlns="{PACKAGE_RELS_NS}">{element}</Relationships>'.encode(),
            )
        return new_id

    def remove_relationship(self, source: str, rel_id: str) -> None:
        rels_part = rels_part_of(source) if source else "_rels/.rels"
        xml = self.read(rels_part).decode("utf-8")
        pattern = re.compile(
            r"<(?:[\w.-]+:)?Relationship\b[^>]*?(?:/>|>.*?</(?:[\w.-]+:)?Relationship>)", re.S
        )
        kept = pattern.sub(
            lambda m: "" if get_attribute(m.group(0), "Id") == rel_id else m.group(0), xml
        )
        self.write(rels_part, kept.encode("utf-8"))

    def add_content_type(self, part: str, content_type: str) -> None:
        xml = self.read("[Content_Types].xml")
        prefix = root_prefix(xml, b"Types")
        element = f'<{prefix}Override PartName="/{quote(part)}" ContentType="{content_type}"/>'
        self.write("[Content_Types].xml", _insert_before_close(xml, prefix, "Types", element))

    def ensure_default_content_type(self, extension: str, content_type: str) -> None:
        xml = self.read("[Content_Types].xml")
        for match in re.finditer(rb"<(?:[\w.-]+:)?Default\b[^>]*>", xml):
            if (get_attribute(match.group(0), "Extension") or "").lower() == extension:
                return
        prefix = root_prefix(xml, b"Types")
        element = f'<{prefix}Default Extension="{extension}" ContentType="{content_type}"/>'
        self.write("[Content_Types].xml", _insert_before_close(xml, prefix, "Types", element))

    def remove_content_type(self, part: str) -> None:
        xml = self.read("[Content_Types].xml").decode("utf-8")
        wanted = _key(part)

        def keep(match: re.Match) -> str:
            name = unquote(get_attribute(match.group(0), "PartName") or "").lstrip("/")
            return "" if _key(name) == wanted else match.group(0)

        kept = re.sub(
            r"<(?:[\w.-]+:)?Override\b[^>]*?(?:/>|>\s*</(?:[\w.-]+:)?Override>)", keep, xml
        )
        self.write("[Content_Types].xml", kept.encode("utf-8"))

    def check_well_formed(self, part: str) -> None:
        """Refuse to write a small edited XML part that would not parse (a bug, never a user's fault)."""
        _parse(self, part)

    def edited_xml_parts(self) -> list[str]:
        """Edited parts held whole (not streamed sheets) that are XML, for a last check."""
        return [
            name
            for name, data in self._new.values()
            if isinstance(data, bytes) and name.lower().endswith((".xml", ".rels"))
        ]

    # -- writing -------------------------------------------------------------------------

    def _original(self, info: zipfile.ZipInfo) -> bytes:
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
            raise WorkbookPatchError(
                self.path, f"the member {info.filename} cannot be read: {exc}"
            ) from exc

    def save(self, destination: Path) -> None:
        """Write the package: untouched members identical, in their order, then new parts."""
        new_by_key = dict(self._new)
        when = self.members[0].date_time if self.members else (1980, 1, 1, 0, 0, 0)
        with PackageWriter(destination, self.path) as out:
            for info in self.members:
                key = _key(info.filename)
                if key in self._removed:
                    continue
                if key in new_by_key:
                    self._write(out, new_entry(info.filename, info), new_by_key.pop(key)[1], info)
                else:
                    out.copy(info, lambda info=info: self._original(info))
            for name, data in new_by_key.values():
                entry = new_entry(name.replace("/", "\\") if self._backslashes else name)
                entry.date_time = when
                self._write(out, entry, data, None)

    def _write(self, out: PackageWriter, entry: zipfile.ZipInfo, data: Any,
               original: zipfile.ZipInfo | None) -> None:
        if isinstance(data, _NewHead):
            size = original.file_size + len(data.head) - data.old_length
            out.write(entry, self.stream(_part_name(original.filename)), size)
        else:
            out.write(entry, data)


def _key(name: str) -> str:
    """Part names compare without case (OPC) and whatever the separator the zip used."""
    return _part_name(name).lower()


def _part_name(member_name: str) -> str:
    return member_name.replace("\\", "/").lstrip("/")


def _resolve(source_folder: str, target: str) -> str:
    target = unquote(target.split("#", 1)[0])
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(source_folder, target)).lstrip("/")


def _parse(package: Package, part: str):
    xml = package.read(part)
    try:
        return ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise WorkbookPatchError(
            package.path, f"the part {part} is not well-formed XML: {exc}"
        ) from exc
    except Exception as exc:  # defusedxml refuses entities and DTDs: a hostile file
        raise WorkbookPatchError(package.path, f"the part {part} was refused: {exc}") from exc


def _insert_before_close(xml: bytes, prefix: str, local_name: str, element: str) -> bytes:
    """Insert `element` as the last child of the root; expands a self-closed empty root."""
    at = closing_tag_position(xml, prefix, local_name)
    if at >= 0:
        return xml[:at] + element.encode("utf-8") + xml[at:]
    empty = re.search(rb"<" + (prefix + local_name).encode() + rb"\b[^>]*/>", xml)
    if not empty:
        raise NotPatchable(f"no <{prefix}{local_name}> element to add to")
    opened = empty.group(0)[:-2].rstrip() + b">"
    closing = f"</{prefix}{local_name}>".encode()
    return xml[: empty.start()] + opened + element.encode("utf-8") + closing + xml[empty.end() :]
