"""The API as a door of the cross-door tables (tests/integration/doors.py): a `Case` with an
`api` request is also sent to the server and must give the same (field, code) as a 422 or
403 problem detail, with nothing saved. The contacts' table has its API column; a module adds
its own by giving its cases `api=Api(method, path, body)`.

Here: that every contacts case goes through the API too, and that the API door cannot pass
a request the server accepts (so a door that saved the record would fail the table)."""

from __future__ import annotations

import pytest

from tests.integration import test_cross_door_contacts
from tests.integration.api_client import token_for
from tests.integration.doors import Api, fingerprint, through_api


def test_every_contacts_case_goes_through_the_api_too():
    assert all("api" in case.every_door for case in test_cross_door_contacts.CASES)


def test_the_api_door_fails_on_a_request_the_server_accepts(people_db, settings):
    token = token_for(people_db, "sam")
    before = fingerprint(people_db)
    with pytest.raises(AssertionError, match="^201"):
        through_api(people_db, settings, token, Api("POST", "/contacts", {"kind": "person", "last_name": "Lee",
                                                                          "country": "GB"}))
    assert fingerprint(people_db) != before
