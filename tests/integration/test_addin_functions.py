"""The add-in's live worksheet functions (addin/functions.py) on a real database (SQLite file
and PostgreSQL) and through a real server: each answers what the module's own command and
query answer, as the acting user's role allows (a forbidden area or field is an error value,
never the value), and a recalculation of 10,000 formulas reads each table once."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from addin import functions
from addin.connection import connect
from engine.config import Settings
from engine.contacts import queries as contact_queries
from engine.inventory import queries as stock_queries
from engine.inventory.services import TypedMovement, post_typed
from engine.ledger import queries as ledger_queries
from engine.ledger import reports
from engine.ledger.invoices import aging
from engine.security.policies import FieldPolicy, Policies, active_policies, use_policies
from engine.security.roles import SYSTEM
from tests.integration.api_client import token_for
from tests.integration.remote_world import run_local, seed

END_OF_MARCH, END_OF_MAY = date(2026, 3, 31), date(2026, 5, 31)


class Clock:
    """A clock the test moves: a recalculation is calls close together in time."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(people_db):
    seed(people_db)
    return people_db


@pytest.fixture
def as_user(world, monkeypatch):
    """`as_user(login)`: the functions answer as that user, from the test database; the
    connections made are closed at the end."""
    made = []

    def switch(login: str, clock=None, **settings):
        url = world.engine.url.render_as_string(hide_password=False)
        state = functions.Functions(lambda: connect(settings=Settings(database_url=url, user=login, **settings)),
                                    clock or Clock())
        monkeypatch.setattr(functions, "state", state)
        made.append(state)
        return state

    yield switch
    for state in made:
        state.close()


@pytest.fixture
def queries_counted():
    """How many SQL statements every engine runs while the test counts them."""
    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(Engine, "before_cursor_execute", count)
    yield counter
    event.remove(Engine, "before_cursor_execute", count)


def local_json(world, user, *args):
    done = run_local(world, user)(*args, "--json")
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_each_function_answers_what_the_modules_own_commands_and_queries_answer(world, as_user):
    as_user("ada")
    on_hand = local_json(world, "ada", "stock", "on-hand")
    for sku, location in (("BOLT-8", None), ("BOLT-8", "MAIN"), ("BOLT-8", "MAIN-A1"), ("CAP-1", "MAIN")):
        expected = sum(D(r["quantity"]) for r in on_hand
                       if r["sku"] == sku and (location is None or r["location"] == location
                                               or (location == "MAIN" and r["location"].startswith("MAIN"))))
        assert functions.BO_ONHAND(sku, location) == float(expected), (sku, location)
    assert functions.BO_ONHAND("BOLT-8") == 8.5 and functions.BO_ONHAND("BOLT-8", "MAIN-A1") == 2.5

    valuation = local_json(world, "ada", "stock", "valuation", "--as-of", "2026-03-31")
    for row in valuation["items"]:
        assert functions.BO_VALUE(row["sku"], datetime(2026, 3, 31)) == float(D(row["value"]))
        assert functions.BO_VALUE(row["sku"], "2026-03-31") == float(D(row["value"]))
    assert functions.BO_VALUE("BOLT-8", "2026-01-01") == 0.0          # before its first receipt

    trial = local_json(world, "ada", "ledger", "trial-balance", "--as-of", "2026-03-31")
    assert trial["rows"]
    for row in trial["rows"]:
        assert functions.BO_BALANCE(row["code"], "2026-03-31") == float(D(row["debit"]) - D(row["credit"]))
    general = local_json(world, "ada", "ledger", "account", "1100", "--from", "2026-01-01", "--to", "2026-03-31")
    assert functions.BO_BALANCE(1100, END_OF_MARCH) == float(D(general["closing"])) == 1000.5 + 30

    with world.unit_of_work(SYSTEM) as session:
        owed = {r.contact_id: r.total for r in aging(session, SYSTEM, "sales", END_OF_MAY)}
        acme = contact_queries.contact(session, SYSTEM, 1)
    assert owed[1] == D("41.96")
    assert functions.BO_OWING(1, "2026-05-31") == float(owed[1])
    assert functions.BO_OWING("acme ltd", END_OF_MAY) == float(owed[1])      # by its name, any case
    assert functions.BO_OWING(2, END_OF_MAY) == 0.0                          # a supplier owes us nothing

    for field in ("name", "email", "country", "kind", "opt_out"):
        assert functions.BO_CONTACT(1, field) == acme[field], field
    assert functions.BO_CONTACT(1.0, "Email") == "info@acme.example"        # Excel's numbers are doubles
    assert functions.BO_CONTACT(4, "organisation") == "Acme Ltd"
    assert functions.BO_CONTACT(1, "phone") == ""                            # empty, not "None"


