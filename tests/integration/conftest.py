"""Fixtures for the workbook round trip: a small contacts database, a warehouse with stock, and
workbook helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import python_calamine

from engine.contacts import services
from engine.db.session import Database
from engine.inventory.models import Item, Location
from engine.inventory.services import Movement, post_movement
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from engine.sheets import roundtrip
from tests.conftest import actor_with, shared_database


@pytest.fixture
def stock(db):
    """A warehouse with 5 bolts in stock; users wes (warehouse) and sam (sales)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        add_user(session, SYSTEM, "wes", "Wes", ["warehouse"], None)
        add_user(session, SYSTEM, "sam", "Sam", ["sales"], None)
        main = Location(code="MAIN", name="Main warehouse", kind="warehouse")
        bolt = Item(sku="BOLT-8", name="Bolt M8", valuation="average", reorder_point=D(10), reorder_quantity=D(100))
        session.add_all([main, bolt])
        session.flush()
        post_movement(session, SYSTEM, Movement("receipt", "received", bolt.id, D(5), date(2026, 3, 1),
                                                to_location_id=main.id, unit_cost=D("0.20")))
        ids = {"bolt": bolt.id, "main": main.id}
    return ids


@pytest.fixture
def people_db(db):
    """Three organisations, two people, two addresses; users for several roles."""
    return fill_people(db)


def fill_people(db):
    """`people_db`'s records and users, put into `db` (a database made the same way)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, roles in (("ada", ["admin"]), ("sam", ["sales"]), ("stef", ["staff"]), ("wes", ["warehouse"])):
            add_user(session, SYSTEM, login, login.title(), roles, None)
        acme, _ = services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Acme Ltd", "country": "GB",
                                                         "email": "info@acme.example"},
                                       [{"kind": "billing", "line1": "1 High St", "city": "Leeds", "postcode": "LS1 4AP",
                                         "country": "GB"}])
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Bolt GmbH", "country": "DE"})
        services.add_contact(session, SYSTEM, {"kind": "organisation", "name": "=HYPERLINK(\"http://x\")", "country": "FR"})
        services.add_contact(session, SYSTEM, {"kind": "person", "first_name": "Jo", "last_name": "Smith",
                                               "organisation_id": acme.id, "country": "GB"},
                             [{"kind": "shipping", "line1": "2 Low St", "city": "York", "country": "GB"}])
        services.add_contact(session, SYSTEM, {"kind": "person", "first_name": "Kim", "last_name": "Lee", "country": "DE"})
    return db


@contextmanager
def second_database(database_url: str, pg_admin_engine, folder: Path) -> Iterator[Database]:
    """Another empty database of the same kind as `database_url` (a SQLite file in `folder`,
    or a PostgreSQL schema of its own), made as `db` is; disposed and dropped afterwards."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with shared_database(kind, folder, pg_admin_engine, file="twin.db") as database:
        yield database


@pytest.fixture
def api(people_db, settings):
    """The HTTP API over `people_db` (tests/integration/api_client.py)."""
    from tests.integration.api_client import serving

    yield from serving(people_db, settings)


@pytest.fixture
def server(people_db, settings) -> Iterator[str]:
    """`backoffice serve`'s application over `people_db`, on a free loopback port; stopped
    (its thread joined) at the end of the test (tests/integration/test_remote_*.py)."""
    import socket
    import threading
    import time

    import uvicorn

    from engine.api.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings, database=people_db), log_level="warning", access_log=False,
                            lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(30)
        sock.close()
        assert not thread.is_alive()


@pytest.fixture(params=["headless", pytest.param("excel", marks=pytest.mark.excel)])
def excel_engine(request) -> str:
    """The xlwings engine the add-in's tests run on: our headless one, and Excel itself where
    there is one (Windows, macOS: README, "Testing the add-in in Excel")."""
    if request.param == "excel":
        from tests.integration.addin_support import (
            real_excel,  # here: xlwings, for the add-in's tests only
        )

        if not real_excel():
            pytest.skip("needs Microsoft Excel (Windows or macOS)")
    return request.param


@pytest.fixture
def actor_for(people_db):
    def get(login: str):
        with people_db.reading() as session:
            return resolve_actor(session, login)
    return get


def read_sheet(path: Path, sheet: str) -> list[list[Any]]:
    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def read_meta(path: Path, db) -> Any:
    """The workbook's _backoffice sheet, checked (signature and all) as the round trip checks it."""
    from engine.config import WorkbookLimits
    from engine.db.installation import seal
    from engine.sheets.meta import META_SHEET, WorkbookMeta

    with db.reading() as session:
        ours = seal(session)
    return WorkbookMeta.from_rows(read_sheet(path, META_SHEET), ours, WorkbookLimits().max_snapshot_bytes)


def find_row(path: Path, sheet: str, column: str, value: Any) -> int:
    """Excel row number of the first row whose `column` (header label) holds `value`."""
    rows = read_sheet(path, sheet)
    index = rows[0].index(column)
    for n, row in enumerate(rows[1:], start=2):
        if row[index] == value:
            return n
    raise AssertionError(f"{value!r} not found in {sheet}.{column}")


def column_letter(path: Path, sheet: str, label: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(read_sheet(path, sheet)[0].index(label) + 1)


def edit(path: Path, sheet: str, cells: dict[str, Any]) -> None:
    """Edit cells as a person would in Excel (openpyxl load, change, save)."""
    book = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        book[sheet][ref] = value
    book.save(path)


def edit_by_label(path: Path, sheet: str, row: int, values: dict[str, Any]) -> None:
    edit(path, sheet, {f"{column_letter(path, sheet, label)}{row}": v for label, v in values.items()})


# -- the books: the default chart and 2026's periods, kept by accountant alex ------------------

ACCOUNTANT = actor_with("accountant", login="alex")


@pytest.fixture
def books(db):
    from engine.ledger.chart import install_chart
    from engine.ledger.services import open_year

    with db.unit_of_work(ACCOUNTANT) as session:
        install_chart(session, ACCOUNTANT)
        open_year(session, ACCOUNTANT, 2026)
    return db


def post_lines(db, on, *lines, memo=""):
    """Post one journal entry as the accountant; returns its id."""
    from engine.ledger.services import post_entry

    with db.unit_of_work(ACCOUNTANT) as session:
        return post_entry(session, ACCOUNTANT, on, list(lines), memo=memo).id


def problems_of(result) -> list[tuple[str, str | None, str]]:
    """A round-trip result's problems and conflicts as (code, cell, message), in order."""
    return [(i.code, i.cell, i.message) for i in result.problems + result.conflicts]


def rehearsed(trip, path: Path) -> list[tuple[str, str | None, str]]:
    """What `validate` and `sync --dry-run` report for a workbook, checked to be the same,
    and the file left as it was: both rehearse the whole sync and roll it back."""
    before = path.read_bytes()
    validated = trip.validate(path, annotate_file=False)
    dry = trip.sync(path, dry_run=True)
    assert problems_of(validated) == problems_of(dry), (validated.as_json(), dry.as_json())
    assert (validated.status == "invalid") == (dry.status == "rejected") == bool(problems_of(dry))
    assert path.read_bytes() == before
    return problems_of(dry)


def refuse_to_replace(monkeypatch):
    """The synced file cannot replace the workbook (open in Excel on Windows, read-only)."""
    def locked(temp, target):
        raise PermissionError(13, "Permission denied", str(target))
    monkeypatch.setattr(roundtrip, "_replace_keeping_mode", locked)
