"""Our notes on a sheet: Excel comments by the author "Backoffice", next to the user's own.

An Excel comment lives in three places: the sheet's comments part (author and text), a VML
drawing part (the yellow box, one shape per comment, see xlsx_vml) and a `<legacyDrawing>`
element in the sheet pointing at that drawing. Comments written by anyone else are the user's:
they, and their shapes, are kept byte for byte; the parts are small and edited as text.

Which notes are ours: Excel keeps a comment's author, so ours are those by "Backoffice".
LibreOffice does not: it saves every comment with the author " ". So each note we write is
also remembered by a fingerprint of its text (`note_fingerprint`), which the caller keeps
(the round trip: in its `_backoffice` sheet) and hands back as `NoteChanges.known`; a
comment whose text has one of those fingerprints is ours too, whoever last saved the file.
"""

from __future__ import annotations

import hashlib
import html
import posixpath
import re
from dataclasses import dataclass, field

from engine.office.xlsx_cells import excel_text, parse_ref
from engine.office.xlsx_package import (
    NotPatchable,
    closing_tag_position,
    get_attribute,
    root_prefix,
)
from engine.office.xlsx_vml import VML_TYPE, NoteDrawing, new_drawing
from engine.office.xlsx_workbook import Workbook

AUTHOR = "Backoffice"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
# Elements that must follow <legacyDrawing> in a worksheet (schema order).
_AFTER_LEGACY_DRAWING = {
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
}


@dataclass
class NoteChanges:
    """What to do with our notes on one sheet."""

    write: dict[str, str] = field(default_factory=dict)  # ref -> text
    remove: set[str] = field(default_factory=set)
    remove_all: bool = False
    known: set[str] = field(default_factory=set)  # fingerprints of the notes we wrote before

    def __bool__(self) -> bool:
        return bool(self.write or self.remove or self.remove_all)


@dataclass
class NotesOutcome:
    tail: bytes  # the sheet's tail, with <legacyDrawing> added or removed as needed
    skipped: list[str]  # cells where the user's own comment left no room for our note
    ours: set[str] | None = None  # fingerprints of our notes now on the sheet (None: as before)


