"""Likely duplicate contacts: pairs with a score (0-100) and the reasons for it.

Each contact is reduced to what two records of the same party share (`Party`): its
normalised name (`match_key`: `rules.name_key`, legal forms with dots too), every e-mail address (its own and its list's), the last
nine digits of every phone number (so "+44 20 7946 0000" and "020 7946 0000" match), the
postcodes of its addresses, its kind and country. Comparing every contact with every other
would take 50 million comparisons for 10,000 contacts; instead contacts are grouped by keys
two records of one party are likely to share (blocking): the name key, the name's consonant
skeleton (Müller and Mueller, Jon and John), the name's first or last word, each e-mail
address, phone number and postcode. Only contacts sharing a group are compared; a group
larger than `MAX_GROUP` (a common surname, a large office building's postcode) is too
common to tell anything and proposes no pairs by itself.

    score = name (50 same key; up to 45 similar) + e-mail 40 + phone 30 + postcode 15
            + kind (5 same; -30 different) + country (5 same; -10 different), kept within 0-100
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import combinations
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts import rules
from engine.contacts.models import Address, Contact, ContactEmail, ContactPhone
from engine.security import gate
from engine.security.roles import Actor

SAME_NAME, SIMILAR_NAME, EMAIL, PHONE, POSTCODE = 50, 45, 40, 30, 15
SAME_KIND, OTHER_KIND, SAME_COUNTRY, OTHER_COUNTRY = 5, -30, 5, -10
SIMILAR = 0.75          # a name this similar (0-1) counts as a similar name
PHONE_DIGITS = 9        # numbers are compared by their last nine digits...
SHORTEST_PHONE = 7      # ...when they have at least seven
MAX_GROUP = 40          # a blocking group larger than this proposes no pairs by itself
MIN_SCORE = 50

_NOT_DIGIT = re.compile(r"\D")
_VOWELS = re.compile(r"[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")


@dataclass
class Party:
    """What duplicates of one contact would share."""

    id: int
    name: str
    kind: str
    country: str
    key: str
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)       # last digits (`phone_key`)
    postcodes: set[str] = field(default_factory=set)    # `rules.postcode_key`

    @property
    def words(self) -> list[str]:
        return self.key.split()


@dataclass(frozen=True)
class Pair:
    score: int
    first: Party
    second: Party
    reasons: tuple[str, ...]


_INITIALS = re.compile(r"\b(?:[a-z] )+[a-z]\b")
# Legal forms beyond those of `rules.LEGAL_FORMS`, as they read once their dots are gone.
MORE_FORMS = frozenset({"eg", "ev", "kgaa", "se", "llp", "lp", "gbr", "mbh"})


def match_key(name: str) -> str:
    """`rules.name_key`, with a legal form written with dots taken as one word and dropped
    ('Wright L.L.C.' and 'Wright LLC' -> 'wright')."""
    key = rules.name_key(name)
    if " " not in key:
        return key
    words = _INITIALS.sub(lambda m: m.group(0).replace(" ", ""), key).split()
    kept = [w for w in words if w not in rules.LEGAL_FORMS and w not in MORE_FORMS]
    return " ".join(kept or words)


def phone_key(number: str | None) -> str | None:
    """The last nine digits of a phone number, or None for one too short to compare."""
    digits = _NOT_DIGIT.sub("", number or "")
    return digits[-PHONE_DIGITS:] if len(digits) >= SHORTEST_PHONE else None


@lru_cache(maxsize=65_536)
def skeleton(word: str) -> str:
    """A word without its vowels after the first letter and without doubled letters:
    'mueller' and 'muller' -> 'mlr', 'john' and 'jon' -> 'jhn'/'jn' (see `name_skeleton`)."""
    return word[:1] + _REPEATS.sub(r"\1", _VOWELS.sub("", word[1:].replace("h", "")))


def name_skeleton(key: str) -> str:
    """The name's words as skeletons, sorted (so word order does not matter)."""
    return " ".join(sorted(skeleton(w) for w in key.split()))


def name_similarity(a: str, b: str, at_least: float = 0.0) -> float:
    """How alike two name keys are (0-1): the better of their character similarity and the
    share of words they have in common; a name whose two or more words are all in the other
    counts as 0.85 ('acme trading' in 'acme trading europe'). A similarity that is certainly
    below `at_least` may be given as any value below it (the character comparison is skipped)."""
    if a == b:
        return 1.0
    words_a, words_b = set(a.split()), set(b.split())
    common = len(words_a & words_b)
    shared = common / len(words_a | words_b) if common else 0.0
    smaller = min(len(words_a), len(words_b))
    if common == smaller >= 2:
        shared = max(shared, 0.85)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for bound in (matcher.real_quick_ratio, matcher.quick_ratio):   # upper bounds, cheaper than the ratio
        upper = bound()
        if upper <= shared or upper < at_least:
            return shared
    return max(shared, matcher.ratio())


