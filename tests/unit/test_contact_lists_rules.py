"""A contact's lists of e-mail addresses and phone numbers: the rules (pure) and the
invariant between a contact's E-mail/Phone and its lists' primary entries, on records not
yet saved (no database)."""

from __future__ import annotations

import pytest

from engine.contacts import channels, rules
from engine.contacts.models import Contact, ContactEmail, ContactPhone


@pytest.mark.parametrize(("number", "digits"), [
    ("+44 20 7946 0000", "442079460000"),
    ("0044 (0)20 7946-0000", "4402079460000"),
    ("020 7946 0000", "02079460000"),
    ("", ""),
])
def test_phone_digits_keep_the_digits_and_drop_the_international_prefix(number, digits):
    assert rules.phone_digits(number) == digits


def test_an_international_number_matches_whether_written_with_plus_or_00():
    assert rules.channel_key("phone", "+49 30 1234567") == rules.channel_key("phone", "0049-30-123 45 67")
    assert rules.channel_key("email", " Kim@Example.org") == "kim@example.org"


@pytest.mark.parametrize(("number", "fine"), [
    ("+44 20 7946 0000", True), ("(0151) 496 0123 x21", True), ("555-0100", True),
    ("+44 20 7946 0000 ext 12", True), ("12", False), ("call me 0151 496", False), ("1" * 21, False),
])
def test_a_phone_number_needs_enough_digits_and_no_letters(number, fine):
    assert (rules.check_phone(number) is None) == fine


def test_an_entry_reports_every_problem_with_its_field_and_code():
    found = {(p.field, p.code) for p in rules.check_email_entry({"kind": "fax", "address": "kim@@example"})}
    assert found == {("kind", "invalid"), ("address", "invalid")}
    found = {(p.field, p.code) for p in rules.check_phone_entry({"kind": None, "number": None})}
    assert found == {("kind", "required"), ("number", "required")}
    assert rules.check_phone_entry({"kind": "mobile", "number": "+49 170 1234567"}) == []
    assert [(p.field, p.code) for p in rules.check_phone_entry({"kind": "work", "number": "+44 20 7946 0000\t"})] \
        == [("number", "control_character")]    # and the limits every stored value keeps


def test_an_address_or_number_is_on_a_list_once_in_any_case_or_punctuation():
    assert [(p.field, p.code) for p in rules.check_once("email", "KIM@example.org", "address", {"kim@example.org"})] \
        == [("address", "duplicate")]
    assert rules.check_once("phone", "020-7946-0000", "number", {rules.phone_digits("020 7946 0000")})
    assert rules.check_once("phone", "020 7946 0001", "number", {rules.phone_digits("020 7946 0000")}) == []


def _contact(**values) -> Contact:
    contact = Contact(kind="person", last_name="Lee", name="Lee", country="GB", **values)
    contact.emails, contact.phones = [], []
    return contact


def _emails(contact: Contact) -> list[tuple[str, bool]]:
    return [(e.address, e.is_primary) for e in contact.emails]


def test_a_contacts_field_follows_its_primary_entry_and_back():
    contact = _contact(email="a@x.org", phone="+44 20 7946 0000")
    channels.follow_all(contact, "ada")
    assert _emails(contact) == [("a@x.org", True)]
    assert [(p.number, p.digits, p.is_primary) for p in contact.phones] == [("+44 20 7946 0000", "442079460000", True)]
    contact.emails.append(ContactEmail(address="b@x.org", kind="home", is_primary=False))
    contact.email = "c@x.org"                       # a new value replaces the primary's
    channels.follow(contact, channels.EMAIL, "ada")
    assert (_emails(contact), contact.email) == ([("c@x.org", True), ("b@x.org", False)], "c@x.org")
    contact.email = "B@x.org"                       # one it already has becomes primary instead
    channels.follow(contact, channels.EMAIL, "ada")
    assert (_emails(contact), contact.email) == ([("B@x.org", True)], "B@x.org")
    contact.email = None                            # cleared: the primary entry goes
    channels.follow(contact, channels.EMAIL, "ada")
    assert (_emails(contact), contact.email) == ([], None)


def test_settling_keeps_one_primary_the_marked_one_else_the_first():
    contact = _contact(phone="stale")
    contact.phones.extend([ContactPhone(number="111111", is_primary=False), ContactPhone(number="222222", is_primary=True),
                           ContactPhone(number="333333", is_primary=True)])
    channels.settle(contact, channels.PHONE, "ada")
    assert [p.is_primary for p in contact.phones] == [False, True, False] and contact.phone == "222222"
    for phone in contact.phones:
        phone.is_primary = False
    channels.settle(contact, channels.PHONE, "ada")
    assert [p.is_primary for p in contact.phones] == [True, False, False] and contact.phone == "111111"
