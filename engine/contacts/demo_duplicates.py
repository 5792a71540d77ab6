"""The demo's planted duplicates: a few demo contacts typed a second time, as happens, for
`backoffice contacts duplicates` to find at the top of its list (and `contacts merge` to
merge):

- an organisation again under another legal form, at the same postcode;
- an organisation with a letter of its name mistyped, at the same postcode;
- an organisation again with its phone number written another way;
- a person again with an initial for a first name and the same e-mail address;
- a person again under another surname (married) with the same e-mail address.

Deterministic: the contacts copied are the first demo organisations and people.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.contacts.models import Contact
from engine.contacts.services import add_contact
from engine.demo import DemoSummary
from engine.security.roles import SYSTEM

# What an organisation's legal form becomes in its second record.
OTHER_FORM = {"ltd": "Limited", "limited": "Ltd", "plc": "PLC.", "gmbh": "G.m.b.H.", "ag": "AG.", "sa": "S.A.",
              "sarl": "S.A.R.L.", "bv": "B.V.", "nv": "N.V.", "spa": "S.p.A.", "sl": "S.L.", "ab": "AB.",
              "inc": "Incorporated", "llc": "L.L.C."}


def plant_duplicates(session: Session, summary: DemoSummary) -> None:
    addressed = (select(Contact).where(Contact.kind == "organisation", Contact.addresses.any())
                 .options(selectinload(Contact.addresses)).order_by(Contact.id))
    organisations = [c for c in session.scalars(addressed) if c.addresses[0].postcode][:3]
    people = list(session.scalars(select(Contact).where(Contact.kind == "person", Contact.email.is_not(None))
                                  .order_by(Contact.id).limit(2)))
    if len(organisations) < 3 or len(people) < 2:
        return
    planted = [
        _again(organisations[0], name=other_legal_form(organisations[0].name), address=True),
        _again(organisations[1], name=mistyped(organisations[1].name), address=True),
        _again(organisations[2], name=organisations[2].name.upper(), phone=written_otherwise(organisations[2].phone)),
        _person_again(people[0], first_name=f"{people[0].first_name[:1]}.", last_name=people[0].last_name),
        _person_again(people[1], first_name=people[1].first_name, last_name=f"{people[1].last_name}-Grant"),
    ]
    for values, addresses in planted:
        add_contact(session, SYSTEM, values, addresses)
    summary.created["planted duplicates"] = len(planted)


def _again(original: Contact, name: str, address: bool = False, phone: str | None = None):
    values = {"kind": "organisation", "name": name, "country": original.country, "tags": original.tags,
              "phone": phone}
    addresses = []
    if address:
        first = original.addresses[0]
        addresses.append({"kind": "billing", "line1": first.line1.upper(), "city": first.city,
                          "postcode": first.postcode.lower().replace(" ", ""), "country": first.country})
    return values, addresses


def _person_again(original: Contact, first_name: str, last_name: str):
    return ({"kind": "person", "first_name": first_name, "last_name": last_name, "country": original.country,
             "email": original.email, "job_title": original.job_title, "tags": original.tags}, [])


def other_legal_form(name: str) -> str:
    """'Smith Ltd' -> 'Smith Limited'; a name without a legal form gets one ('Smith' -> 'Smith Ltd')."""
    words = name.replace(",", " ").split()
    for n in range(len(words) - 1, -1, -1):
        form = OTHER_FORM.get(re.sub(r"[^a-z]", "", words[n].lower()))
        if form:
            return " ".join(words[:n] + [form] + words[n + 1:])
    return f"{name} Ltd"


def mistyped(name: str) -> str:
    """The name with two letters of its longest word swapped ('Bergmann' -> 'Bregmann')."""
    words = name.split()
    longest = max(range(len(words)), key=lambda n: len(words[n]))
    word = words[longest]
    if len(word) >= 4:
        words[longest] = word[0] + word[2] + word[1] + word[3:]
    return " ".join(words)


def written_otherwise(phone: str | None) -> str | None:
    """The same digits grouped another way: '01632 960123' -> '(01632) 960-123'."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return phone
    return f"({digits[:-6]}) {digits[-6:-3]}-{digits[-3:]}"
