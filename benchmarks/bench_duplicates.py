"""Duplicate contacts benchmark: `contacts duplicates` over 10,000 contacts, against the naive
all-pairs scan measured in the same run.

    .venv/bin/python benchmarks/bench_duplicates.py [--contacts 10000] [--repeat 3]

A SQLite database gets N contacts with Faker names in ten locales (a third organisations with a
billing address, the rest people; each with an e-mail address and a phone number), plus 2% of
them typed again the ways people do (another legal form at the same postcode, a letter
swapped, the same e-mail under an initial, the phone written another way). Measured:
  (1) `duplicates.duplicates(session, actor)`: reading every contact and its lists, blocking,
      scoring the candidate pairs (fastest of --repeat runs);
  (2) the baseline: the same scoring over every pair of the first 1,000 contacts, scaled to N
      (pairs grow with the square of the contacts).
It also reports how many planted duplicates were found (recall) and how many pairs scored.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faker import Faker  # noqa: E402

from engine import app  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.contacts import duplicates, rules  # noqa: E402
from engine.contacts.demo_duplicates import mistyped, other_legal_form, written_otherwise  # noqa: E402
from engine.contacts.models import Address, Contact  # noqa: E402
from engine.db.base import utcnow  # noqa: E402
from engine.db.bulk import insert_many  # noqa: E402
from engine.db.session import Database  # noqa: E402
from engine.security.roles import SYSTEM  # noqa: E402

LOCALES = {"GB": "en_GB", "DE": "de_DE", "FR": "fr_FR", "NL": "nl_NL", "ES": "es_ES",
           "IT": "it_IT", "US": "en_US", "IE": "en_IE", "SE": "sv_SE", "PL": "pl_PL"}


def contacts(n: int, seed: int = 17) -> tuple[list[dict], list[dict], list[tuple[int, int]]]:
    """(contacts, addresses, planted (original, copy) ids)."""
    rng = random.Random(seed)
    fakers = {c: Faker(loc) for c, loc in LOCALES.items()}
    for k, f in enumerate(fakers.values()):
        f.seed_instance(seed + k)
    now = utcnow()
    common = {"version": 1, "created_at": now, "updated_at": now, "updated_by": "bench"}
    rows, addresses, planted = [], [], []
    codes = list(LOCALES)
    for cid in range(1, n + 1):
        country = codes[cid % len(codes)]
        fake = fakers[country]
        if cid % 3 == 0:
            name = fake.company()
            row = {"kind": "organisation", "name": name, "first_name": None, "last_name": None}
            addresses.append({**common, "contact_id": cid, "kind": "billing", "line1": fake.street_address()[:200],
                              "city": fake.city()[:100], "postcode": fake.postcode(), "country": country})
        else:
            first, last = fake.first_name(), fake.last_name()
            row = {"kind": "person", "name": f"{first} {last}", "first_name": first, "last_name": last}
        rows.append({**common, **row, "id": cid, "country": country, "name_key": rules.name_key(row["name"]),
                     "email": f"c{cid}.{rng.randint(100, 999)}@mail.example", "phone": fake.phone_number()[:40],
                     "opt_out": False, "organisation_id": None})
    originals = rng.sample(rows, n // 50)
    by_contact = {a["contact_id"]: a for a in addresses}
    for k, original in enumerate(originals):
        cid = n + 1 + k
        copy = {**original, "id": cid}
        if original["kind"] == "organisation" and cid % 2:
            copy["name"] = other_legal_form(original["name"]) if cid % 4 == 1 else mistyped(original["name"])
            copy["email"], copy["phone"] = None, None
            addresses.append({**by_contact[original["id"]], "contact_id": cid})
        elif original["kind"] == "organisation":
            copy["phone"], copy["email"] = written_otherwise(original["phone"]), None
        else:
            copy["first_name"] = original["first_name"][:1] + "."
            copy["name"] = f"{copy['first_name']} {original['last_name']}"
            copy["phone"] = None
        copy["name_key"] = rules.name_key(copy["name"])
        rows.append(copy)
        planted.append((original["id"], cid))
    return rows, addresses, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    app.start()
    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(Settings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}"), create=True)
        rows, addresses, planted = contacts(args.contacts)
        with db.engine.begin() as connection:
            insert_many(connection, Contact.__table__, rows)
            insert_many(connection, Address.__table__, addresses)
        times = []
        for _ in range(args.repeat):
            with db.reading() as session:
                started = time.perf_counter()
                found = duplicates.duplicates(session, SYSTEM, limit=None)
                times.append(time.perf_counter() - started)
        with db.reading() as session:
            parties = duplicates.parties(session)[:1_000]
        db.dispose()
    started = time.perf_counter()
    for a, b in combinations(parties, 2):
        duplicates.score(a, b)
    naive = (time.perf_counter() - started) * (len(rows) * (len(rows) - 1)) / (len(parties) * (len(parties) - 1))
    pairs = {(p["first"]["id"], p["second"]["id"]) for p in found}
    recall = sum(pair in pairs for pair in planted)
    best = min(times)
    print(f"{len(rows):,} contacts ({len(planted)} planted duplicates)")
    print(f"(1) contacts duplicates: {best:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)}); "
          f"{len(found)} pairs scored >= {duplicates.MIN_SCORE}; planted found: {recall}/{len(planted)}")
    print(f"(2) naive all-pairs scoring, scaled from 1,000 contacts: {naive:.1f} s; ratio (2)/(1) = {naive / best:.0f}")


if __name__ == "__main__":
    main()
