"""The hidden `_backoffice` sheet: which workbook this is, for whom, and its base snapshot.

The base snapshot is every exported record's values as they were when the workbook was made
(or last refreshed). Comparing it with the workbook and the database tells, per cell, who
changed what: the three-way merge. It is stored compressed, in chunks under Excel's cell
limit, so a 100,000-row workbook carries it in a few dozen cells, not a million.

Everything on the sheet is signed. The sheet is very hidden, not secret: anyone can unzip the
file and change it, and a forged base would let a stale edit silently overwrite another
person's change, a forged user act for someone else. So the last row holds an HMAC-SHA256,
keyed with the installation's secret (engine/db/installation.py), of every other row as
written: whatever a field is, and whichever field is added later, it is covered without
being named here. A sheet whose signature is missing or wrong is refused. The one unsigned
sheet accepted is the empty layout's (`workbooks/`, made without a database), exactly as
`WorkbookMeta.layout` writes it: it carries no base, no user, no installation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from engine.sheets.base_rows import BaseRows, as_base_rows

if TYPE_CHECKING:
    from engine.db.installation import Seal

META_SHEET = "_backoffice"
LISTS_SHEET = "_lists"
ISSUES_SHEET = "Issues"
MAGIC = "Backoffice workbook"
CHUNK = 32000  # Excel keeps at most 32,767 characters in a cell
SIGNATURE = "signature"
ALTERED = ("its hidden _backoffice sheet was altered outside Backoffice ({why}), so its record of what "
           "you were given cannot be trusted; get a fresh workbook with `backoffice workbook new {module}` "
           "and copy your edits into it, or restore the file from a backup")
ID, VERSION = "ID", "Version"
# A column where the sheet allows deleting: "yes" there deletes the row's record (a row
# itself cannot be deleted while the sheet is protected).
DELETE, DELETE_YES = "Delete", "yes"


@dataclass
class SheetBase:
    """Base snapshot of one sheet: column keys, and per record id its version and values
    (kept compactly, see engine.sheets.base_rows; a dict given is converted)."""

    columns: list[str]
    rows: BaseRows = field(default_factory=BaseRows)

    def __post_init__(self) -> None:
        self.rows = as_base_rows(self.rows)


@dataclass
class WorkbookMeta:
    workbook_id: str
    installation_id: str | None      # None for an empty layout, usable in any installation
    module: str
    spec: str                        # the spec fingerprint it was made from
    user: str | None
    roles: list[str]
    created_at: str
    refreshed_at: str
    base: dict[str, SheetBase] = field(default_factory=dict)
    marks: dict[str, dict[str, int]] = field(default_factory=dict)  # our cell marks (see xlsx_patch)
    notes: dict[str, list[str]] = field(default_factory=dict)  # fingerprints of our notes (xlsx_comments)
    generation: int = 0              # syncs that saved something and were written back (engine.sheets.receipts)
    # The database's side of the conflicts shown at the last rejected sync:
    # sheet -> record id -> column key -> [version, value] (see merge_sheet's `shown`).
    shown: dict[str, dict[str, dict[str, list]]] = field(default_factory=dict)
    # The labels the file was given, lookup -> {label: record id} (see engine.sheets.labels):
    # a label shown here keeps naming its record after the record is renamed.
    labels: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def marked(self) -> bool:
        """Whether the file wears marks or notes of ours from an earlier run."""
        return bool(self.marks or self.notes)

    @classmethod
    def layout(cls, module: str, spec: str) -> WorkbookMeta:
        """The meta of an empty layout: bound to no installation, no user, no base."""
        return cls(workbook_id="layout", installation_id=None, module=module, spec=spec, user=None,
                   roles=[], created_at="", refreshed_at="")

    def to_rows(self, key: bytes | None) -> list[list[str]]:
        """The sheet's rows, all text, signed with `key` (None only for an empty layout)."""
        if key is None and (self.installation_id or self.user or any(b.rows for b in self.base.values())):
            raise ValueError("a workbook bound to an installation is always signed")
        rows = [[_text(value) for value in row] for row in self._rows()]
        return rows if key is None else sign(rows, key)

    def _rows(self) -> list[list[Any]]:
        rows: list[list[Any]] = [
            [MAGIC, "Managed by Backoffice: do not edit this sheet."],
            ["workbook_id", self.workbook_id],
            ["installation_id", self.installation_id or ""],
            ["module", self.module],
            ["spec", self.spec],
            ["user", self.user or ""],
            ["roles", " ".join(self.roles)],
            ["created_at", self.created_at],
            ["refreshed_at", self.refreshed_at],
            ["generation", str(self.generation)],
        ]
        rows += [["base", chunk] for chunk in _pack_base(self.base)]
        rows += [["marks", chunk] for chunk in _pack(self.marks)]
        rows += [["notes", chunk] for chunk in _pack(self.notes)]
        rows += [["shown", chunk] for chunk in _pack(self.shown)]
        rows += [["labels", chunk] for chunk in _pack(self.labels)]
        return rows

    @classmethod
    def from_rows(cls, rows: list[list[Any]], seal: Seal | None, max_snapshot_bytes: int) -> WorkbookMeta:
        """Parse and check the sheet; raises ValueError when it is not ours, foreign or altered.

        `seal` is this installation's id and secret; the snapshot is refused when it would
        unpack to more than `max_snapshot_bytes`. Without a seal (a remote client, which holds
        no secret) the file's origin and signature are not checked: only for counting the
        edits of a local file before replacing it, never for anything sent to a database.
        """
        if not rows or not rows[0] or rows[0][0] != MAGIC:
            raise ValueError("its _backoffice sheet is not one Backoffice wrote")
        texts = [row for row in map(_trimmed, rows) if row]
        signatures = [row for row in texts if row[0] == SIGNATURE]
        signed = [row for row in texts if row[0] != SIGNATURE]
        values: dict[str, str] = {}
        chunks: dict[str, list[str]] = {"base": [], "marks": [], "notes": [], "shown": [], "labels": []}
        for row in signed[1:]:
            if len(row) < 2:
                continue
            key, value = row[0], row[1]
            if key in chunks:
                chunks[key].append(value)
            else:
                values[key] = value
        module = values.get("module") or "MODULE"
        installation = values.get("installation_id") or None
        if seal is not None and installation not in (None, seal.installation_id):
            raise ValueError("made by another Backoffice installation (its workbook id does not belong to "
                             "this database); get a workbook from this one")
        if seal is not None and signatures and (len(signatures) > 1 or len(signatures[0]) != 2 or not hmac.compare_digest(
                signatures[0][1], _signature(signed, seal.key))):
            raise ValueError(ALTERED.format(why="its signature does not match", module=module))
        if seal is not None and not signatures and (installation or values.get("user")):
            raise ValueError(ALTERED.format(why="it carries no signature", module=module))
        base_data = _inflate(chunks["base"], max_snapshot_bytes)
        marks = _unpack(chunks["marks"], max_snapshot_bytes) or {}
        notes = _unpack(chunks["notes"], max_snapshot_bytes) or {}
        shown = _unpack(chunks["shown"], max_snapshot_bytes) or {}
        generation = values.get("generation") or "0"
        if not generation.isdigit():
            raise ValueError(f"its _backoffice sheet is damaged (generation {generation!r} is not a number)")
        labels = _labels(_unpack(chunks["labels"], max_snapshot_bytes))
        try:
            base = _unpack_base(base_data)
            meta = cls(
                workbook_id=values["workbook_id"], installation_id=installation,
                module=values["module"], spec=values["spec"], user=values.get("user") or None,
                roles=values.get("roles", "").split(), created_at=values.get("created_at", ""),
                refreshed_at=values.get("refreshed_at", ""), base=base,
                marks=marks, notes=notes, generation=int(generation), shown=shown, labels=labels,
            )
        except KeyError as missing:
            raise ValueError(f"its _backoffice sheet lacks {missing}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"its base snapshot is damaged ({exc})") from None
        if installation is None and any(b.rows for b in base.values()):
            raise ValueError(ALTERED.format(why="it has a base snapshot but no installation", module=module))
        if not signatures and not meta._is_pristine_layout(signed):
            raise ValueError(ALTERED.format(why="it carries no signature", module=module))
        return meta

    def _is_pristine_layout(self, rows: list[list[str]]) -> bool:
        """Whether this unsigned meta is exactly an empty layout's, as `layout` makes it."""
        pristine = WorkbookMeta.layout(self.module, self.spec)
        pristine.base = {name: SheetBase(list(b.columns)) for name, b in self.base.items()}
        if self != pristine:
            return False
        written = [r for r in map(_trimmed, pristine.to_rows(None)) if r]
        # a layout copied before the snapshot was packed in lines carries it as one JSON object
        first = next((n for n, r in enumerate(written) if r[0] == "base"), len(written))
        older = [*written[:first], *(["base", chunk] for chunk in _pack(
            {name: {"columns": b.columns, "rows": {}} for name, b in pristine.base.items()})),
            *(r for r in written[first:] if r[0] != "base")]
        return rows in (written, older)


def _text(value: Any) -> str:
    """A cell of the sheet as text: what is written is what is signed and read back."""
    return "" if value is None else str(value)


def _trimmed(row: list[Any]) -> list[str]:
    texts = [_text(value) for value in row]
    while texts and texts[-1] == "":
        texts.pop()
    return texts


def sign(rows: list[list[Any]], key: bytes) -> list[list[str]]:
    """The rows of a `_backoffice` sheet, as text, with their signature as the last row."""
    texts = [[_text(value) for value in row] for row in rows if not row or _text(row[0]) != SIGNATURE]
    return [*texts, [SIGNATURE, _signature(texts, key)]]


def _signature(rows: list[list[str]], key: bytes) -> str:
    """HMAC-SHA256 of the rows (each trimmed of empty cells at its end), hex."""
    payload = orjson.dumps([r for r in map(_trimmed, rows) if r])
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _labels(data: Any) -> dict[str, dict[str, int]]:
    """The stored labels, checked to be {lookup: {label: id}} (ValueError otherwise)."""
    if not data:
        return {}
    if not isinstance(data, dict) or not all(
            isinstance(m, dict) and all(isinstance(rid, int) and not isinstance(rid, bool) for rid in m.values())
            for m in data.values()):
        raise ValueError("its labels are damaged")
    return {str(name): {str(label): rid for label, rid in m.items()} for name, m in data.items()}


def _pack(data: Any) -> list[str]:
    if not data:
        return []
    # Level 1: a 100,000-row snapshot compresses in 0.05 s instead of 0.25 s, a little larger.
    # Ids as object keys, (version, values) pairs as arrays: {"7": [3, ["Acme", ...]]}.
    text = base64.b64encode(zlib.compress(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), 1)).decode()
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]


