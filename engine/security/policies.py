"""Field policies, declared once in `config/policies.toml`: which fields are sensitive, the
class of data each holds (a role sees a field only if its `sees` in roles.toml lists that
class), and which are read only under audit.

This module is the declaration only (no database): what the policy says, and which policy
is in force (`active_policies`, injected once with `use_policies`). Applying it to records
is the policy gate's job (`engine.security.gate`), the one place every door goes through:
a workbook leaves the column out, a sync refuses a write to it, the command line and
reports drop it, the audit log never stores its values (only that it changed, so no copy
outlives a purge), and a read of an audited field writes an audit row naming the reader.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import BackofficeError
from engine.paths import config_dir
from engine.security.roles import Actor

HIDDEN = "(hidden)"   # what the audit log holds instead of a sensitive value


@dataclass(frozen=True)
class FieldPolicy:
    sensitivity: str
    audit_reads: bool = False


@dataclass(frozen=True)
class Policies:
    by_table: Mapping[str, Mapping[str, FieldPolicy]]   # table -> column -> policy
    source: str = field(default="config/policies.toml", compare=False)

    def sensitivity(self, table: str, column: str) -> str | None:
        policy = self.by_table.get(table, {}).get(column)
        return policy.sensitivity if policy else None

    def audited(self, table: str, column: str) -> bool:
        policy = self.by_table.get(table, {}).get(column)
        return bool(policy and policy.audit_reads)

    def hidden_from(self, actor: Actor, table: str) -> frozenset[str]:
        """The columns of `table` that `actor` may not see."""
        return frozenset(column for column, p in self.by_table.get(table, {}).items() if not actor.sees(p.sensitivity))

    def redact(self, actor: Actor, table: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` without the fields `actor` may not see (absent, not blanked)."""
        hidden = self.hidden_from(actor, table)
        return {k: v for k, v in values.items() if k not in hidden}

    def hide_values(self, table: str, changes: dict[str, Any]) -> dict[str, Any]:
        """An audit row's changes ({field: (old, new)}) with sensitive values replaced by
        HIDDEN: that a value was set, changed or cleared stays visible, the value does not."""
        sensitive = self.by_table.get(table)
        if not sensitive or not sensitive.keys() & changes.keys():
            return changes
        return {field: ([None if v is None else HIDDEN for v in change] if field in sensitive else change)
                for field, change in changes.items()}


@cache
def load_policies(path: Path | None = None) -> Policies:
    """The policy file as declared (read once per path). Doors and modules never call this:
    they ask `active_policies()`, which the composition root (or a test) may replace."""
    path = path or config_dir() / "policies.toml"
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    fields: dict[str, dict[str, FieldPolicy]] = {}
    for table, columns in data.items():
        if not isinstance(columns, dict):
            raise BackofficeError(f"{path}: {table!r} must be a table of fields, like [{table}] salary = \"hr\"")
        for column, spec in columns.items():
            if isinstance(spec, str):
                spec = {"class": spec}
            if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
                raise BackofficeError(f"{path}: {table}.{column} needs a class, e.g. {column} = \"hr\" "
                                      f"or {column} = {{ class = \"hr\", audit_reads = true }}")
            unknown = set(spec) - {"class", "audit_reads"}
            if unknown:
                raise BackofficeError(f"{path}: {table}.{column} has unknown keys {sorted(unknown)}; "
                                      "use class and audit_reads")
            fields.setdefault(table, {})[column] = FieldPolicy(spec["class"], bool(spec.get("audit_reads", False)))
    return Policies(fields, source=str(path))


def check_fields_exist(policies: Policies, tables: Mapping[str, Iterable[str]]) -> None:
    """A misspelt field would protect nothing: refuse it by name. `tables`: table -> its
    columns, for the tables of the modules switched on (a policy on a table of a module that
    is off protects nothing and harms nothing: it is skipped)."""
    for table, columns in policies.by_table.items():
        known = tables.get(table)
        if known is None:
            continue
        for column in columns:
            if column not in known:
                raise BackofficeError(f"{policies.source}: there is no field {table}.{column}; check the "
                                      "spelling (tables and columns as in the database)")


_active: list[Policies] = []


def active_policies() -> Policies:
    """The field policies in force: the one injected by `use_policies` (the composition
    root, or a test), else the shipped config/policies.toml."""
    return _active[-1] if _active else load_policies()


@contextmanager
def use_policies(policies: Policies) -> Iterator[Policies]:
    """Put `policies` in force for every door until the block ends (one place to inject)."""
    _active.append(policies)
    try:
        yield policies
    finally:
        _active.remove(policies)
