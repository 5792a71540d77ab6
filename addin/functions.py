"""The live worksheet functions: `=BO_ONHAND(sku, [location])`, `=BO_VALUE(sku, [as_of])`,
`=BO_BALANCE(account, [as_of])`, `=BO_CONTACT(id, field)`, `=BO_OWING(contact, [as_of])`.

Each answers as the person using the add-in (addin.connection): locally from the modules'
queries, remotely from the server's routes, so the role checks and the field policy are the
modules' and the gate's, never this file's. A refusal is an error value in the cell, a text
Excel shows as it is ("#BO! not allowed: phone"), never the value.

One recalculation of a sheet of 10,000 such formulas must not be 10,000 round trips: each
function looks its answer up in a whole table read once (every item's stock, every account's
balance on a day, every contact) and kept for the recalculation (`Answers`). The tables are
read again after a short idle time (a recalculation is a burst of calls), after a longest
age, and whenever the ribbon syncs or refreshes (`forget()`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import xlwings as xw

from addin.connection import Connection, addin_settings_file, connect
from engine.contacts import queries as contacts
from engine.errors import BackofficeError
from engine.inventory import queries as inventory
from engine.ledger import queries as ledger

IDLE_SECONDS = 2.0        # no call for this long: the recalculation is over, read afresh next time
LONGEST_SECONDS = 30.0    # never answer from a table older than this, however busy the sheet
ERROR = "#BO!"
EXCEL_EPOCH = date(1899, 12, 30)   # day 0 of Excel's 1900 date system (serial 1 = 1900-01-01)


class Answers:
    """Whole tables by what their query depends on (("stock",), ("balances", day), ...),
    each read once per recalculation; a refusal is kept too, so 10,000 forbidden cells are
    one refusal. Safe to share between threads (Excel may call from more than one)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._tables: dict[tuple[Any, ...], tuple[Any, BackofficeError | None]] = {}
        self._lock = threading.RLock()
        self._first = self._last = -1e18
        self.reads = 0           # how many tables were read (what a benchmark counts)

    def get(self, key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
        with self._lock:
            now = self.clock()
            if now - self._last > IDLE_SECONDS or now - self._first > LONGEST_SECONDS:
                self._tables.clear()
                self._first = now
            self._last = now
            if key not in self._tables:
                self.reads += 1
                try:
                    self._tables[key] = (read(), None)
                except BackofficeError as refused:
                    self._tables[key] = (None, refused)
            table, refused = self._tables[key]
        if refused is not None:
            raise refused
        return table

    def forget(self) -> None:
        with self._lock:
            self._tables.clear()
            self._first = self._last = -1e18


class Local:
    """The tables from the modules' queries, as the connection's acting user."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def _ask(self, query: Callable[..., Any], *args: Any) -> Any:
        with self.connection.unit_of_work() as session:
            return query(session, self.connection.actor, *args)

    def stock(self) -> inventory.StockLevels:
        return self._ask(inventory.stock_levels)

    def stock_values(self, as_of: date) -> dict[str, Decimal]:
        return {v.sku: v.value for v in self._ask(inventory.stock_value, as_of)}

    def balances(self, as_of: date) -> ledger.AccountBalances:
        return self._ask(ledger.account_balances, as_of)

    def owing(self, as_of: date) -> dict[int, Decimal]:
        return self._ask(ledger.amounts_owing, as_of)

    def directory(self) -> contacts.Directory:
        return self._ask(contacts.directory)


class Remote:
    """The same tables from the server's routes (the server's gate has applied the caller's
    role): a few requests per table, whatever the number of cells."""

    PAGE = {"limit": 100_000}      # the server gives at most its largest page; `rows` follows the rest

    def __init__(self, connection: Connection):
        assert connection.server is not None
        self.server = connection.server

    def stock(self) -> inventory.StockLevels:
        return inventory.StockLevels.build(
            (item["sku"] for item in self.server.rows("/inventory/items", self.PAGE)),
            ((place["code"], place["warehouse"]) for place in self.server.rows("/inventory/locations", self.PAGE)),
            ((h["sku"], h["location"], h["quantity"]) for h in self.server.get("/inventory/on-hand")["items"]))

    def stock_values(self, as_of: date) -> dict[str, Decimal]:
        report = self.server.get("/inventory/valuation", {"as_of": as_of.isoformat()})
        return {v["sku"]: Decimal(v["value"]) for v in report["items"]}

    def balances(self, as_of: date) -> ledger.AccountBalances:
        chart = self.server.rows("/ledger/accounts", self.PAGE)
        trial = self.server.get("/ledger/trial-balance", {"as_of": as_of.isoformat()})
        return ledger.AccountBalances.build(((a["code"], a["parent"]) for a in chart),
                                            ((r["code"], r["debit"], r["credit"]) for r in trial["rows"]))

    def owing(self, as_of: date) -> dict[int, Decimal]:
        rows = self.server.get("/ledger/aging", {"as_of": as_of.isoformat()})["rows"]
        return {r["contact_id"]: Decimal(r["total"]) for r in rows}

    def directory(self) -> contacts.Directory:
        return contacts.Directory({c["id"]: c for c in self.server.rows("/contacts", self.PAGE)})


class Functions:
    """The state behind the worksheet functions: the connection (made on first use) and the
    tables of the current recalculation."""

    def __init__(self, make: Callable[[], Connection] = connect, clock: Callable[[], float] = time.monotonic):
        self.make = make
        self.answers = Answers(clock)
        self.connection: Connection | None = None
        self._lock = threading.Lock()

    def source(self) -> Local | Remote:
        with self._lock:
            if self.connection is None:
                self.connection = self.make()
            return Remote(self.connection) if self.connection.remote else Local(self.connection)

    def table(self, key: tuple[Any, ...], read: Callable[[Local | Remote], Any]) -> Any:
        # The connection is made inside the cached read, so 10,000 cells that cannot connect
        # try once per recalculation, not 10,000 times.
        return self.answers.get(key, lambda: read(self.source()))

    def use(self, connection: Connection | None) -> None:
        """Answer through `connection` from now on (the ribbon's, after Settings); None: make
        one again from the settings on the next call. The tables read so far are forgotten."""
        with self._lock:
            previous, self.connection = self.connection, connection
        if previous is not None and previous is not connection:
            previous.close()
        self.answers.forget()

    def close(self) -> None:
        self.use(None)


state = Functions()


def forget() -> None:
    """Read every table afresh on the next call: the ribbon calls it after a sync or refresh,
    so the cells show what was just saved."""
    state.answers.forget()


def use(connection: Connection | None) -> None:
    """The connection the functions answer through (see `Functions.use`)."""
    state.use(connection)


# -- arguments as Excel gives them ----------------------------------------------------------

class BadArgument(BackofficeError):
    code = "invalid"

    def __init__(self, message: str, field: str):
        self.field = field
        super().__init__(message)


def _text(value: Any, name: str, required: bool = True) -> str | None:
    """A code or name typed in a cell: Excel hands a number as a double (SKU 1001 as 1001.0)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadArgument(f"{name} is empty", name)
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _day(value: Any) -> date:
    """`as_of`: empty for today, an Excel date (xlwings gives a datetime; a bare serial number
    also works), or ISO text YYYY-MM-DD."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2_958_466:
        return EXCEL_EPOCH + timedelta(days=int(value))
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise BadArgument(f"as_of {value!r} is not a date: give a date cell or YYYY-MM-DD text", "as_of") from None


def _contact(value: Any) -> int | str:
    """A contact by id (a number) or by its exact name (text)."""
    text = _text(value, "contact")
    return int(text) if text.isdigit() else text


def _number(amount: Decimal) -> float:
    # Money and quantities are exact Decimals up to here; an Excel cell holds a double, so
    # the value is handed over as the nearest one (exact for up to 15 significant digits).
    return float(amount)


def _cell(value: Any) -> Any:
    """A contact's field as a cell takes it: text, number, true/false, or empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _error(refused: BackofficeError, area: str, asked: dict[str, Any]) -> str:
    """A refusal as the cell shows it: `#BO! not allowed: phone`, `#BO! not found: sku X`."""
    problem = refused.problems[0]
    field = problem.field
    if problem.code == "permission":
        what = f"{ERROR} not allowed: {field or area}"
    elif problem.code == "not_found":
        shown = asked.get(field)
        what = f"{ERROR} not found: {field or 'record'}" + (f" {shown}" if shown not in (None, "") else "")
    elif problem.code == "unauthenticated":
        what = (f"{ERROR} token refused: the server does not accept the token in your settings file "
                f"{addin_settings_file()}; ask an administrator for a new one")
    elif problem.code == "invalid" and isinstance(refused, BadArgument):
        what = f"{ERROR} invalid: {refused}"
    else:
        what = f"{ERROR} {problem.code.replace('_', ' ')}: {refused}"
    return what[:250]


def _answer(area: str, asked: dict[str, Any], compute: Callable[[], Any]) -> Any:
    try:
        return compute()
    except BackofficeError as refused:
        return _error(refused, area, asked)


# -- the functions ------------------------------------------------------------------------------

@xw.func(category="Backoffice")
@xw.arg("sku", doc="The item's SKU, e.g. \"BOLT-8\".")
@xw.arg("location", doc="Optional: a location code; a warehouse includes its bins. Empty: all locations.")
def BO_ONHAND(sku, location=None):
    """Quantity of an item on hand now (all lots), in all locations or in one."""
    def compute() -> float:
        item, place = _text(sku, "sku"), _text(location, "location", required=False)
        levels = state.table(("stock",), lambda source: source.stock())
        return _number(levels.on_hand(item, place))

    return _answer("inventory", {"sku": sku, "location": location}, compute)


@xw.func(category="Backoffice")
@xw.arg("sku", doc="The item's SKU, e.g. \"BOLT-8\".")
@xw.arg("as_of", doc="Optional: the day (a date, or YYYY-MM-DD text); its movements included. Empty: today.")
def BO_VALUE(sku, as_of=None):
    """What an item's stock was worth at the end of a day (FIFO or moving average, as the item is valued)."""
    def compute() -> float:
        item, day = _text(sku, "sku"), _day(as_of)
        levels = state.table(("stock",), lambda source: source.stock())
        values = state.table(("values", day), lambda source: source.stock_values(day))
        return _number(levels.value(item, values))

    return _answer("inventory", {"sku": sku, "as_of": as_of}, compute)


@xw.func(category="Backoffice")
@xw.arg("account", doc="The account's code, e.g. \"1100\"; a heading account sums its sub-accounts.")
@xw.arg("as_of", doc="Optional: the day (a date, or YYYY-MM-DD text); its postings included. Empty: today.")
def BO_BALANCE(account, as_of=None):
    """An account's balance at the end of a day: debits minus credits (a credit balance is negative)."""
    def compute() -> float:
        code, day = _text(account, "account"), _day(as_of)
        return _number(state.table(("balances", day), lambda source: source.balances(day)).balance(code))

    return _answer("ledger", {"account": account, "as_of": as_of}, compute)


@xw.func(category="Backoffice")
@xw.arg("id", doc="The contact's id (a number), or its exact name.")
@xw.arg("field", doc="The field, e.g. \"email\", \"phone\", \"country\", \"name\", \"organisation\".")
def BO_CONTACT(id, field):  # noqa: A002 - the argument's name is what Excel's function wizard shows
    """One field of a contact, as your role may see it."""
    def compute() -> Any:
        who, name = _contact(id), _text(field, "field")
        return _cell(state.table(("contacts",), lambda source: source.directory()).value(who, name))

    return _answer("contacts", {"contact_id": id, "field": field}, compute)


@xw.func(category="Backoffice")
@xw.arg("contact", doc="The customer's contact id (a number), or its exact name.")
@xw.arg("as_of", doc="Optional: the day (a date, or YYYY-MM-DD text). Empty: today.")
def BO_OWING(contact, as_of=None):
    """What a customer owes at the end of a day: their posted sales invoices less what they paid on them by then."""
    def compute() -> float:
        who, day = _contact(contact), _day(as_of)
        owing = state.table(("owing", day), lambda source: source.owing(day))
        found = state.table(("contacts",), lambda source: source.directory()).find(who)
        return _number(owing.get(found["id"], Decimal(0)))

    return _answer("ledger", {"contact_id": contact, "as_of": as_of}, compute)


FUNCTIONS = (BO_ONHAND, BO_VALUE, BO_BALANCE, BO_CONTACT, BO_OWING)
__all__ = ["FUNCTIONS", "forget", "use", *(f.__name__ for f in FUNCTIONS)]
