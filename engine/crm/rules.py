"""The CRM's rules as pure functions: the opportunity stages read from the setting
`crm.stages`, and every problem of an interaction or an opportunity, each with its field and
a stable code. No database: the services call these, the CRM workbook's sheets call the very
same functions on each row.

Stages. `crm.stages` lists "name:probability" in order ("lead:10", ..., "won:100",
"lost:0"): names unique, probabilities 0 to 100, `won` and `lost` among them. It is parsed
and checked once per value (a bad one is refused with a SettingsError naming `crm.stages`,
at the first use). Every stage but `won` and `lost` is open; the pipeline weights an open
opportunity's value by its stage's probability.

A closed opportunity (won or lost) is final: reopening it, or changing it at all, is refused
(`closed`). Why: the won/lost figures and the win rate of a period are a record of what
happened, and a won opportunity may already have become an invoice; a deal that comes back
is a new opportunity (as a closed nonconformance, a new one if the problem came back).

Codes (besides `required`, `invalid`, `too_long`, `places`, `too_large`):

    unknown_stage       a stage that is not one of `crm.stages`
    unknown_currency    a currency that is no ISO 4217 code
    negative            a value below zero
    lost_reason         lost without a reason
    closed              a change to an opportunity already won or lost
    before_occurred     a follow-up date before the interaction itself
    logged              a change to an interaction the mail merge logged (what was sent)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pycountry

from engine.config import SettingsError
from engine.crm.models import AMOUNT, INTERACTION_KINDS, Interaction, Opportunity
from engine.limits import within_limits
from engine.problems import Problem

WON, LOST = "won", "lost"
CLOSED = (WON, LOST)
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Stage:
    name: str
    probability: Decimal      # percent, 0 to 100


@dataclass(frozen=True)
class Stages:
    """The configured stages, in order."""

    stages: tuple[Stage, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    @property
    def open(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages if s.name not in CLOSED)

    def probability(self, name: str) -> Decimal:
        return next(s.probability for s in self.stages if s.name == name)

    def __contains__(self, name: object) -> bool:
        return name in self.names


def parse_stages(entries: Sequence[str]) -> Stages:
    """`crm.stages` as Stages, checked: refused whole with a SettingsError naming the setting."""
    return _parse(tuple(entries))


def _refused(what: str) -> SettingsError:
    return SettingsError(f"setting crm.stages: {what}; write it as a list of \"name:probability\" in order, e.g. "
                         "[\"lead:10\", \"proposal:50\", \"won:100\", \"lost:0\"], in config/backoffice.toml or "
                         "BACKOFFICE_CRM__STAGES.", "crm.stages")


@functools.lru_cache(maxsize=8)
def _parse(entries: tuple[str, ...]) -> Stages:
    stages: list[Stage] = []
    for entry in entries:
        name, colon, number = str(entry).partition(":")
        name = name.strip().lower()
        if not colon or not name:
            raise _refused(f"{entry!r} is not \"name:probability\"")
        try:
            probability = Decimal(number.strip())
        except InvalidOperation:
            raise _refused(f"the probability of {name!r} ({number.strip()!r}) is not a number") from None
        if not probability.is_finite() or not 0 <= probability <= HUNDRED:
            raise _refused(f"the probability of {name!r} must be from 0 to 100, not {number.strip()}")
        if len(name) > 32:
            raise _refused(f"the stage name {name!r} is longer than 32 characters")
        if name in (s.name for s in stages):
            raise _refused(f"the stage {name!r} is named twice")
        stages.append(Stage(name, probability))
    missing = [n for n in CLOSED if n not in (s.name for s in stages)]
    if missing:
        raise _refused(f"{' and '.join(missing)} must be among the stages")
    if len(stages) == len(CLOSED):
        raise _refused("there must be at least one open stage besides won and lost")
    return Stages(tuple(stages))


def weighted(value: Decimal, probability: Decimal) -> Decimal:
    """An open opportunity's value weighted by its stage's probability, in cents (rounded half
    to even, as the ledger's amounts are)."""
    return (value * probability / HUNDRED).quantize(Decimal("0.01"))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _tidy(row: dict[str, Any], *fields: str) -> None:
    for field in fields:
        if isinstance(row.get(field), str):
            row[field] = row[field].strip() or None


# -- interactions ------------------------------------------------------------------------------

def interaction_defaults(row: dict[str, Any]) -> dict[str, Any]:
    """An interaction as stored from what was typed: text trimmed, kind in lower case."""
    _tidy(row, "summary", "owner")
    if isinstance(row.get("kind"), str):
        row["kind"] = row["kind"].strip().lower() or None
    return row


def check_interaction(values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    if values.get("contact_id") is None:
        problems.append(Problem("contact_id", "required", "an interaction is with a contact"))
    kind = values.get("kind")
    if _blank(kind):
        problems.append(Problem("kind", "required", f"an interaction needs its kind: {', '.join(INTERACTION_KINDS)}"))
    elif kind not in INTERACTION_KINDS:
        problems.append(Problem("kind", "invalid", f"{kind!r} is not a kind of interaction; use one of: "
                                                   f"{', '.join(INTERACTION_KINDS)}"))
    if _blank(values.get("summary")):
        problems.append(Problem("summary", "required", "an interaction needs a summary of what passed"))
    occurred, follow_up = values.get("occurred_on"), values.get("follow_up_on")
    if occurred is None:
        problems.append(Problem("occurred_on", "required", "an interaction needs its date"))
    elif follow_up is not None and hasattr(follow_up, "toordinal") and follow_up < occurred:
        problems.append(Problem("follow_up_on", "before_occurred",
                                f"the follow-up ({follow_up}) comes before the interaction ({occurred})"))
    return within_limits(problems, Interaction, values)


def check_interaction_change(logged: bool) -> list[Problem]:
    """An interaction the mail merge logged is the record of what was sent: it stays."""
    if logged:
        return [Problem("summary", "logged", "this interaction was logged by the mail merge (what was sent, with "
                                             "its Message-ID): it cannot be changed or deleted; add a note instead")]
    return []


# -- opportunities -----------------------------------------------------------------------------

def opportunity_defaults(row: dict[str, Any], stages: Stages, base_currency: str) -> dict[str, Any]:
    """An opportunity as stored from what was typed: the first stage, a value of 0 and the
    base currency unless given; stage and currency in their case."""
    _tidy(row, "title", "owner", "lost_reason", "currency", "stage")
    row["stage"] = (row.get("stage") or stages.names[0]).lower()
    row["currency"] = (row.get("currency") or base_currency).upper()
    if row.get("value") is None:
        row["value"] = Decimal(0)
    elif not isinstance(row["value"], Decimal):
        try:
            row["value"] = Decimal(str(row["value"]))
        except InvalidOperation:
            pass       # left as typed: check_opportunity says it is no number
    return row


def check_opportunity(values: Mapping[str, Any], stages: Stages) -> list[Problem]:
    """Every problem of an opportunity as it would be stored."""
    problems = []
    if values.get("contact_id") is None:
        problems.append(Problem("contact_id", "required", "an opportunity is with a contact"))
    if _blank(values.get("title")):
        problems.append(Problem("title", "required", "an opportunity needs a title"))
    stage = values.get("stage")
    if stage not in stages:
        problems.append(Problem("stage", "unknown_stage", f"{stage!r} is not a stage; the stages (crm.stages) are: "
                                                          f"{', '.join(stages.names)}"))
    value = values.get("value")
    if not isinstance(value, Decimal | int) or (isinstance(value, Decimal) and not value.is_finite()):
        problems.append(Problem("value", "invalid", f"{value!r} is not an amount"))
    elif value < 0:
        problems.append(Problem("value", "negative", "an opportunity's value cannot be below zero"))
    elif isinstance(value, Decimal) and value != value.quantize(Decimal(1).scaleb(-AMOUNT)):
        problems.append(Problem("value", "places", f"{value} has more than {AMOUNT} decimal places"))
    currency = values.get("currency")
    if _blank(currency) or currency not in CURRENCIES:
        problems.append(Problem("currency", "unknown_currency", f"{currency!r} is not an ISO 4217 currency code "
                                                                "such as EUR, GBP or USD"))
    if stage == LOST and _blank(values.get("lost_reason")):
        problems.append(Problem("lost_reason", "lost_reason", "say why it was lost (the lost reason)"))
    return within_limits(problems, Opportunity, values)


def check_opportunity_change(stage_now: str, label: str) -> list[Problem]:
    """A closed opportunity is final (see the module's docstring)."""
    if stage_now in CLOSED:
        return [Problem("stage", "closed", f"{label} is {stage_now} already: a closed opportunity is final; add a new "
                                           "opportunity if the deal came back")]
    return []
