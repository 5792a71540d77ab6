"""Validation rules and duplicate keys for contacts. Pure functions, no database.

`name_key` makes "ACME Ltd.", "Acme limited" and "acme" the same key, so that a second
record for the same customer is noticed when it is typed, not months later in the ledger.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import pycountry

from engine.contacts.models import (
    ADDRESS_KINDS,
    CONTACT_KINDS,
    EMAIL_KINDS,
    PHONE_KINDS,
    Address,
    Contact,
    ContactEmail,
    ContactPhone,
)
from engine.emails import check_email, doubtful_emails  # (shared with staff and user accounts)
from engine.limits import Rows, doubtful_rows, narrowed, within_limits
from engine.problems import Problem

LEGAL_FORMS = {
    "ltd", "limited", "plc", "llc", "inc", "incorporated", "corp", "corporation", "co",
    "gmbh", "ag", "kg", "ohg", "ug", "sa", "sas", "sarl", "sl", "srl", "spa", "bv", "nv",
    "ab", "as", "asa", "oy", "aps", "kft", "sro", "sp", "zoo", "pty", "the", "and", "&",
}


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_WORD = re.compile(r"[a-z0-9]+")


_TIDY = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")  # already a key, unless a word is a legal form


def name_key(name: str) -> str:
    """Normalised name: no accents, case, punctuation or legal form ('Müller GmbH' -> 'muller')."""
    if name.isascii():
        lower = name.lower()
        if _TIDY.fullmatch(lower) and LEGAL_FORMS.isdisjoint(lower.split(" ")):
            return lower  # the common case, once per row of a sync
    words = _WORD.findall(name.lower() if name.isascii() else strip_accents(name).casefold())
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def postcode_key(postcode: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (postcode or "").upper())


def normalise_tags(tags: str | None) -> str | None:
    """'VIP, export ,vip' -> 'export, vip' (lower case, unique, sorted)."""
    if not tags:
        return None
    if tags.islower() and "," not in tags and ";" not in tags:
        return tags.strip() or None  # one tag, already tidy: the common case
    unique = sorted({t.strip().lower() for t in re.split(r"[,;]", tags) if t.strip()})
    return ", ".join(unique) or None


COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries)

def is_country(code: str | None) -> bool:
    return bool(code) and code.upper() in COUNTRY_CODES


def country_codes() -> list[str]:
    return sorted(COUNTRY_CODES)


def check_contact(data: Mapping[str, Any]) -> list[Problem]:
    """Every problem of a contact as it would be stored."""
    return within_limits(_contact_problems(data), Contact, data)


def check_contacts(rows: Sequence[dict[str, Any]]) -> list[Sequence[Problem]]:
    """`check_contact` of each contact (the same problems), for a sheet's rows (100,000 of
    them): the values that may have a problem are found a column at a time, and only the
    rows holding one are checked by `check_contact`; the others have none."""
    rows = rows if isinstance(rows, Rows) else Rows(rows)
    doubtful = doubtful_rows(Contact, rows)
    doubtful.update(_doubtful_contacts(rows))
    problems: list[Sequence[Problem]] = [()] * len(rows)
    for at in doubtful:
        problems[at] = check_contact(rows[at])
    return problems


def _doubtful_contacts(rows: Rows) -> set[int]:
    """The positions of the rows in which `_contact_problems` may find a problem (perhaps a
    few more): those of another kind or without a name, an organisation in one, a country
    that is not a code, an e-mail address that is not plain."""
    kinds = rows.column("kind")
    people = kinds.count("person")
    if people == len(kinds):
        names = rows.column("last_name")
    elif not people and kinds.count("organisation") == len(kinds):
        names = rows.column("name")
    else:
        names = [row.get("last_name" if kind == "person" else "name") for row, kind in zip(rows, kinds, strict=True)]
    doubtful = set(narrowed(names, _named, lambda name: name.__class__ is not str or not name.strip()))
    if people != len(kinds):
        doubtful.update(at for at, (kind, organisation) in enumerate(zip(kinds, rows.column("organisation_id"), strict=True))
                        if kind != "person" and (kind != "organisation" or organisation))
    doubtful.update(narrowed(rows.column("country"), _coded,
                             lambda code: code.__class__ is not str or code.upper() not in COUNTRY_CODES))
    doubtful.update(doubtful_emails(rows.column("email")))
    return doubtful


def _named(names: Sequence[Any]) -> bool:
    """Whether every name is text that is not blank."""
    try:
        return all(map(str.strip, names))
    except TypeError:   # one is not text (None: no name)
        return False


def _coded(codes: Sequence[Any]) -> bool:
    """Whether every country is a code (in any case)."""
    try:
        return all(code.__class__ is str and code.upper() in COUNTRY_CODES for code in set(codes))
    except TypeError:   # one that cannot be told apart from the others (not text)
        return False


def _contact_problems(data: Mapping[str, Any]) -> list[Problem]:
    """A contact's problems but those of the limits (run once per row of a sync: kept lean)."""
    problems: list[Problem] = []
    kind = data.get("kind")
    if kind == "person":
        if not (data.get("last_name") or "").strip():
            problems.append(Problem("last_name", "required", "a person needs a last name"))
    elif kind == "organisation":
        if not (data.get("name") or "").strip():
            problems.append(Problem("name", "required", "an organisation needs a name"))
        if data.get("organisation_id"):
            problems.append(Problem("organisation_id", "invalid", "only a person can belong to an organisation"))
    else:
        problems.append(Problem("kind", "invalid", f"kind must be one of {', '.join(CONTACT_KINDS)}"))
    country = data.get("country")
    if not country or country.upper() not in COUNTRY_CODES:
        problems += _check_country(country)
    if (message := check_email(data.get("email"))) is not None:
        problems.append(Problem("email", "invalid", message))
    return problems


