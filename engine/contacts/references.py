"""What refers to a contact, found from the schema itself: every foreign key to `contacts.id`
in the tables of the modules switched on. A table added later is found without anyone
listing it (the export of a person's data and the erasure both walk it).

Contacts imports no other module: the tables are those the registry's modules declare
(`Registry.modules[...].models`), loaded by their dotted names, as `engine.app.module_tables`
does for the field policies.
"""

from __future__ import annotations

from sqlalchemy import Column, Table

from engine import registry
from engine.db.base import Base

CONTACTS = "contacts"


def switched_on_tables() -> list[Table]:
    """The tables of the modules switched on (each module's models loaded first), in the
    order the schema sorts them (a table after the tables it refers to)."""
    reg = registry.current()
    for module in reg.modules.values():
        if module.models:
            registry.load(module.models)
    off = {m.models for m in reg.off.modules.values() if m.models} if reg.off else set()
    on = {mapper.local_table.name for mapper in Base.registry.mappers
          if mapper.class_.__module__ not in off and mapper.local_table is not None}
    return [t for t in Base.metadata.sorted_tables if t.name in on]


def referring_columns(tables: list[Table], target: str = CONTACTS) -> list[Column]:
    """Every column of `tables` that is a foreign key to `target`.id."""
    return [fk.parent for table in tables for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name)
            if fk.column.table.name == target and fk.column.name == "id"]


def parts_of(tables: list[Table], parent: Table) -> list[Column]:
    """The columns of other tables that make their rows part of a `parent` row: a foreign
    key to it that may not be empty (an invoice's lines, an employee's contracts), as opposed
    to an optional link (a task linked to an invoice, the employee who approved a request)."""
    return [fk.parent for table in tables if table is not parent
            for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name)
            if fk.column.table is parent and fk.column.name == "id" and not fk.parent.nullable]
