"""The API as a door of the cross-door tables (tests/integration/doors.py): a `Case` with an
`api` request is also sent to the server and must give the same (field, code) as a 422 or
403 problem detail, with nothing saved. The contacts' table has its API column; a module adds
its own by giving its cases `api=Api(method, path, body)`.

Here: that every case goes through the API too but those the API has no route for (said in
their table), and that the API door cannot pass a request the server accepts (so a door that
saved the record would fail the table)."""

from __future__ import annotations

import pytest

from tests.integration import (
    test_cross_door_contacts,
    test_cross_door_inventory,
    test_cross_door_ledger,
    test_cross_door_staff,
)
from tests.integration.api_client import token_for
from tests.integration.doors import Api, fingerprint, through_api


def test_every_contacts_case_goes_through_the_api_too():
    assert all("api" in case.every_door for case in test_cross_door_contacts.CASES)


# What no route does: a posted movement or entry is never edited (only a workbook shows one to
# type over), and no route records a leaver's last day.
WITHOUT_A_ROUTE = {
    test_cross_door_inventory: {"an edit of a posted movement"},
    test_cross_door_ledger: {"an edit of a posted journal row"},
    test_cross_door_staff: {"a last day before the first"},
}


@pytest.mark.parametrize("table", WITHOUT_A_ROUTE, ids=lambda t: t.__name__.rpartition("_")[2])
def test_every_case_the_api_can_express_goes_through_it(table):
    assert {c.name for c in table.CASES if "api" not in c.every_door} == WITHOUT_A_ROUTE[table]


def test_the_api_door_fails_on_a_request_the_server_accepts(people_db, settings):
    token = token_for(people_db, "sam")
    before = fingerprint(people_db)
    with pytest.raises(AssertionError, match="^201"):
        through_api(people_db, settings, token, Api("POST", "/contacts", {"kind": "person", "last_name": "Lee",
                                                                          "country": "GB"}))
    assert fingerprint(people_db) != before
