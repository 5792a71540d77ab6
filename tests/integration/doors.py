"""The same bad input through every door: the service, the CLI, the workbook and the HTTP API.

A door only parses, calls services and renders, so a refusal must come out of each with the
same problem code and field, and with nothing saved. Each module's cross-door table
(`test_cross_door_*.py`) lists its bad inputs as `Case`s and runs them through `refusals_at`;
a case with an `api` request also goes through the server (a 403 or 422 problem detail, its
`problems` read as the CLI's `--json` is); a case with a `workbook` also goes through the
Excel add-in: the same workbook opened in the headless xlwings engine, typed into through
its ranges and synced with the ribbon's Sync button.

Fields are the module's stored field names (a table's column, e.g. `ends_on`, `quantity`):
the workbook door reports the column key of the marked cell, the CLI and the service the
problem's `field`, so one expected pair holds at every door.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from engine.db.session import Database
from engine.errors import BackofficeError
from engine.security.users import resolve_actor
from engine.sheets.exporting import new_workbook
from engine.sheets.roundtrip import RoundTrip
from engine.sheets.spec import workbook_spec
from tests.integration.conftest import edit_by_label, read_sheet

Found = set[tuple[str, str]]   # {(field, code)}


@dataclass(frozen=True)
class Sheet:
    """The workbook door's input: in `module`'s workbook, type `values` ({label: value}) into
    sheet `sheet`, on a new row (`row=None`) or over a saved row found by `find`."""

    module: str
    sheet: str
    values: dict[str, Any]
    find: tuple[str, Any] | None = None     # (column label, value) of the saved row to edit
    more: tuple[dict[str, Any], ...] = ()   # further new rows typed below it (the lines of one entry)


@dataclass(frozen=True)
class Api:
    """The API door's input: `method` `path` with the JSON `body`, with a token of the case's
    user (and `headers`, e.g. an If-Match for an update)."""

    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One bad input, as each door takes it, and the (field, code) every door must report."""

    name: str
    login: str
    expected: tuple[str, str]
    service: Callable[[Any, Any], Any] | None = None     # (session, actor) -> the service call
    cli: tuple[str, ...] | None = None                   # the arguments after `backoffice`
    workbook: Sheet | None = None
    api: Api | None = None
    doors: tuple[str, ...] = field(default=("service", "cli", "workbook"))

    @property
    def every_door(self) -> tuple[str, ...]:
        doors = self.doors
        if "workbook" in doors and "addin" not in doors:
            doors = (*doors, "addin")
        return (*doors, "api") if self.api is not None and "api" not in doors else doors

    def __str__(self) -> str:
        return self.name


def actor(db: Database, login: str):
    with db.reading() as session:
        return resolve_actor(session, login)


def through_service(db: Database, login: str, call: Callable[[Any, Any], Any]) -> Found:
    who = actor(db, login)
    try:
        with db.unit_of_work(who) as session:
            call(session, who)
    except BackofficeError as refused:
        return {(p.field, p.code) for p in refused.problems}
    raise AssertionError("the service accepted it")


def through_cli(db: Database, login: str, args: tuple[str, ...]) -> Found:
    """The command in-process, with --json: its refusal is printed on stderr with every problem."""
    from engine.cli import app

    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", login])
    assert result.exit_code in (1, 2), f"exit {result.exit_code}: {result.output}"
    assert result.stdout == "", "a refusal prints no result"
    problems = json.loads(result.stderr)["problems"]
    return {(p["field"], p["code"]) for p in problems}


def through_workbook(db: Database, settings, login: str, sheet: Sheet, folder: Path) -> Found:
    """Export the user's workbook, type the input as a person would, sync it."""
    who = actor(db, login)
    path = folder / f"{sheet.module}-{login}.xlsx"
    new_workbook(db, who, sheet.module, path)
    rows = read_sheet(path, sheet.sheet)
    if sheet.find is None:
        row = len(rows) + 1
    else:
        label, value = sheet.find
        index = rows[0].index(label)
        row = next(n for n, r in enumerate(rows[1:], start=2) if r[index] == value)
    edit_by_label(path, sheet.sheet, row, sheet.values)
    for n, values in enumerate(sheet.more, start=1):
        edit_by_label(path, sheet.sheet, row + n, values)
    result = RoundTrip(db, settings, who).sync(path)
    assert result.status == "rejected", result.as_json()
    keys = {c.label: c.key for c in workbook_spec(sheet.module).sheet(sheet.sheet).columns}
    return {(keys.get(p.column, p.column or ""), p.code) for p in result.problems + result.conflicts}