def score(a: Party, b: Party) -> tuple[int, tuple[str, ...]]:
    """The score of two contacts being one party (0-100) and the reasons, strongest first."""
    points, reasons = 0, []
    if a.key and a.key == b.key:
        points += SAME_NAME
        reasons.append("same name")
    elif a.key and b.key:
        similar = name_similarity(a.key, b.key, at_least=SIMILAR)
        if similar >= SIMILAR:
            points += round(SIMILAR_NAME * similar)
            reasons.append(f"similar name ({round(similar * 100)}%)")
    if shared := a.emails & b.emails:
        points += EMAIL
        reasons.append(f"same e-mail {min(shared)}")
    if shared := a.phones & b.phones:
        points += PHONE
        reasons.append(f"same phone number (ending {min(shared)[-6:]})")
    if shared := a.postcodes & b.postcodes:
        points += POSTCODE
        reasons.append(f"same postcode {min(shared)}")
    if a.kind == b.kind:
        points += SAME_KIND
    else:
        points += OTHER_KIND
        reasons.append(f"one is an {a.kind if a.kind == 'organisation' else b.kind}, the other a person")
    if a.country == b.country:
        points += SAME_COUNTRY
    else:
        points += OTHER_COUNTRY
        reasons.append(f"different countries ({a.country}, {b.country})")
    return max(0, min(100, points)), tuple(reasons)


def blocking_keys(party: Party) -> Iterator[tuple[str, str]]:
    """The groups a contact is put in; two contacts are compared only if they share one."""
    if party.key:
        yield "name", party.key
        yield "skeleton", name_skeleton(party.key)
        words = party.words
        # An organisation by its first word ('acme' of 'acme trading'); a person by surname and initial.
        yield ("first", words[0]) if party.kind == "organisation" else ("last", f"{words[-1]} {words[0][:1]}")
    for email in party.emails:
        yield "email", email
    for phone in party.phones:
        yield "phone", phone
    for postcode in party.postcodes:
        yield "postcode", postcode


def candidate_pairs(parties: Iterable[Party]) -> set[tuple[int, int]]:
    """(i, j) positions, i < j, of the contacts that share a blocking group."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, party in enumerate(parties):
        for key in set(blocking_keys(party)):
            groups[key].append(n)
    pairs: set[tuple[int, int]] = set()
    for members in groups.values():
        if 1 < len(members) <= MAX_GROUP:
            pairs.update(combinations(members, 2))
    return pairs


def likely_duplicates(parties: list[Party], min_score: int = MIN_SCORE, limit: int | None = None) -> list[Pair]:
    """The pairs scoring at least `min_score`, best first (then by the lower id)."""
    found = []
    for i, j in candidate_pairs(parties):
        a, b = parties[i], parties[j]
        if a.id > b.id:
            a, b = b, a
        points, reasons = score(a, b)
        if points >= min_score:
            found.append(Pair(points, a, b, reasons))
    found.sort(key=lambda p: (-p.score, p.first.id, p.second.id))
    return found[:limit] if limit is not None else found


# -- reading the contacts ------------------------------------------------------------------------

def parties(session: Session) -> list[Party]:
    """Every contact as a `Party`: four queries, whatever the number of contacts."""
    by_id: dict[int, Party] = {}
    rows = session.execute(select(Contact.id, Contact.name, Contact.kind, Contact.country,
                                  Contact.email, Contact.phone).order_by(Contact.id))
    for cid, name, kind, country, email, phone in rows:
        party = by_id[cid] = Party(cid, name, kind, country, match_key(name))
        if email:
            party.emails.add(email.lower())
        if tail := phone_key(phone):
            party.phones.add(tail)
    for cid, address in session.execute(select(ContactEmail.contact_id, ContactEmail.address)):
        by_id[cid].emails.add(address.lower())
    for cid, digits in session.execute(select(ContactPhone.contact_id, ContactPhone.digits)):
        if tail := phone_key(digits):
            by_id[cid].phones.add(tail)
    for cid, postcode in session.execute(select(Address.contact_id, Address.postcode)
                                         .where(Address.postcode.is_not(None))):
        if key := rules.postcode_key(postcode):
            by_id[cid].postcodes.add(key)
    return list(by_id.values())


def duplicates(session: Session, actor: Actor, min_score: int = MIN_SCORE,
               limit: int | None = None) -> list[dict[str, Any]]:
    """The likely duplicate contacts, best first, as `contacts duplicates --json` prints them.
    A reason quoting a field the actor may not see leaves the value out."""
    actor.require("read", "contacts")
    hidden = gate.hidden_fields(actor, "contacts")
    rows = []
    for pair in likely_duplicates(parties(session), min_score, limit):
        reasons = [_without_hidden(r, hidden) for r in pair.reasons]
        rows.append({"score": pair.score, "reasons": reasons,
                     "first": _side(pair.first), "second": _side(pair.second)})
    return rows


def _side(party: Party) -> dict[str, Any]:
    return {"id": party.id, "name": party.name, "kind": party.kind, "country": party.country}


_REASON_FIELDS = {"same e-mail": "email", "same phone number": "phone"}


def _without_hidden(reason: str, hidden: frozenset[str]) -> str:
    for start, column in _REASON_FIELDS.items():
        if reason.startswith(start) and column in hidden:
            return start
    return reason
