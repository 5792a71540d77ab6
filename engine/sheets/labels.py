"""Records named as people know them: an item by its SKU and name, an account by its code
and name, a contact by its name, instead of a database id.

A column that points at other records (`Column.labels`) shows each one's label; its
drop-down offers the labels, and a label read back is turned into the record's id right
after reading, so everything after (merge, checks, saving, the base snapshot) works on ids
as before. A record without a label among those offered (one the user may not see, an old
one) is shown as "#12", which reads back as record 12.

Typed text is understood as, in this order: a label the file itself was given (so a record
renamed in the database since is not taken for an edit, and the drop-down of an older file
keeps meaning what it meant); "#12"; a label or a key (the SKU alone) of a record today,
whatever the case. Two records with the same label (two contacts named "Acme Ltd") are
offered as "Acme Ltd #12" and "Acme Ltd #15"; "Acme Ltd" alone is refused as ambiguous,
naming both. Resolving is one dictionary look-up per cell.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

_HASH_ID = re.compile(r"^#\s*(\d{1,18})$")


@dataclass(frozen=True, slots=True)
class Choice:
    """One record a drop-down offers: its id, its label, and a key also understood alone."""

    id: int
    label: str
    key: str | None = None


def choices(rows: Iterable[tuple[Any, ...]]) -> list[Choice]:
    """Choices from (id, key, name) rows, labelled "key name" ("1200 Bank", "SKU-1 Bolt"), or
    from (id, name) rows, labelled by the name alone (a contact)."""
    made = []
    for row in rows:
        if len(row) == 2:
            made.append(Choice(row[0], str(row[1] or f"#{row[0]}")))
        else:
            rid, key, name = row
            label = " ".join(str(part) for part in (key, name) if part not in (None, ""))
            made.append(Choice(rid, label or f"#{rid}", str(key) if key not in (None, "") else None))
    return made


def labelled(query: Callable[[], Any]) -> Callable[[Session], list[Choice]]:
    """A lookup offering the records `query()` selects as (id, key, name) or (id, name).

    The rows are read on the session's connection, as they come (a million contacts: no
    million ORM rows at once, half a second less), after the flush the session would make."""
    def lookup(session: Session) -> list[Choice]:
        if session.autoflush:
            session.flush()
        runs = session.connection().execute(query()).partitions(10_000)
        return choices(row for run in runs for row in run)
    return lookup


class LabelError(ValueError):
    """A typed label that names no record, or more than one: the message says what to pick."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class Labels:
    """One lookup's records, both ways: id -> label shown, and typed text -> id.

    Only the labels shown are kept, and the few things `loose` needs besides them (keys, and
    the plain labels of records whose label another one shares): a sync of a million
    contacts holds their labels while it writes the workbook back, and a Choice a record,
    or a second dict of what the caller gave, was a hundred MB more."""

    def __init__(self, offered: Iterable[Choice] = (), shown: Mapping[str, int] | None = None):
        offered = offered if isinstance(offered, list) else list(offered)
        # what the file was given: the caller's own dict (never changed here), not a copy
        self._given: Mapping[str, int] = shown if shown is not None else {}
        labels = [c.label for c in offered]
        if _unique_casefolded(labels):     # every label names one record (the usual case)
            self.label_of: dict[int, str] = dict(zip((c.id for c in offered), labels, strict=True))
            self._plain: dict[int, str] = {}
        else:
            folded = list(map(str.casefold, labels))
            counts = Counter(folded)
            self.label_of = {c.id: label if counts[key] == 1 else f"{label} #{c.id}"
                             for c, label, key in zip(offered, labels, folded, strict=True)}
            self._plain = {c.id: c.label for c, key in zip(offered, folded, strict=True) if counts[key] > 1}
        self._keys: dict[int, str] = {c.id: c.key for c in offered if c.key}

    @property
    def loaded(self) -> bool:
        """Whether the records offered are read (see LaterLabels: those of Labels always are)."""
        return True

    def load(self) -> Labels:
        """These labels, their records read (see LaterLabels)."""
        return self

    # What typed text is read as is only worked out when a text is read: a workbook export
    # shows a million contacts' labels and reads none (a set per name took it gigabytes).
    @functools.cached_property
    def exact(self) -> dict[str, int]:
        """Exact text first: what the file was given, then the labels of today."""
        exact = self.shown()
        exact.update(self._given)
        return exact

    @functools.cached_property
    def loose(self) -> dict[str, set[int]]:
        """Casefolded label, label as shown or key -> the records it names."""
        loose: dict[str, set[int]] = {}
        for rid, shown in self.label_of.items():
            for name in (self._plain.get(rid), shown, self._keys.get(rid)):
                if name:
                    loose.setdefault(name.casefold(), set()).add(rid)
        for label, rid in self._given.items():
            loose.setdefault(label.casefold(), set()).add(rid)
        return loose

    def shown(self) -> dict[str, int]:
        """label shown -> record id, of the records offered (what WorkbookMeta.labels keeps)."""
        return dict(zip(self.label_of.values(), self.label_of.keys(), strict=True))

    def show(self, rid: Any) -> Any:
        """The label of record `rid` ("#12" when it has none here); None stays None."""
        if rid is None or rid.__class__ is str:
            return rid
        return self.label_of.get(rid) or f"#{rid}"

    def resolve(self, text: str, what: str) -> int:
        """The id `text` names, or LabelError saying what to pick (`what`: the column)."""
        found = self.exact.get(text)
        if found is not None:
            return found
        if m := _HASH_ID.match(text):
            return int(m[1])
        ids = self.loose.get(text.casefold())
        if ids is not None and len(ids) == 1:
            return next(iter(ids))
        if ids:
            named = " or ".join(repr(self.label_of.get(rid, f"#{rid}")) for rid in sorted(ids))
            raise LabelError("ambiguous", f"{text!r} names {len(ids)} records: choose {named} from the "
                                          f"drop-down of {what}")
        raise LabelError("reference", f"no {what} is called {text!r}: pick one from the drop-down of {what} "
                                      "(or type #ID, the record's ID after #)")