def note_fingerprint(text: str) -> str:
    """A short fingerprint of a note's text, whitespace-insensitive (programs re-wrap it)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:16]


def update_notes(
    book: Workbook, sheet_part: str, prefix: str, tail: bytes, changes: NoteChanges
) -> NotesOutcome:
    package = book.package
    rels = package.relationships(sheet_part)
    comments_rel = next((rel for rel in rels if rel.kind == "comments" and rel.part), None)
    legacy = re.search(rb"<" + prefix.encode() + rb"legacyDrawing\b[^>]*>", tail)
    legacy_id = _relationship_id(legacy.group(0)) if legacy else None
    vml_rel = next((rel for rel in rels if rel.id == legacy_id and rel.part), None)
    if not changes or (comments_rel is None and not changes.write):
        return NotesOutcome(tail, [])

    if comments_rel and package.has(comments_rel.part):
        comments_part, xml = comments_rel.part, package.read(comments_rel.part)
    else:
        comments_part = package.unused_part_name(posixpath.join(book.folder(), "comments{}.xml"))
        xml = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{book.main_ns}">'
            "<authors/><commentList/></comments>"
        ).encode()
        comments_rel = None
    comments = _Comments(xml, changes.known)
    ours = comments.ours()
    going = ours if changes.remove_all else (changes.remove | set(changes.write)) & ours
    if not going and not changes.write:
        return NotesOutcome(tail, [])
    comments.drop(going)
    skipped = sorted(ref for ref in changes.write if ref in comments.refs())
    added = {ref for ref in changes.write if ref not in skipped}
    comments.add({ref: changes.write[ref] for ref in sorted(added, key=parse_ref)})

    vml = package.read(vml_rel.part) if vml_rel and package.has(vml_rel.part) else None
    vml = NoteDrawing(vml if vml is not None else new_drawing(package))
    vml.remove_notes(going - added)
    vml.add_notes(added - vml.note_refs())
    now_ours = comments.fingerprints()

    if comments.refs():
        package.write(comments_part, comments.xml)
        package.check_well_formed(comments_part)
        if comments_rel is None:
            package.add_relationship(sheet_part, book.rel_type("comments"), comments_part)
            package.add_content_type(comments_part, COMMENTS_TYPE)
    elif comments_rel is not None:
        package.remove(comments_part)
        package.remove_relationship(sheet_part, comments_rel.id)
        package.remove_content_type(comments_part)

    if vml_rel is not None and not vml.draws_anything():
        package.remove(vml_rel.part)
        package.remove_relationship(sheet_part, vml_rel.id)
        tail = tail[: legacy.start()] + tail[legacy.end() :]
    elif vml_rel is not None:
        package.write(vml_rel.part, vml.xml)
    elif vml.draws_anything():
        vml_part = package.unused_part_name(
            posixpath.join(book.folder(), "drawings", "vmlDrawing{}.vml")
        )
        package.write(vml_part, vml.xml)
        package.ensure_default_content_type("vml", VML_TYPE)
        rel_id = package.add_relationship(sheet_part, book.rel_type("vmlDrawing"), vml_part)
        if legacy:  # a legacyDrawing pointing nowhere: replace it
            tail = tail[: legacy.start()] + tail[legacy.end() :]
        tail = _with_legacy_drawing(tail, prefix, book.rel_namespace, rel_id)
    return NotesOutcome(tail, skipped, now_ours)


class _Comments:
    """A comments part as text: authors, and `<comment>` elements we can drop or add."""

    def __init__(self, xml: bytes, known: set[str] = frozenset()):
        self.xml, self.known = xml, known
        self.prefix = root_prefix(xml, b"comments").encode()
        p = re.escape(self.prefix)
        self._comment = re.compile(
            rb"<" + p + rb"comment\b[^>]*?(?:/>|>.*?</" + p + rb"comment>)", re.S
        )

    def authors(self) -> list[str]:
        p = re.escape(self.prefix)
        block = re.search(
            rb"<" + p + rb"authors\b[^>]*?(?:/>|>(.*?)</" + p + rb"authors>)", self.xml, re.S
        )
        if not block or not block.group(1):
            return []
        names = re.findall(
            rb"<" + p + rb"author\b[^>]*?(?:/>|>(.*?)</" + p + rb"author>)", block.group(1), re.S
        )
        return [html.unescape(name.decode("utf-8")) for name in names]

    def _entries(self) -> list[tuple[re.Match, str, bool]]:
        """Every comment: its match, its cell, and whether it is ours."""
        authors = self.authors()
        p = re.escape(self.prefix)
        text = re.compile(rb"<" + p + rb"t\b[^>]*?(?:/>|>(.*?)</" + p + rb"t>)", re.S)
        found = []
        for match in self._comment.finditer(self.xml):
            head = match.group(0)[: match.group(0).index(b">")]
            ref = (get_attribute(head, "ref") or "").upper()
            author_id = int(get_attribute(head, "authorId") or -1)
            author = authors[author_id] if 0 <= author_id < len(authors) else ""
            ours = author == AUTHOR
            if not ours and self.known:
                said = "".join(html.unescape(t.decode("utf-8")) for t in text.findall(match.group(0)))
                ours = note_fingerprint(said) in self.known
            found.append((match, ref, ours))
        return found

    def refs(self) -> set[str]:
        return {ref for _, ref, _ in self._entries()}

    def ours(self) -> set[str]:
        return {ref for _, ref, ours in self._entries() if ours}

    def fingerprints(self) -> set[str]:
        """The fingerprints of our notes (by author or by a known fingerprint) in the part."""
        p = re.escape(self.prefix)
        text = re.compile(rb"<" + p + rb"t\b[^>]*?(?:/>|>(.*?)</" + p + rb"t>)", re.S)
        return {note_fingerprint("".join(html.unescape(t.decode("utf-8")) for t in text.findall(m.group(0))))
                for m, _, ours in self._entries() if ours}

    def drop(self, refs: set[str]) -> None:
        """Remove our comments on `refs` (one pass: there may be thousands)."""
        kept, position = [], 0
        for match, ref, ours in self._entries():
            if ours and ref in refs:
                kept.append(self.xml[position : match.start()])
                position = match.end()
        self.xml = b"".join(kept) + self.xml[position:]

    def add(self, notes: dict[str, str]) -> None:
        """Add our comments, ref -> text, in one go."""
        if not notes:
            return
        p = self.prefix.decode()
        authors = self.authors()
        if AUTHOR not in authors:
            self.xml = _append_child(self.xml, p, "authors", f"<{p}author>{AUTHOR}</{p}author>")
            authors.append(AUTHOR)
        author_id = authors.index(AUTHOR)
        comments = "".join(
            f'<{p}comment ref="{ref}" authorId="{author_id}" shapeId="0"><{p}text>'
            f'<{p}t xml:space="preserve">{excel_text(text)}</{p}t></{p}text></{p}comment>'
            for ref, text in notes.items()
        )
        self.xml = _append_child(self.xml, p, "commentList", comments)


def _relationship_id(start_tag: bytes) -> str | None:
    found = re.search(rb"""\s[\w.-]+:id\s*=\s*["']([^"']*)["']""", start_tag)
    return found.group(1).decode() if found else None


def _append_child(xml: bytes, prefix: str, parent: str, element: str) -> bytes:
    at = closing_tag_position(xml, prefix, parent)
    if at >= 0:
        return xml[:at] + element.encode("utf-8") + xml[at:]
    empty = re.search(rb"<" + re.escape((prefix + parent).encode()) + rb"\b[^>]*?/>", xml)
    if not empty:
        raise NotPatchable(f"the comments part has no <{parent}>")
    opened = (
        empty.group(0)[:-2].rstrip()
        + b">"
        + element.encode("utf-8")
        + f"</{prefix}{parent}>".encode()
    )
    return xml[: empty.start()] + opened + xml[empty.end() :]


def _with_legacy_drawing(tail: bytes, prefix: str, rel_namespace: str, rel_id: str) -> bytes:
    """Insert `<legacyDrawing>` into the sheet's tail where the schema wants it."""
    element = f'<{prefix}legacyDrawing xmlns:r="{rel_namespace}" r:id="{rel_id}"/>'.encode()
    at = _first_top_level(tail, _AFTER_LEGACY_DRAWING)
    return tail[:at] + element + tail[at:]


def _first_top_level(tail: bytes, names: set[str]) -> int:
    """Offset of the first worksheet child in `names`, else of `</worksheet>`.

    `tail` may start with `</sheetData>`; an `mc:AlternateContent` counts as what it wraps.
    """
    depth, wrapper = 0, None
    skip = tail.index(b">") + 1 if tail.lstrip().startswith(b"</") else 0
    for tag in re.finditer(rb"<(/?)([\w.-]+:)?([\w.-]+)[^>]*?(/?)>", tail[skip:]):
        closing, name, empty = tag.group(1), tag.group(3).decode(), tag.group(4)
        offset = tag.start() + skip
        if closing:
            depth -= 1
            if depth < 0:
                return offset
            continue
        if depth == 0:
            wrapper = offset if name == "AlternateContent" else None
            if name in names:
                return offset
        elif wrapper is not None and name not in ("Choice", "Fallback") and name in names:
            return wrapper
        if not empty:
            depth += 1
    return len(tail)
