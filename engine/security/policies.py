"""Field policies, declared once in `config/policies.toml`: which fields are sensitive, the
class of data each holds (a role sees a field only if its `sees` in roles.toml lists that
class), and which are read only under audit.

Every door asks here: a workbook leaves the column out, a sync refuses a write to it, the
command line and reports drop it, the audit log never stores its values (only that it
changed, so no copy outlives a purge), and a read of an audited field writes an audit row
naming the reader.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from engine.config import config_dir
from engine.errors import BackofficeError
from engine.security.roles import Actor

HIDDEN = "(hidden)"   # what the audit log holds instead of a sensitive value


@dataclass(frozen=True)
class FieldPolicy:
    sensitivity: str
    audit_reads: bool = False


@dataclass(frozen=True)
class Policies:
    by_table: Mapping[str, Mapping[str, FieldPolicy]]   # table -> column -> policy

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
    _check_fields_exist(path, [(table, column) for table, columns in fields.items() for column in columns])
    return Policies(fields)


def _check_fields_exist(path: Path, fields: Iterable[tuple[str, str]]) -> None:
    """A misspelt field would protect nothing: refuse it by name."""
    # (imported here: the schema's modules import this one)
    from engine.models import Base

    for table, column in fields:
        known = Base.metadata.tables.get(table)
        if known is None or column not in known.c:
            raise BackofficeError(f"{path}: there is no field {table}.{column}; check the spelling "
                                  "(tables and columns as in the database)")


def read_audited(session, table: str, values_by_id: dict[int, dict[str, Any]]) -> None:
    """Write an audit row for every audited field about to be handed out (a medical reason
    shown, exported or printed), naming the reader (the session's acting user); the value
    itself is not logged. `values_by_id`: record id -> the values handed out."""
    from engine.db.audit import write_audit

    policies = load_policies()
    rows = [{"table_name": table, "record_id": rid, "action": "read",
             "changes": {"fields_read": sorted(column for column, value in values.items()
                                               if value is not None and policies.audited(table, column))}}
            for rid, values in values_by_id.items()]
    write_audit(session.connection(), session.info["audit"], [row for row in rows if row["changes"]["fields_read"]])