def _check_country(code: str | None) -> list[Problem]:
    if not code:
        return [Problem("country", "required", "a country is required (an ISO code such as GB, DE or FR)")]
    if not is_country(code):
        return [Problem("country", "invalid", f"{code!r} is not an ISO country code such as GB, DE or FR")]
    return []


def check_address(data: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    if data.get("kind", "billing") not in ADDRESS_KINDS:
        problems.append(Problem("kind", "invalid", f"address kind must be one of {', '.join(ADDRESS_KINDS)}"))
    for required in ("line1", "city"):
        if not (data.get(required) or "").strip():
            problems.append(Problem(required, "required", f"an address needs {required}"))
    return within_limits(problems + _check_country(data.get("country")), Address, data)


def display_name(first_name: str | None, last_name: str | None) -> str:
    return " ".join(p.strip() for p in (first_name, last_name) if p and p.strip())


def normalise_contact(values: dict[str, Any]) -> dict[str, Any]:
    """Tidy a contact's (already trimmed) fields in place, as they are stored: upper-case
    country, lower-case e-mail, sorted tags, and a person's display name."""
    get = values.get
    if country := get("country"):
        values["country"] = country.upper()
    if email := get("email"):
        values["email"] = email.lower()
    if "tags" in values:
        values["tags"] = normalise_tags(values["tags"])
    if get("kind") == "person":
        first, last = get("first_name"), get("last_name")
        # trimmed already, so the common case needs no display_name
        values["name"] = f"{first} {last}" if first and last else display_name(first, last)
    return values


# -- a contact's lists of e-mail addresses and phone numbers -------------------------------

MIN_PHONE_DIGITS = 5     # an extension ("x21") or a short code is not a number to call
MAX_PHONE_DIGITS = 20    # E.164 allows 15; a few more for an extension


def phone_digits(number: str | None) -> str:
    """A phone number as digits only, for matching: '+44 (0)20 7946-0000' -> '4402079460000'.

    The + of an international number is dropped, and so is a leading international prefix
    00, so '+44 20 7946 0000' and '0044 20 7946 0000' give the same digits; a number written
    nationally ('020 7946 0000') keeps its trunk 0 and does not (match those on their last
    digits). Migration 0017 filled in `contact_phones.digits` the same way."""
    plain = (number or "").replace(" ", "").replace("+", "")
    digits = plain if plain.isdecimal() else _NOT_DIGIT.sub("", plain)   # (the common case without a regex)
    return digits[2:] if digits.startswith("00") else digits


_NOT_DIGIT = re.compile(r"\D")     # (str.isdecimal is true of exactly the characters \d matches)


def check_phone(number: str | None) -> str | None:
    """The problem with a phone number, or None if it is acceptable (or empty)."""
    if not number:
        return None
    count = len(phone_digits(number))
    if count < MIN_PHONE_DIGITS:
        return f"{number!r} is not a phone number (it needs at least {MIN_PHONE_DIGITS} digits)"
    if count > MAX_PHONE_DIGITS:
        return f"{number!r} is not a phone number (more than {MAX_PHONE_DIGITS} digits)"
    if re.search(r"[^\d\s+()./\-xX]|[xX].*[xX]", number.replace("ext", "x")):
        return f"{number!r} is not a phone number (only digits, spaces, + ( ) - . / and an extension x)"
    return None


def channel_key(channel: str, value: str | None) -> str:
    """What makes two entries of one list the same: an address in any case, a number in any
    punctuation ('020 7946 0000' is '020-7946-0000')."""
    return phone_digits(value) if channel == "phone" else (value or "").strip().lower()


def _check_entry(data: Mapping[str, Any], value_field: str, kinds: tuple[str, ...], check, what: str) -> list[Problem]:
    problems = []
    if data.get("kind") not in kinds:
        problems.append(Problem("kind", "invalid" if data.get("kind") else "required",
                                f"the kind of {what} must be one of {', '.join(kinds)}"))
    value = data.get(value_field)
    if not value:
        problems.append(Problem(value_field, "required", f"{what} is required"))
    elif (message := check(value)) is not None:
        problems.append(Problem(value_field, "invalid", message))
    return problems


def check_email_entry(data: Mapping[str, Any]) -> list[Problem]:
    """Every problem of one of a contact's e-mail entries (kind, address) as stored."""
    problems = _check_entry(data, "address", EMAIL_KINDS, check_email, "an e-mail address")
    return within_limits(problems, ContactEmail, data)


def check_phone_entry(data: Mapping[str, Any]) -> list[Problem]:
    """Every problem of one of a contact's phone entries (kind, number) as stored."""
    problems = _check_entry(data, "number", PHONE_KINDS, check_phone, "a phone number")
    return within_limits(problems, ContactPhone, data)


def check_once(channel: str, value: str, field: str, taken: Any) -> list[Problem]:
    """An address or number is on a contact's list once: `taken` holds the `channel_key`s
    of the contact's other entries."""
    if channel_key(channel, value) in taken:
        what = "e-mail address" if channel == "email" else "phone number"
        return [Problem(field, "duplicate", f"the contact already has the {what} {value}")]
    return []
