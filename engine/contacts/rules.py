"""Validation rules and duplicate keys for contacts. Pure functions, no database.

`name_key` makes "ACME Ltd.", "Acme limited" and "acme" the same key, so that a second
record for the same customer is noticed when it is typed, not months later in the ledger.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import pycountry

from engine.contacts.models import ADDRESS_KINDS, CONTACT_KINDS, Address, Contact
from engine.emails import check_email  # (shared with staff and user accounts)
from engine.limits import within_limits
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
    """Every problem of a contact as it would be stored (run once per row of a sync: kept lean)."""
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
    return within_limits(problems, Contact, data)


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
