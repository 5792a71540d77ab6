"""The asset register's rules as pure functions: every problem of an asset, a change to one,
an assignment, a return and a disposal, each with its field and a stable code. No database:
the services (`engine.admin.assets`) look up what the rules need and call these; the Office
workbook's Assets sheet calls the very same `asset_defaults` and `check_asset` on each row.

Codes (besides `required`, `invalid`, `places`, `too_large`, `negative`):

    residual        a residual value above the cost
    rate            a declining-balance asset without a yearly rate in (0, 1), or a rate
                    given to a straight-line one
    before_purchase a warranty end, assignment or disposal dated before the purchase
    fixed           a change of how the asset is valued (cost, purchase date, method, life,
                    residual, rate) once a month of its depreciation has been recorded or it
                    was put in the books, or of any field once it is disposed of
    not_here        a field changed only by its own operation (who has it: assign and
                    return; disposal: dispose)
    assigned        assigning an asset someone has: it must be returned first
    not_assigned    returning an asset nobody has
    leaver          assigning to an employee after their last day (or who was purged)
    disposed        assigning, returning or disposing of a disposed asset
    overlaps        an assignment dated before the previous one ended, a return before its
                    assignment, a disposal before the asset's last assignment or return
    posted_after    a disposal dated in or before a month whose depreciation is recorded
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.admin.models import DEPRECIATION_METHODS, RATE, Asset
from engine.inventory.rules import check_number
from engine.limits import within_limits
from engine.problems import Problem

MAX_LIFE_MONTHS = 1200           # a hundred years
VALUATION = ("purchased_on", "cost", "method", "useful_life_months", "residual_value", "declining_rate")
DESCRIBING = ("tag", "description", "category", "supplier_id", "location", "warranty_ends_on")
ASSET_FIELDS = DESCRIBING + VALUATION
OWN_OPERATION = {"employee_id": "assign and return it (`backoffice assets assign` / `return`)",
                 "disposed_on": "dispose of it (`backoffice assets dispose`)",
                 "disposal_proceeds": "dispose of it (`backoffice assets dispose`)",
                 "disposal_reason": "dispose of it (`backoffice assets dispose`)"}
NAMES = {"tag": "tag", "description": "description", "category": "category", "purchased_on": "purchase date",
         "cost": "cost", "useful_life_months": "useful life in months"}


def _decimal(value: Any) -> Any:
    if value is None or isinstance(value, Decimal) or isinstance(value, bool):
        return value
    if isinstance(value, int | str | float):
        try:
            return Decimal(str(value).strip()) if str(value).strip() else None
        except InvalidOperation:
            return value
    return value


def asset_defaults(row: dict[str, Any]) -> dict[str, Any]:
    """An asset as stored from what was typed: straight line unless said, residual 0, money
    and rates as Decimals, text stripped."""
    for key in ("tag", "description", "category", "location"):
        if isinstance(row.get(key), str):
            row[key] = row[key].strip() or None
    method = row.get("method") or "straight_line"
    row["method"] = method.strip().lower().replace(" ", "_").replace("-", "_") if isinstance(method, str) else method
    for key in ("cost", "residual_value", "declining_rate"):
        row[key] = _decimal(row.get(key))
    if row.get("residual_value") is None:
        row["residual_value"] = Decimal(0)
    return row


def _money(field: str, value: Any) -> list[Problem]:
    """An amount in cents, not below zero, that the database can hold."""
    if value is None:
        return []
    if not isinstance(value, Decimal):
        return [Problem(field, "invalid", f"{value!r} is not an amount of money")]
    return check_number(field, value, 2, below_zero=False)


def check_asset(values: Mapping[str, Any]) -> list[Problem]:
    """Every problem of an asset as it would be stored."""
    problems = [Problem(f, "required", f"an asset needs its {NAMES[f]}") for f in NAMES if values.get(f) in (None, "")]
    problems += _money("cost", values.get("cost")) + _money("residual_value", values.get("residual_value"))
    cost, residual = values.get("cost"), values.get("residual_value")
    if not any(p.field in ("cost", "residual_value") for p in problems) and isinstance(cost, Decimal) \
            and isinstance(residual, Decimal) and residual > cost:
        problems.append(Problem("residual_value", "residual", f"the residual value {residual} is above the cost {cost}"))
    life = values.get("useful_life_months")
    if life is not None and (not isinstance(life, int) or isinstance(life, bool) or not 1 <= life <= MAX_LIFE_MONTHS):
        problems.append(Problem("useful_life_months", "invalid",
                                f"{life!r} is not a useful life: a whole number of months from 1 to {MAX_LIFE_MONTHS}"))
    method = values.get("method")
    if method not in DEPRECIATION_METHODS:
        problems.append(Problem("method", "invalid", f"{method!r} is not a depreciation method; use one of: "
                                                      f"{', '.join(DEPRECIATION_METHODS)}"))
    rate = values.get("declining_rate")
    if method == "declining_balance":
        if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 < rate < 1:  # (a huge one too)
            problems.append(Problem("declining_rate", "rate", "a declining-balance asset needs its yearly rate, "
                                                              "above 0 and below 1 (0.25 for 25 % a year)"))
        elif rate != rate.quantize(Decimal(1).scaleb(-RATE)):
            problems.append(Problem("declining_rate", "places", f"{rate} has more than {RATE} decimal places"))
    elif rate is not None:
        problems.append(Problem("declining_rate", "rate", "a yearly rate is for declining balance only: leave it "
                                                          "empty for straight line"))
    bought, warranty = values.get("purchased_on"), values.get("warranty_ends_on")
    if isinstance(bought, date) and isinstance(warranty, date) and warranty < bought:
        problems.append(Problem("warranty_ends_on", "before_purchase",
                                f"the warranty ends ({warranty}) before the asset was bought ({bought})"))
    finite = {k: v for k, v in values.items() if not (isinstance(v, Decimal) and not v.is_finite())}   # (reported)
    return within_limits(problems, Asset, finite)


def check_change(before: Mapping[str, Any], after: Mapping[str, Any], *, valued: bool, disposed: bool) -> list[Problem]:
    """What a change may not do: change how an asset is valued once its depreciation is
    recorded or it is in the books (`valued`), anything once it is disposed of, or a field
    its own operation changes."""
    problems = [Problem(f, "not_here", f"{f.replace('_', ' ')} is not changed here: {how}")
                for f, how in OWN_OPERATION.items() if f in after and after[f] != before.get(f)]
    frozen = ASSET_FIELDS if disposed else VALUATION if valued else ()
    why = ("it is disposed of: its record stays as it was" if disposed else
           "its depreciation is recorded (or it is in the books) from these values: dispose of it and add it again "
           "to correct it")
    problems += [Problem(f, "fixed", f"{f.replace('_', ' ')} cannot change: {why}")
                 for f in frozen if f in after and after[f] != before.get(f)]
    return problems


@dataclass(frozen=True)
class Holding:
    """What an assignment, return or disposal is checked against (looked up by the service)."""

    purchased_on: date
    disposed_on: date | None
    holder: int | None                 # who has it now (employee id)
    assigned_on: date | None           # since when (the open assignment)
    last_returned_on: date | None      # the latest return of a closed assignment
    holder_name: str | None = None     # who has it, as people know them ("E0032 Annabel Galijn")


def check_assignment(asset: Holding, on: date, employee_left: date | None, purged: bool) -> list[Problem]:
    problems = []
    if asset.disposed_on is not None:
        problems.append(Problem("tag", "disposed", f"the asset was disposed of on {asset.disposed_on}"))
    if asset.holder is not None:
        problems.append(Problem("employee_id", "assigned", f"the asset is with {asset.holder_name or 'someone'} "
                                f"since {asset.assigned_on}: return it first (give that assignment its "
                                "returned date, or `backoffice assets return`)"))
    if purged or (employee_left is not None and on > employee_left):
        problems.append(Problem("employee_id", "leaver", "the employee's records were purged" if purged else
                                f"the employee is a leaver (last day {employee_left}): they cannot receive an asset "
                                f"after it"))
    if on < asset.purchased_on:
        problems.append(Problem("assigned_on", "before_purchase", f"{on} is before the asset was bought "
                                                                  f"({asset.purchased_on})"))
    elif asset.last_returned_on is not None and on < asset.last_returned_on:
        problems.append(Problem("assigned_on", "overlaps", f"{on} is before the asset was last returned "
                                                           f"({asset.last_returned_on})"))
    return problems


def check_return(asset: Holding, on: date) -> list[Problem]:
    if asset.holder is None or asset.assigned_on is None:
        return [Problem("tag", "not_assigned", "the asset is not assigned to anyone")]
    if on < asset.assigned_on:
        return [Problem("returned_on", "overlaps", f"{on} is before the asset was assigned ({asset.assigned_on})")]
    return []


def check_disposal(asset: Holding, on: date, proceeds: Any, last_posted: date | None) -> list[Problem]:
    """`last_posted`: the latest month (its first day) whose depreciation is recorded."""
    problems = _money("disposal_proceeds", proceeds)
    if asset.disposed_on is not None:
        problems.append(Problem("tag", "disposed", f"the asset was disposed of on {asset.disposed_on} already"))
    if on < asset.purchased_on:
        problems.append(Problem("disposed_on", "before_purchase", f"{on} is before the asset was bought "
                                                                  f"({asset.purchased_on})"))
    elif last_posted is not None and on.replace(day=1) <= last_posted:
        problems.append(Problem("disposed_on", "posted_after",
                                f"depreciation is recorded through {last_posted:%Y-%m}: a disposal takes effect "
                                f"after the last month depreciated, so date it {last_posted.year + last_posted.month // 12}"
                                f"-{last_posted.month % 12 + 1:02d}-01 or later"))
    elif asset.assigned_on is not None and on < asset.assigned_on:
        problems.append(Problem("disposed_on", "overlaps", f"{on} is before the asset was assigned "
                                                           f"({asset.assigned_on})"))
    elif asset.last_returned_on is not None and on < asset.last_returned_on:
        problems.append(Problem("disposed_on", "overlaps", f"{on} is before the asset was last returned "
                                                           f"({asset.last_returned_on})"))
    return problems