def test_a_heading_account_sums_its_sub_accounts(world, as_user):
    as_user("ada")
    with world.unit_of_work(SYSTEM) as session:
        chart = {r.code: r.parent for r in ledger_queries.chart(session, SYSTEM)}
        rows = reports.trial_balance(session, SYSTEM, END_OF_MARCH).rows
    heading = chart["1100"]
    assert heading is not None
    under = [r for r in rows if chart[r.code] == heading or r.code == heading]
    assert len(under) >= 1
    assert functions.BO_BALANCE(heading, END_OF_MARCH) == float(sum((r.debit - r.credit for r in under), D(0)))


def test_what_cannot_be_answered_is_a_clear_error_value(world, as_user):
    as_user("ada")
    assert functions.BO_ONHAND("NOPE") == "#BO! not found: sku NOPE"
    assert functions.BO_ONHAND("BOLT-8", "ATTIC") == "#BO! not found: location ATTIC"
    assert functions.BO_BALANCE("9999", END_OF_MARCH) == "#BO! not found: account 9999"
    assert functions.BO_CONTACT(999, "email") == "#BO! not found: contact_id 999"
    assert functions.BO_CONTACT(1, "shoe_size").startswith("#BO! not found: field shoe_size")
    assert functions.BO_OWING("Nobody Inc", END_OF_MAY) == "#BO! not found: contact_id Nobody Inc"
    assert functions.BO_VALUE("BOLT-8", "31/03/2026").startswith("#BO! invalid: as_of '31/03/2026' is not a date")
    assert functions.BO_ONHAND(None).startswith("#BO! invalid: sku is empty")
    assert functions.BO_VALUE("CAP-1", 46112) == functions.BO_VALUE("CAP-1", "2026-03-31")   # a bare date serial


def test_a_role_without_the_area_gets_the_error_value_never_the_value(world, as_user):
    as_user("wes")       # warehouse: inventory, not the ledger
    assert functions.BO_ONHAND("BOLT-8") == 8.5
    assert functions.BO_BALANCE("1100", END_OF_MARCH) == "#BO! not allowed: ledger"
    assert functions.BO_OWING(1, END_OF_MAY) == "#BO! not allowed: ledger"
    as_user("stef")      # staff: contacts and admin only
    assert functions.BO_ONHAND("BOLT-8") == "#BO! not allowed: inventory"
    assert functions.BO_VALUE("BOLT-8") == "#BO! not allowed: inventory"
    assert functions.BO_CONTACT(1, "email") == "info@acme.example"


def test_a_field_the_role_may_not_see_is_an_error_value_as_the_gate_decides(world, as_user):
    with world.unit_of_work(SYSTEM) as session:
        contact_queries.contacts(session, SYSTEM)      # (a read: nothing changes)
        from engine.contacts.services import get_contact  # here: only this test sets a phone number

        get_contact(session, 1).phone = "+44 113 496 0000"
    shipped = active_policies()
    private_phones = Policies({**shipped.by_table, "contacts": {"phone": FieldPolicy("hr")}})
    as_user("sam")
    assert functions.BO_CONTACT(1, "phone") == "+44 113 496 0000"
    with use_policies(private_phones):
        as_user("sam")       # sales: does not see hr
        assert functions.BO_CONTACT(1, "phone") == "#BO! not allowed: phone"
        assert functions.BO_CONTACT(1, "email") == "info@acme.example"
        as_user("hana")      # hr: does
        assert functions.BO_CONTACT(1, "phone") == "+44 113 496 0000"


def test_ten_thousand_calls_in_one_recalculation_read_each_table_once(world, as_user, queries_counted):
    clock = Clock()
    state = as_user("ada", clock)
    functions.BO_ONHAND("BOLT-8")          # connected, the tables read
    before, reads = queries_counted["n"], state.answers.reads
    for n in range(10_000):
        assert functions.BO_ONHAND(("BOLT-8", "CAP-1")[n % 2], (None, "MAIN")[n % 3 == 0]) in (8.5, 50.0, 6.0)
    assert queries_counted["n"] == before and state.answers.reads == reads

    # The next recalculation (after the idle time) reads once more: a few statements, not 10,000.
    clock.now += functions.IDLE_SECONDS + 1
    for n in range(10_000):
        functions.BO_ONHAND("BOLT-8", "MAIN-A1" if n % 2 else None)
    read_again = queries_counted["n"] - before
    assert 1 <= read_again <= 10, read_again
    assert state.answers.reads == reads + 1


