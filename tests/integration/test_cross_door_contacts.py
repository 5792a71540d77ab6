"""Contacts' bad inputs through every door: the same field and code, nothing saved."""

from __future__ import annotations

import pytest

from tests.integration.doors import Api, Case, Sheet, assert_same_at_every_door

PERSON = ("contacts", "add", "--kind", "person", "--last-name", "Lee")


def _post(**values) -> Api:
    return Api("POST", "/contacts", {"kind": "person", "last_name": "Lee", "country": "GB", **values})


CASES = [
    Case("a malformed e-mail address", "sam", ("email", "invalid"),
         service=lambda s, a: _add(s, a, email="kim@@example"),
         cli=(*PERSON, "--country", "GB", "--email", "kim@@example"),
         workbook=Sheet("contacts", "People", {"Last name": "Lee", "Country": "GB", "E-mail": "kim@@example"}),
         api=_post(email="kim@@example")),
    Case("a country that is not an ISO code", "sam", ("country", "invalid"),
         service=lambda s, a: _add(s, a, country="XX"),
         cli=(*PERSON, "--country", "XX"),
         workbook=Sheet("contacts", "People", {"Last name": "Lee", "Country": "XX"}),
         api=_post(country="XX")),
    Case("a person of an organisation that does not exist", "sam", ("organisation_id", "reference"),
         service=lambda s, a: _add(s, a, organisation_id=9999),
         cli=(*PERSON, "--country", "GB", "--organisation", "9999"),
         workbook=Sheet("contacts", "People", {"Last name": "Lee", "Country": "GB", "Organisation": "Nobody Ltd"}),
         api=_post(organisation_id=9999)),
    # Limits (engine/limits.py): what the column or a cell cannot hold is refused, never cut.
    Case("a last name longer than its column", "sam", ("last_name", "too_long"),
         service=lambda s, a: _add(s, a, last_name="L" * 101),
         cli=("contacts", "add", "--kind", "person", "--last-name", "L" * 101, "--country", "GB"),
         workbook=Sheet("contacts", "People", {"Last name": "L" * 101, "Country": "GB"}),
         api=_post(last_name="L" * 101)),
    Case("a tab in a name", "sam", ("last_name", "control_character"),
         service=lambda s, a: _add(s, a, last_name="Lee\tSmith"),
         cli=("contacts", "add", "--kind", "person", "--last-name", "Lee\tSmith", "--country", "GB"),
         workbook=Sheet("contacts", "People", {"Last name": "Lee\tSmith", "Country": "GB"}),
         api=_post(last_name="Lee\tSmith")),
    Case("an organisation id beyond any column", "sam", ("organisation_id", "out_of_range"),
         service=lambda s, a: _add(s, a, organisation_id=2 ** 40),
         cli=(*PERSON, "--country", "GB", "--organisation", str(2 ** 40)),
         workbook=Sheet("contacts", "People", {"Last name": "Lee", "Country": "GB", "Organisation": f"#{2 ** 40}"}),
         api=_post(organisation_id=2 ** 40)),
    Case("a warehouse clerk adding a contact", "wes", ("", "permission"),
         service=lambda s, a: _add(s, a),
         cli=(*PERSON, "--country", "GB"),
         workbook=Sheet("contacts", "People", {"Last name": "Lee", "Country": "GB"}),
         api=_post()),
    # an update through the API: the same rules, the same problem, nothing saved
    Case("an e-mail address changed to a malformed one", "sam", ("email", "invalid"),
         service=lambda s, a: _update(s, a, email="kim@@example"),
         api=Api("PATCH", "/contacts/1", {"email": "kim@@example"}, {"If-Match": '"1"'}),
         doors=("service", "api")),
]


def _add(session, actor, **values):
    from engine.contacts.services import add_contact

    return add_contact(session, actor, {"kind": "person", "last_name": "Lee", "country": "GB", **values})


def _update(session, actor, **values):
    from engine.contacts.services import update_contact

    return update_contact(session, actor, 1, 1, values)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_contact_is_refused_alike_at_every_door(case, people_db, settings, tmp_path):
    assert_same_at_every_door(case, people_db, settings, tmp_path)
