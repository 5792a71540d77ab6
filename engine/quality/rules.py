"""Quality's rules as pure functions: every problem of a plan, a characteristic, a set of
measurements, a disposition, a nonconformance or an action, each with its field and a stable
code; and the decision of an inspection from its measurements. No database: the services call
these, the Quality workbook's sheets call the very same functions on each row.

The decision is never typed. A measured value conforms only within its limits (a value
exactly on a limit conforms); an attribute conforms when it passed. A sample unit is
nonconforming when any of its characteristics does not conform; the lot is accepted when no
unit has a critical defect (critical defects are never accepted: Ac 0) and the units with a
major or minor defect are no more than the plan's acceptance number. A measurement that is
missing is a problem, never a pass: an inspection is decided on all of them or not at all.

Codes (besides `required`, `invalid`, `places`, `too_large`, `negative`, `not_allowed`):

    limits          a lower limit above the upper one, a nominal outside the limits
    missing         a measurement the sample needs that was not given
    extra           a measurement beyond the sample size, or of a characteristic not in the plan
    duplicate       the same sample and characteristic given twice
    wrong_kind      a number for a pass/fail characteristic, or pass/fail for a measured one
    not_held        a disposition of a lot that is not held (available or rejected already)
    workflow        a nonconformance moved out of its order (open, investigating, action,
                    verification, closed), or closed with actions still open
    verifier        closed by its owner, or by an owner of one of its actions
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from engine.inventory.rules import check_number
from engine.limits import within_limits
from engine.problems import Problem
from engine.quality import sampling
from engine.quality.models import (
    ACTION_KINDS,
    ACTION_STATES,
    AQL,
    CHARACTERISTIC_KINDS,
    DECISIONS,
    DEFECT_CLASSES,
    FISHBONE_CATEGORIES,
    MEASURE,
    NCR_SEVERITIES,
    NCR_STATES,
    ROOT_CAUSE_METHODS,
    SAMPLING_METHODS,
    Action,
    Characteristic,
    InspectionPlan,
    Nonconformance,
)


def _choice(field: str, value: Any, allowed: Sequence[str], what: str) -> list[Problem]:
    if value is None or value in allowed:
        return []
    return [Problem(field, "invalid", f"{value!r} is not {what}; use one of: {', '.join(allowed)}")]


# -- plans and characteristics ---------------------------------------------------------------

def plan_defaults(row: dict[str, Any]) -> dict[str, Any]:
    """A plan as stored from what was typed: standard sampling at general level II, with
    switching, active; the supplier key that makes one plan per item and supplier."""
    row["sampling"] = (row.get("sampling") or "standard").lower()
    row["level"] = str(row.get("level") or "II").upper()
    row["switching"] = True if row.get("switching") is None else bool(row["switching"])
    row["active"] = True if row.get("active") is None else bool(row["active"])
    row["supplier_key"] = row.get("supplier_id") or 0
    if row["sampling"] == "standard" and row.get("aql") is not None and not isinstance(row["aql"], Decimal):
        row["aql"] = Decimal(str(row["aql"]))
    return row


def check_plan(values: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(f, "required", f"a plan needs its {_PLAN_NAMES[f]}")
                for f in ("code", "item_id") if not values.get(f)]
    method = values.get("sampling")
    problems += _choice("sampling", method, SAMPLING_METHODS, "a sampling method")
    if method == "standard":
        problems += _choice("level", values.get("level"), sampling.INSPECTION_LEVELS, "an inspection level")
        aql = values.get("aql")
        if aql is None:
            problems.append(Problem("aql", "required", "standard sampling needs the AQL (e.g. 1.0 or 2.5)"))
        elif not isinstance(aql, Decimal) or aql not in sampling.AQLS:
            problems.append(Problem("aql", "invalid", f"{aql} is not one of the standard's AQLs: "
                                                      f"{', '.join(str(a) for a in sampling.AQLS)}"))
        else:
            problems += check_number("aql", aql, AQL, below_zero=False)
    elif method == "fixed":
        size, accept = values.get("sample_size"), values.get("accept_number")
        if not isinstance(size, int) or size < 1:
            problems.append(Problem("sample_size", "required" if size is None else "invalid",
                                    "fixed sampling needs the sample size: a whole number of 1 or more"))
        if not isinstance(accept, int) or accept < 0:
            problems.append(Problem("accept_number", "required" if accept is None else "invalid",
                                    "fixed sampling needs the acceptance number: how many nonconforming units a "
                                    "lot may have and still be accepted (0 or more)"))
        elif isinstance(size, int) and accept >= size:
            problems.append(Problem("accept_number", "invalid", f"accepting {accept} nonconforming units of a sample "
                                                                f"of {size} accepts every lot: use fewer"))
    return within_limits(problems, InspectionPlan, values)


_PLAN_NAMES = {"code": "code", "item_id": "item"}


def characteristic_defaults(row: dict[str, Any]) -> dict[str, Any]:
    row["kind"] = (row.get("kind") or "measured").lower()
    row["defect_class"] = (row.get("defect_class") or "major").lower()
    return row


def check_characteristic(values: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(f, "required", f"a characteristic needs its {_CHAR_NAMES[f]}")
                for f in ("plan_id", "name") if not values.get(f)]
    kind = values.get("kind")
    problems += _choice("kind", kind, CHARACTERISTIC_KINDS, "a kind of characteristic")
    problems += _choice("defect_class", values.get("defect_class"), DEFECT_CLASSES, "a defect class")
    lower, nominal, upper = (values.get(k) for k in ("lower_limit", "nominal", "upper_limit"))
    for field in ("lower_limit", "nominal", "upper_limit"):
        problems += check_number(field, values.get(field), MEASURE)
    if kind == "measured":
        if lower is None and upper is None:
            problems.append(Problem("upper_limit", "required", "a measured characteristic needs a lower limit, an "
                                                               "upper limit, or both"))
        if lower is not None and upper is not None and lower >= upper:
            problems.append(Problem("upper_limit", "limits", f"the upper limit {upper} must be above the lower "
                                                             f"limit {lower}"))
        elif nominal is not None and ((lower is not None and nominal < lower) or (upper is not None and nominal > upper)):
            problems.append(Problem("nominal", "limits", f"the nominal {nominal} is outside the limits"))
    elif kind == "attribute":
        problems += [Problem(f, "not_allowed", "a pass/fail characteristic has no limits, nominal or unit: leave "
                                               "it empty") for f in ("lower_limit", "nominal", "upper_limit", "unit")
                     if values.get(f) is not None]
    return within_limits(problems, Characteristic, values)


_CHAR_NAMES = {"plan_id": "plan", "name": "name"}


# -- inspections -------------------------------------------------------------------------------

class CharacteristicFacts(Protocol):
    """What a decision needs of a characteristic (a `Characteristic` row will do)."""

    id: int
    name: str
    kind: str
    lower_limit: Decimal | None
    upper_limit: Decimal | None
    defect_class: str


@dataclass(frozen=True)
class Found:
    """One characteristic of one sample unit as found: a measured value, or passed."""

    sample_number: int
    characteristic_id: int
    value: Decimal | None = None
    passed: bool | None = None


@dataclass(frozen=True)
class Decision:
    conforms: dict[tuple[int, int], bool]   # (sample, characteristic) -> conforms
    nonconforming: int                      # units with a major or minor defect only
    critical: int                           # units with a critical defect
    accepted: bool


def conforms(characteristic: CharacteristicFacts, found: Found) -> bool:
    """A measured value within its limits (on a limit is within); an attribute that passed."""
    if characteristic.kind == "attribute":
        return bool(found.passed)
    value = found.value
    if value is None:
        return False
    return ((characteristic.lower_limit is None or value >= characteristic.lower_limit)
            and (characteristic.upper_limit is None or value <= characteristic.upper_limit))


def check_measurements(sample_size: int, characteristics: Iterable[CharacteristicFacts],
                       found: Iterable[Found]) -> list[Problem]:
    """Every problem of the measurements of one inspection: one per sample unit and
    characteristic, the right kind each, none missing, none extra. A problem of one
    measurement has its `line` (1-based, in the order given); the missing ones, none."""
    by_id = {c.id: c for c in characteristics}
    seen: set[tuple[int, int]] = set()
    given: set[tuple[int, int]] = set()   # with a value or pass/fail (a blank is missing)
    problems = []
    for line, f in enumerate(found, 1):
        key = (f.sample_number, f.characteristic_id)
        c = by_id.get(f.characteristic_id)
        if c is None:
            problems.append(Problem("characteristic_id", "extra", f"characteristic #{f.characteristic_id} is not "
                                                                  "in the lot's inspection plan", line))
            continue
        if not 1 <= f.sample_number <= sample_size:
            problems.append(Problem("sample_number", "extra", f"the sample is {sample_size} units: there is no "
                                                              f"sample {f.sample_number} of {c.name}", line))
            continue
        if key in seen:
            problems.append(Problem("sample_number", "duplicate", f"sample {f.sample_number} of {c.name} is given "
                                                                  "twice", line))
        seen.add(key)
        if f.value is not None or f.passed is not None:
            given.add(key)
        if c.kind == "measured" and f.passed is not None:
            problems.append(Problem("value", "wrong_kind", f"{c.name} is measured: give the value, not pass/fail", line))
        elif c.kind == "attribute" and f.value is not None:
            problems.append(Problem("passed", "wrong_kind", f"{c.name} is pass/fail: give pass or fail, not a "
                                                            "number", line))
        elif f.value is not None:
            problems += [Problem(p.field, p.code, p.message, line) for p in check_number("value", f.value, MEASURE)]
    missing = [(n, c) for n in range(1, sample_size + 1) for c in by_id.values() if (n, c.id) not in given]
    if missing:
        shown = ", ".join(f"sample {n} of {c.name}" for n, c in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        problems.append(Problem("value", "missing", f"{len(missing)} measurement(s) missing: {shown}{more}; an "
                                                    "inspection is decided on every sample unit, never on part"))
    return problems


def decide(accept_number: int, characteristics: Iterable[CharacteristicFacts], found: Iterable[Found]) -> Decision:
    """The decision of a complete inspection (see the module docstring)."""
    by_id = {c.id: c for c in characteristics}
    results = {(f.sample_number, f.characteristic_id): conforms(by_id[f.characteristic_id], f) for f in found}
    worst: dict[int, str] = {}   # sample -> its worst defect class
    rank = {name: n for n, name in enumerate(DEFECT_CLASSES)}   # critical 0 is the worst
    for (sample, characteristic), ok in results.items():
        if not ok:
            cls = by_id[characteristic].defect_class
            if sample not in worst or rank[cls] < rank[worst[sample]]:
                worst[sample] = cls
    critical = sum(1 for cls in worst.values() if cls == "critical")
    nonconforming = len(worst) - critical
    return Decision(results, nonconforming, critical, critical == 0 and nonconforming <= accept_number)


# -- dispositions ------------------------------------------------------------------------------

HELD = ("awaiting inspection", "quarantined")


def check_disposition(lot_status: str, lot_number: str, decision: str | None, reason: str | None) -> list[Problem]:
    problems = _choice("decision", decision, DECISIONS, "a disposition")
    if decision is None:
        problems.append(Problem("decision", "required", f"choose one: {', '.join(DECISIONS)}"))
    if not (reason or "").strip():
        problems.append(Problem("reason", "required", "a disposition needs its reason, for the record"))
    if lot_status not in HELD:
        problems.append(Problem("lot_id", "not_held", f"lot {lot_number} is {lot_status}: only a lot awaiting "
                                                      "inspection or quarantined is disposed of"))
    return problems


def check_certifiable(lot: str, status: str, inspected_on: date | None, accepted: bool | None,
                      disposition: str | None) -> list[Problem]:
    """A certificate states a decision: refused for a lot never inspected, one inspected
    again after rework and not yet decided, or one rejected and not yet disposed of."""
    if inspected_on is None:
        return [Problem("lot", "not_inspected", f"lot {lot} has not been inspected (it is {status}): a "
                                                "certificate states an inspection's decision")]
    if status == "awaiting inspection":
        return [Problem("lot", "not_decided", f"lot {lot} was reworked and awaits its inspection again: no "
                                              "certificate until that inspection decides it")]
    if not accepted and disposition is None:
        return [Problem("lot", "not_decided", f"lot {lot} was rejected on {inspected_on.isoformat()} and is "
                                              f"{status}, waiting for its disposition: no certificate until "
                                              "it is decided")]
    return []


# -- nonconformances and actions ---------------------------------------------------------------

def ncr_defaults(row: dict[str, Any]) -> dict[str, Any]:
    row["severity"] = (row.get("severity") or "major").lower()
    row["status"] = row.get("status") or "open"
    return row


def check_ncr(values: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(f, "required", f"a nonconformance needs its {f.replace('_', ' ')}")
                for f in ("title", "opened_on", "owner") if not values.get(f)]
    problems += _choice("severity", values.get("severity"), NCR_SEVERITIES, "a severity")
    problems += _choice("status", values.get("status"), NCR_STATES, "a state")
    problems += _choice("root_cause_method", values.get("root_cause_method"), ROOT_CAUSE_METHODS,
                        "a root-cause method")
    problems += _choice("cause_category", values.get("cause_category"), FISHBONE_CATEGORIES,
                        "a fishbone category")
    if not any(values.get(f) for f in ("lot_id", "item_id", "supplier_id", "customer_id")):
        problems.append(Problem("item_id", "required", "a nonconformance is about something: give the lot, the "
                                                       "item, the supplier or the customer who complained"))
    return within_limits(problems, Nonconformance, values)


# What each state needs before the nonconformance moves on to it.
def check_advance(ncr: Mapping[str, Any], to: str, actions: Sequence[Mapping[str, Any]],
                  verifier: str | None) -> list[Problem]:
    """Moving a nonconformance one step on: open -> investigating -> action -> verification
    -> closed, each step needing what it stands on. Closing needs every action done and a
    verifier who is neither its owner nor an owner of one of its actions."""
    now = ncr.get("status") or "open"
    if to not in NCR_STATES:
        return [Problem("status", "invalid", f"{to!r} is not a state; use one of: {', '.join(NCR_STATES)}")]
    if to == now:
        return []
    steps = NCR_STATES.index(to) - NCR_STATES.index(now)
    if steps != 1:
        following = NCR_STATES[NCR_STATES.index(now) + 1] if now != "closed" else None
        after = f"it goes on to {following} next" if following else "a closed nonconformance stays closed"
        return [Problem("status", "workflow", f"a nonconformance in {now} cannot go to {to}: {after}")]
    problems = []
    if to == "investigating" and not ncr.get("containment"):
        problems.append(Problem("containment", "required", "say how the problem is contained before investigating"))
    if to == "action":
        if not ncr.get("root_cause"):
            problems.append(Problem("root_cause", "required", "find the root cause (5 whys or fishbone) before "
                                                              "acting on it"))
        if not ncr.get("root_cause_method"):
            problems.append(Problem("root_cause_method", "required", "say how the root cause was found: "
                                                                     f"{' or '.join(ROOT_CAUSE_METHODS)}"))
        elif ncr.get("root_cause_method") == "fishbone" and not ncr.get("cause_category"):
            problems.append(Problem("cause_category", "required", "a fishbone root cause names its category: "
                                                                  f"{', '.join(FISHBONE_CATEGORIES)}"))
    if to == "verification":
        if not actions:
            problems.append(Problem("status", "workflow", "add the corrective action(s) before verification"))
    if to in ("verification", "closed"):
        still_open = [a for a in actions if a.get("status") != "done"]
        if to == "closed" and still_open:
            problems.append(Problem("status", "workflow", f"{len(still_open)} action(s) still open: "
                                    + "; ".join(f"#{a.get('id')} {a.get('description')} ({a.get('owner')})"
                                                for a in still_open[:5])))
    if to == "closed":
        owners = {ncr.get("owner")} | {a.get("owner") for a in actions}
        if not verifier:
            problems.append(Problem("verifier", "required", "closing needs the verifier who checked the actions "
                                                            "worked"))
        elif verifier in owners:
            problems.append(Problem("verifier", "verifier", f"{verifier} owns this nonconformance or one of its "
                                                            "actions: someone else verifies it"))
    return problems


def action_defaults(row: dict[str, Any]) -> dict[str, Any]:
    row["kind"] = (row.get("kind") or "corrective").lower()
    row["status"] = (row.get("status") or "open").lower()
    return row


def check_action(values: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(f, "required", f"an action needs its {_ACTION_NAMES[f]}")
                for f in ("ncr_id", "description", "owner", "due_on") if not values.get(f)]
    problems += _choice("kind", values.get("kind"), ACTION_KINDS, "a kind of action")
    problems += _choice("status", values.get("status"), ACTION_STATES, "an action's state")
    if values.get("status") == "done" and not values.get("done_on"):
        problems.append(Problem("done_on", "required", "a done action says when it was done"))
    if values.get("done_on") and values.get("status") != "done":
        problems.append(Problem("status", "conflict", "an action with a done date is done: set its status to done"))
    return within_limits(problems, Action, values)


_ACTION_NAMES = {"ncr_id": "nonconformance", "description": "description", "owner": "owner", "due_on": "due date"}