def test_a_change_is_seen_after_forget_and_after_the_idle_time(world, as_user):
    clock = Clock()
    as_user("ada", clock)
    assert functions.BO_ONHAND("CAP-1") == 50.0
    with world.unit_of_work(SYSTEM) as session:
        post_typed(session, SYSTEM, TypedMovement("receipt", "CAP-1", D(7), date(2026, 2, 11), to_location="MAIN",
                                                  unit_cost=D(1)))
    assert functions.BO_ONHAND("CAP-1") == 50.0     # the same recalculation: the table as read
    functions.forget()                               # the ribbon synced or refreshed
    assert functions.BO_ONHAND("CAP-1") == 57.0
    with world.unit_of_work(SYSTEM) as session:
        post_typed(session, SYSTEM, TypedMovement("issue", "CAP-1", D(2), date(2026, 2, 12), from_location="MAIN"))
    clock.now += functions.IDLE_SECONDS / 2
    assert functions.BO_ONHAND("CAP-1") == 57.0
    clock.now += functions.IDLE_SECONDS + 0.1        # the recalculation is over; the next one reads afresh
    assert functions.BO_ONHAND("CAP-1") == 55.0


def test_a_refusal_is_kept_for_the_recalculation_too(world, as_user, queries_counted):
    state = as_user("stef")
    assert functions.BO_ONHAND("BOLT-8") == "#BO! not allowed: inventory"
    before = queries_counted["n"]
    assert {functions.BO_ONHAND("BOLT-8") for _ in range(1000)} == {"#BO! not allowed: inventory"}
    assert queries_counted["n"] == before and state.answers.reads == 1


def test_the_functions_answer_through_a_server_with_a_token_as_locally(server, world, monkeypatch, as_user):
    as_user("ada")
    cells = [("BO_ONHAND", ("BOLT-8",)), ("BO_ONHAND", ("BOLT-8", "MAIN")), ("BO_ONHAND", ("NOPE",)),
             ("BO_VALUE", ("CAP-1", "2026-03-31")), ("BO_BALANCE", ("1100", "2026-03-31")),
             ("BO_BALANCE", ("4100", datetime(2026, 3, 31))), ("BO_OWING", (1, "2026-05-31")),
             ("BO_CONTACT", (1, "email")), ("BO_CONTACT", ("Bolt GmbH", "country")), ("BO_CONTACT", (1, "x"))]
    local = [getattr(functions, name)(*args) for name, args in cells]
    assert local[0] == 8.5 and local[6] == 41.96 and local[8] == "DE"

    def through(token: str | None):
        extra = {"token": token} if token else {}
        state = functions.Functions(lambda: connect(settings=Settings(server_url=server, **extra)), Clock())
        monkeypatch.setattr(functions, "state", state)
        try:
            return [getattr(functions, name)(*args) for name, args in cells]
        finally:
            state.close()

    assert through(token_for(world, "ada")) == local
    refused = through(None)
    assert set(refused) == {refused[0]} and refused[0].startswith("#BO! server unavailable: ")
    assert "needs your API token" in refused[0]
    wrong = through("not-a-token")
    assert set(wrong) == {wrong[0]} and wrong[0].startswith("#BO! token refused: the server does not accept")
    warehouse = through(token_for(world, "wes"))
    assert warehouse[0] == 8.5 and warehouse[4] == "#BO! not allowed: ledger"


def test_the_connection_says_who_and_how(server, world):
    url = world.engine.url.render_as_string(hide_password=False)
    with connect(settings=Settings(database_url=url, user="sam")) as near:
        assert near.describe()["mode"] == "local" and near.user == "sam" and near.roles == ["sales"]
        with near.unit_of_work() as session:
            assert stock_queries.on_hand(session, near.actor, "BOLT-8")
    with connect(settings=Settings(server_url=server, token=token_for(world, "wes"))) as far:
        assert far.remote and far.user == "wes" and far.roles == ["warehouse"] and far.database is None
        assert far.describe() == {"mode": "remote", "server": server, "user": "wes", "roles": ["warehouse"],
                                  "settings_file": far.describe()["settings_file"]}