class LaterLabels(Labels):
    """Labels whose records are read only when first used (shown, resolved or listed).

    A sync writes back every sheet of its workbook, an empty one too, and a sheet's Labels
    were read whatever it showed: the Contact column of an empty Addresses sheet read the
    label of every contact (a million of them: about 3 s and 200 MB at the end of a sync, and
    as long again when the next sync read the file). `load` must still be called while the
    session `offered` reads from is open."""

    def __init__(self, offered: Callable[[], Iterable[Choice]], shown: Mapping[str, int] | None = None):
        self._offered, self._shown_given = offered, shown   # (Labels' own attributes: not set yet)

    @property
    def loaded(self) -> bool:
        return "label_of" in self.__dict__

    def load(self) -> Labels:
        if not self.loaded:
            Labels.__init__(self, self._offered(), self._shown_given)
        return self

    def __getattr__(self, name: str) -> Any:
        """Only for an attribute not set yet: Labels' own, set by reading the records."""
        if name in _LABELS_STATE and not self.loaded:
            return getattr(self.load(), name)
        raise AttributeError(name)


_LABELS_STATE = frozenset({"label_of", "_plain", "_keys", "_given"})


def _unique_casefolded(labels: list[str]) -> bool:
    """Whether no two labels are the same but for case, told from their hashes (an array of
    numbers, not a set of a million new strings); equal hashes are rare, and then the
    labels are compared for real."""
    hashes = np.sort(np.fromiter(map(hash, map(str.casefold, labels)), dtype=np.int64, count=len(labels)))
    # (sorted and compared with their neighbours: np.unique took 0.8 s for a million hashes
    # against 0.05 s for this, and grew faster than the labels, 28x for 10x)
    if not (hashes[1:] == hashes[:-1]).any():
        return True
    return len(set(map(str.casefold, labels))) == len(labels)


def labels_shown(lookups: Mapping[str, list[Any]]) -> dict[str, dict[str, int]]:
    """lookup -> {label: id} of the drop-down lists written into a file (see WorkbookMeta.labels)."""
    return {name: Labels(values).shown() for name, values in lookups.items() if values and isinstance(values[0], Choice)}


def as_ids(values: list[Any]) -> list[Any]:
    """A lookup's values as a reference check takes them: the ids of Choices, others as they are."""
    return [v.id if isinstance(v, Choice) else v for v in values]


def as_shown(values: list[Any]) -> list[Any]:
    """A lookup's values as a drop-down lists them: the labels of Choices, others as they are."""
    if values and isinstance(values[0], Choice):
        label_of = Labels(values).label_of
        return [label_of[v.id] for v in values]
    return values
