"""The demo's contacts: organisations and people across several countries (seeded)."""

from __future__ import annotations

import random

from faker import Faker
from sqlalchemy.orm import Session

from engine.contacts.services import add_contact
from engine.demo import SEED, DemoSummary
from engine.security.roles import SYSTEM

# country code -> Faker locale
COUNTRIES = {
    "GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "NL": "nl_NL", "ES": "es_ES",
    "IT": "it_IT", "US": "en_US", "IE": "en_IE", "SE": "sv_SE", "PL": "pl_PL",
}
TAGS = ["customer", "supplier", "prospect", "vip", "export", "partner", "wholesale"]


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