def through_addin(db: Database, login: str, sheet: Sheet, folder: Path) -> Found:
    """Export the user's workbook, open it in the headless xlwings engine, type the input into
    its cells through xlwings ranges as a person would in Excel, press Sync (addin.ribbon)."""
    from addin import ribbon
    from tests.integration.addin_support import acting_in_addin, open_in_excel, type_row

    who = actor(db, login)
    path = folder / f"{sheet.module}-{login}-addin.xlsx"
    new_workbook(db, who, sheet.module, path)
    with open_in_excel(path) as book, acting_in_addin(db, login):
        row = type_row(book.sheets[sheet.sheet], sheet.values, sheet.find)
        for n, values in enumerate(sheet.more, start=1):
            type_row(book.sheets[sheet.sheet], values, row=row + n)
        answer = ribbon.sync()
        assert answer["status"] == "rejected", answer
        assert book.sheets["Issues"].range("A2").value == sheet.sheet, "the Issues sheet lists the problems"
    keys = {c.label: c.key for c in workbook_spec(sheet.module).sheet(sheet.sheet).columns}
    return {(keys.get(p["column"], p["column"] or ""), p["code"]) for p in answer["problems"] + answer["conflicts"]}


def through_api(db: Database, settings, token: str, request: Api) -> Found:
    """The request through the real server in-process: refused as a problem detail (403 for
    a permission, 422 for the rules' problems) with every problem."""
    from fastapi.testclient import TestClient

    from engine.api.app import create_app

    with TestClient(create_app(settings, database=db), raise_server_exceptions=False) as client:
        reply = client.request(request.method, request.path, json=request.body,
                               headers={"Authorization": f"Bearer {token}", **request.headers})
    assert reply.status_code in (403, 404, 409, 422), f"{reply.status_code}: {reply.text}"
    assert reply.headers["content-type"] == "application/problem+json"
    return {(p["field"], p["code"]) for p in reply.json()["problems"]}


def fingerprint(db: Database) -> dict[str, tuple[int, int]]:
    """Every table's row count and total version (the audit log aside: reads may be
    recorded): equal before and after means nothing was saved."""
    from engine.models import Base

    found = {}
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_log":
                continue
            version = sa.func.coalesce(sa.func.sum(table.c.version), 0) if "version" in table.c else sa.literal(0)
            count, total = connection.execute(sa.select(sa.func.count(), version).select_from(table)).one()
            found[table.name] = (count, int(total))
    return found


def refusals_at(case: Case, db: Database, settings, folder: Path) -> dict[str, Found]:
    """What each door of `case` reports; asserts that none of them saved anything."""
    found = {}
    for door in case.every_door:
        if door == "api":      # the token is made first: it is the caller's, not the request's doing
            from tests.integration.api_client import token_for
            token = token_for(db, case.login)
        before = fingerprint(db)
        if door == "api":
            found[door] = through_api(db, settings, token, case.api)
        elif door == "service":
            found[door] = through_service(db, case.login, case.service)
        elif door == "cli":
            found[door] = through_cli(db, case.login, case.cli)
        elif door == "addin":
            found[door] = through_addin(db, case.login, case.workbook, folder)
        else:
            found[door] = through_workbook(db, settings, case.login, case.workbook, folder)
        assert fingerprint(db) == before, f"{case.name}: the {door} saved something"
    return found


def assert_same_at_every_door(case: Case, db: Database, settings, folder: Path) -> None:
    found = refusals_at(case, db, settings, folder)
    for door, problems in found.items():
        assert case.expected in problems, f"{case.name}: the {door} reported {sorted(problems)}, not {case.expected}"
