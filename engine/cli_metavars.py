"""Meaningful placeholders in `--help`: `--date YYYY-MM-DD`, `--user LOGIN`, `--supplier ID`.

typer shows an option or argument declared without a metavar by its Python type (`<str>`,
`<int>`, `<path>`), which tells a user nothing. A command may name its placeholder itself
(`typer.Option(metavar="SKU")`); every one it leaves unnamed is named here, once, when the
root loads its group (see `engine.cli.load_group`), from the parameter's name and type. A
flag takes no value and gets no placeholder.
"""

from __future__ import annotations

from typing import Any

DATE = "YYYY-MM-DD"
# By the parameter's (Python) name: what a user types there.
BY_NAME = {
    "user": "LOGIN", "login": "LOGIN",
    "email": "EMAIL", "work_email": "EMAIL",
    "date": DATE, "on": DATE, "as_of": DATE, "since": DATE, "expires": DATE, "start": DATE, "last_day": DATE,
    "date_of_birth": DATE,
    "country": "CC", "currency": "CUR",
    "year": "YYYY", "limit": "N", "days": "N", "terms": "DAYS",
    "unit_cost": "COST", "amount": "AMOUNT", "salary": "AMOUNT", "hours": "HOURS",
    "lot": "LOT", "bank": "CODE", "table": "TABLE", "record": "ID",
    "organisation": "ID", "supplier": "ID", "customer": "ID", "contact_id": "ID", "invoice_id": "ID",
    "kind": "KIND", "tags": "TAGS", "tag": "TAG", "search": "TEXT", "via": "TRANSPORT",
    "name": "NAME", "first_name": "NAME", "last_name": "NAME",
    "job_title": "TEXT", "reference": "TEXT", "memo": "TEXT", "reason": "TEXT", "medical_reason": "TEXT",
    "cost_centre": "TEXT", "line1": "TEXT",
    "folder": "DIR", "out": "FILE", "out_path": "FILE", "path": "FILE", "paths": "FILE",
}


def placeholder(param: Any) -> str:
    """The placeholder of one parameter that names none: by its name, else by its type, else
    its own name in capitals (`--national-id` -> NATIONAL_ID)."""
    name = param.name or ""
    if name in BY_NAME:
        return BY_NAME[name]
    kind = getattr(param.type, "name", "")
    if kind == "path":
        return "FILE"
    if kind in ("integer", "int", "int range") and name.endswith("_id"):
        return "ID"
    return name.upper()


def name_placeholders(command: Any) -> None:
    """Give every value-taking option and argument of `command` (and of its subcommands) a
    placeholder; flags keep none. Help is plain text, as the root's: typer's rich help shows
    an argument's Python type (`SKU <str>`) whatever its placeholder."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        name_placeholders(sub)
    for param in getattr(command, "params", []):
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        choices = getattr(param.type, "choices", None)    # the values themselves: `issued|sold|consumed`
        param.metavar = "|".join(map(str, choices)) if choices else placeholder(param)
        param.metavar += "..." if param.nargs != 1 else ""

