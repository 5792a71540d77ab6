"""Sample data for a first look: users for every role, and contacts across several countries.

Seeded, so every run builds the same data. Each later module adds its own sample records
through `DEMO_STEPS`. Running the demo again without `--reset` changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.contacts.services import add_contact
from engine.inventory.demo import seed_inventory
from engine.ledger.demo import seed_ledger
from engine.security.roles import SYSTEM
from engine.security.users import add_user, user_count
from engine.staff.demo import seed_staff

SEED = 20261127

DEMO_USERS = [
    ("admin", "Ada Admin", ["admin"]),
    ("mia", "Mia Manager", ["manager"]),
    ("alex", "Alex Accountant", ["accountant"]),
    ("wes", "Wes Warehouse", ["warehouse"]),
    ("hana", "Hana HR", ["hr"]),
    ("sam", "Sam Sales", ["sales"]),
    ("quinn", "Quinn Quality", ["quality"]),
    ("stef", "Stef Staff", ["staff"]),
]

# country code -> Faker locale
COUNTRIES = {
    "GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "NL": "nl_NL", "ES": "es_ES",
    "IT": "it_IT", "US": "en_US", "IE": "en_IE", "SE": "sv_SE", "PL": "pl_PL",
}
TAGS = ["customer", "supplier", "prospect", "vip", "export", "partner", "wholesale"]


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)
    already_present: bool = False


def has_data(session: Session) -> bool:
    return user_count(session) > 0 or (session.scalar(select(func.count(Contact.id))) or 0) > 0


def seed_users(session: Session, summary: DemoSummary) -> None:
    for login, name, roles in DEMO_USERS:
        add_user(session, SYSTEM, login, name, roles, f"{login}@backoffice.example")
    summary.created["users"] = len(DEMO_USERS)


def _address(fake: Faker, country: str, kind: str) -> dict[str, str]:
    return {
        "kind": kind, "line1": fake.street_address().replace("\n", ", "),
        "city": fake.city(), "postcode": fake.postcode(), "country": country,
    }


def seed_contacts(session: Session, summary: DemoSummary, organisations: int = 60, people: int = 120) -> None:
    rng = random.Random(SEED)
    fakers = {code: Faker(locale) for code, locale in COUNTRIES.items()}
    for n, fake in enumerate(fakers.values()):
        fake.seed_instance(SEED + n)
    codes = list(COUNTRIES)
    org_ids: list[tuple[int, str]] = []
    for n in range(organisations):
        country = codes[n % len(codes)]
        fake = fakers[country]
        name = fake.company()
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or f"org{n}"
        addresses = [_address(fake, country, "billing")]
        if rng.random() < 0.3:
            addresses.append(_address(fake, country, "shipping"))
        contact, _ = add_contact(session, SYSTEM, {
            "kind": "organisation", "name": name, "country": country,
            "email": f"info{n}@{domain}.example", "phone": fake.phone_number()[:40],
            "website": f"https://{domain}.example", "tags": ", ".join(rng.sample(TAGS, k=rng.randint(1, 2))),
            "opt_out": rng.random() < 0.1,
        }, addresses)
        org_ids.append((contact.id, country))
    for n in range(people):
        org_id, country = org_ids[n % len(org_ids)] if rng.random() < 0.8 else (None, rng.choice(codes))
        fake = fakers[country]
        first, last = fake.first_name(), fake.last_name()
        add_contact(session, SYSTEM, {
            "kind": "person", "first_name": first, "last_name": last, "organisation_id": org_id,
            "job_title": fake.job()[:100], "email": f"person{n}.{rng.randint(100, 999)}@mail.example",
            "phone": fake.phone_number()[:40], "country": country,
            "tags": rng.choice(TAGS), "opt_out": rng.random() < 0.05,
        }, [] if org_id else [_address(fake, country, "billing")])
    summary.created["organisations"] = organisations
    summary.created["people"] = people


# Later modules append (name, function) pairs; each fills its own tables.
DEMO_STEPS: list[tuple[str, Callable[[Session, DemoSummary], None]]] = [
    ("users", seed_users),
    ("contacts", seed_contacts),
    ("staff", seed_staff),
    ("inventory", seed_inventory),
    ("ledger", seed_ledger),
]


def build_demo(session: Session) -> DemoSummary:
    summary = DemoSummary()
    if has_data(session):
        summary.already_present = True
        return summary
    for _name, step in DEMO_STEPS:
        step(session, summary)
    return summary