def _pack_base(base: dict[str, SheetBase]) -> list[str]:
    """The base snapshot, packed as it streams: a first line of JSON naming each sheet's
    columns, ids and versions, then one line of JSON per record holding its values, in the
    same order (see engine.sheets.base_rows). Never one Python object for the whole
    snapshot: a million records' values are compressed from the bytes they are kept in."""
    sheets = [(name, b, *b.rows.lines()) for name, b in base.items()]
    if not sheets:
        return []
    squeeze = zlib.compressobj(1)   # level 1: 100,000 records in 0.05 s instead of 0.25 s
    head = [{"sheet": name, "columns": b.columns, "ids": ids, "versions": versions}
            for name, b, ids, versions, _lines in sheets]
    packed = [squeeze.compress(orjson.dumps(head) + b"\n")]
    for *_named, lines in sheets:
        block = bytearray()
        for line in lines:
            block += line
            if len(block) > 1 << 20:
                packed.append(squeeze.compress(block))
                block = bytearray()
        packed.append(squeeze.compress(block))
    packed.append(squeeze.flush())
    text = base64.b64encode(b"".join(packed)).decode()
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]


def _unpack_base(data: bytes | None) -> dict[str, SheetBase]:
    """The base snapshot `_pack_base` packed (or the single JSON object older workbooks
    carry: {sheet: {"columns": [...], "rows": {id: [version, values]}}})."""
    if not data:
        return {}
    if data[:1] == b"{":
        old = orjson.loads(data)
        return {name: SheetBase(d["columns"], {int(k): (int(v), list(vals)) for k, (v, vals) in d["rows"].items()})
                for name, d in old.items()}
    first = data.index(b"\n") + 1
    head = orjson.loads(data[:first])
    if not isinstance(head, list):
        raise ValueError("its base snapshot is damaged")
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8)[first:] == 10) + first + 1
    base, start, done = {}, first, 0
    for sheet in head:
        count = len(sheet["ids"])
        if done + count > len(ends):
            raise ValueError("its base snapshot is damaged (cut short)")
        end = int(ends[done + count - 1]) if count else start
        done += count
        base[str(sheet["sheet"])] = SheetBase(list(sheet["columns"]), BaseRows.from_lines(
            [int(i) for i in sheet["ids"]], [int(v) for v in sheet["versions"]], data[start:end]))
        start = end
    if start != len(data):
        raise ValueError("its base snapshot is damaged (rows of values left over)")
    return base


def _inflate(chunks: list[str], max_bytes: int) -> bytes | None:
    """Decompress, never to more than `max_bytes`: a few kilobytes of zlib can unpack to
    gigabytes, so the output is capped while it is made, not measured afterwards."""
    if not chunks:
        return None
    try:
        inflate = zlib.decompressobj()
        data = inflate.decompress(base64.b64decode("".join(chunks)), max_bytes + 1)
        if len(data) > max_bytes or inflate.unconsumed_tail:
            raise ValueError(f"its base snapshot unpacks to more than {max_bytes:,} bytes (the limit "
                             "workbook.max_snapshot_bytes); it was not made by Backoffice or the workbook is "
                             "too large: split it into smaller workbooks")
        if not inflate.eof:
            raise ValueError("its base snapshot is damaged (cut short)")
        return data
    except zlib.error as exc:
        raise ValueError(f"its base snapshot is damaged ({exc})") from None


def _unpack(chunks: list[str], max_bytes: int) -> Any:
    """The JSON packed by `_pack`, decompressed within `max_bytes` (see `_inflate`)."""
    data = _inflate(chunks, max_bytes)
    try:
        return None if data is None else orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"its base snapshot is damaged ({exc})") from None
