"""The asset register's operations, each inside the caller's unit of work (one transaction):
add and change an asset, assign it to an employee and take it back, dispose of it, and
record each month's depreciation. Every one needs write access to admin and refuses with
every problem (`asset_rules`), each on its field.

An asset is assigned to at most one employee at a time: assigning an asset someone has is
refused until it is returned (the history in `asset_assignments` never overlaps), and
`assets.employee_id` is kept in step with the open assignment here, and only here.

Depreciation (`engine.admin.depreciation` says how it is computed) is recorded month by
month in `depreciation_postings`, once per asset and month: `record_depreciation` records
every month not recorded yet up to the month asked, so running it twice records nothing
twice. Admin announces what happened (`engine.admin.hooks`); when `admin.post_depreciation`
is on, the bridge `engine.bridges.asset_depreciation` posts it to the books in the same
transaction, and a closed period refuses the whole operation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.admin import asset_rules as rules
from engine.admin import hooks
from engine.admin.depreciation import Month, add_months, cents, month_of, schedule
from engine.admin.models import Asset, AssetAssignment, DepreciationPosting
from engine.contacts.models import Contact
from engine.db.base import apply_changes, require_version
from engine.errors import NotFound, ValidationFailed
from engine.problems import Problem
from engine.security.roles import Actor
from engine.staff.models import Employee

AREA = "admin"


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise ValidationFailed(problems)


# -- looking up ---------------------------------------------------------------------------------

def asset_tagged(session: Session, tag: str, field: str = "tag") -> Asset:
    """An asset by its tag (without regard to case when only one matches)."""
    tag = tag.strip()
    found = session.scalars(select(Asset).where(Asset.tag == tag)).first()
    if found is None:
        matches = session.scalars(select(Asset).where(func.upper(Asset.tag) == tag.upper())).all()
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise NotFound(f"there is no asset tagged {tag!r}; `backoffice assets list` shows the tags", field=field)
    return found


def employee_numbered(session: Session, number: str, field: str = "employee_id") -> Employee:
    found = session.scalars(select(Employee).where(func.upper(Employee.employee_number) == number.strip().upper())).first()
    if found is None:
        raise NotFound(f"there is no employee with the number {number.strip()!r}", field=field)
    return found


def _asset(session: Session, asset_id: int) -> Asset:
    found = session.get(Asset, asset_id)
    if found is None:
        raise NotFound(f"there is no asset #{asset_id}", "id")
    return found


def asset_schedule(asset: Asset) -> list[Month]:
    """The asset's depreciation, month by month (stopping before the month of its disposal)."""
    return schedule(asset.cost, asset.residual_value, asset.useful_life_months, asset.purchased_on, asset.method,
                    asset.declining_rate, asset.disposed_on)


def open_assignment(session: Session, asset_id: int) -> AssetAssignment | None:
    return session.scalars(select(AssetAssignment).where(AssetAssignment.asset_id == asset_id,
                                                         AssetAssignment.returned_on.is_(None))).first()


def _holding(session: Session, asset: Asset) -> rules.Holding:
    current = open_assignment(session, asset.id)
    last = session.scalar(select(func.max(AssetAssignment.returned_on)).where(AssetAssignment.asset_id == asset.id))
    holder = None
    if asset.employee_id is not None:       # named in a refusal: who has it
        holder = " ".join(n for n in session.execute(
            select(Employee.employee_number, Contact.name).outerjoin(Contact, Contact.id == Employee.contact_id)
            .where(Employee.id == asset.employee_id)).one() if n)
    return rules.Holding(asset.purchased_on, asset.disposed_on, asset.employee_id,
                         current.assigned_on if current else None, last, holder)


def last_posted_month(session: Session, asset_id: int) -> date | None:
    return session.scalar(select(func.max(DepreciationPosting.month)).where(DepreciationPosting.asset_id == asset_id))


def _record_problems(session: Session, row: Mapping[str, Any], asset_id: int | None = None) -> list[Problem]:
    problems = []
    if row.get("tag"):
        taken = select(Asset.id).where(func.upper(Asset.tag) == str(row["tag"]).upper())
        if asset_id is not None:
            taken = taken.where(Asset.id != asset_id)
        if session.scalar(taken) is not None:
            problems.append(Problem("tag", "duplicate", f"the tag {row['tag']!r} is another asset's"))
    if row.get("supplier_id") is not None and session.get(Contact, row["supplier_id"]) is None:
        problems.append(Problem("supplier_id", "reference", f"there is no contact {row['supplier_id']}"))
    return problems


# -- adding and changing ------------------------------------------------------------------------

def add_asset(session: Session, actor: Actor, values: Mapping[str, Any]) -> Asset:
    """Add an asset to the register (and, when depreciation is posted, to the books)."""
    actor.require("write", AREA)
    row = rules.asset_defaults({k: values.get(k) for k in rules.ASSET_FIELDS})
    _refuse(rules.check_asset(row) + _record_problems(session, row))
    asset = Asset(**row, updated_by=actor.login)
    session.add(asset)
    session.flush()
    hooks.asset_acquired.announce(session, asset)
    return asset


def change_asset(session: Session, actor: Actor, asset_id: int, expected_version: int | None,
                 changes: Mapping[str, Any]) -> Asset:
    """Change an asset's description, category, supplier, location, warranty or tag; how it
    is valued only while none of its depreciation is recorded and it is not in the books;
    nothing once it is disposed of (`asset_rules.check_change`)."""
    actor.require("write", AREA)
    asset = _asset(session, asset_id)
    require_version(asset, expected_version, f"asset {asset.tag}")
    before = {f: getattr(asset, f) for f in (*rules.ASSET_FIELDS, *rules.OWN_OPERATION)}
    row = rules.asset_defaults({**{f: before[f] for f in rules.ASSET_FIELDS},
                                **{k: v for k, v in changes.items() if k in rules.ASSET_FIELDS}})
    after = {**row, **{k: v for k, v in changes.items() if k in rules.OWN_OPERATION}}
    valued = asset.entry_id is not None or last_posted_month(session, asset.id) is not None
    _refuse(rules.check_change(before, after, valued=valued, disposed=asset.disposed_on is not None)
            + rules.check_asset(row) + _record_problems(session, row, asset.id))
    apply_changes(session, asset, {f: row[f] for f in rules.ASSET_FIELDS}, actor.login)
    return asset


DISPOSAL = ("disposed_on", "disposal_proceeds", "disposal_reason")


def edit_asset(session: Session, actor: Actor, asset_id: int, expected_version: int | None,
               changes: Mapping[str, Any]) -> Asset:
    """A row of the Assets sheet changed: its disposal typed in (a date, proceeds, a reason)
    disposes of it (`dispose_asset`); any other change is `change_asset`'s."""
    disposal = {k: v for k, v in changes.items() if k in DISPOSAL}
    rest = {k: v for k, v in changes.items() if k not in DISPOSAL}
    asset = change_asset(session, actor, asset_id, expected_version, rest) if rest else _asset(session, asset_id)
    if disposal:
        require_version(asset, expected_version if not rest else None, f"asset {asset.tag}")
        if disposal.get("disposed_on") is None:
            _refuse([Problem("disposed_on", "required", "a disposal needs its date")])
        asset = dispose_asset(session, actor, asset_id, disposal["disposed_on"], disposal.get("disposal_proceeds"),
                              disposal.get("disposal_reason"))
    return asset


def record_asset(session: Session, actor: Actor, values: Mapping[str, Any]) -> Asset:
    """A new row of the Assets sheet: the asset added, and disposed of too when the row
    gives its disposal (an asset typed in after it was sold)."""
    asset = add_asset(session, actor, values)
    if any(values.get(k) is not None for k in DISPOSAL):
        asset = edit_asset(session, actor, asset.id, None, {k: values.get(k) for k in DISPOSAL})
    return asset


# -- who has it ---------------------------------------------------------------------------------

def assign_asset(session: Session, actor: Actor, asset_id: int, employee_id: int, on: date,
                 notes: str | None = None) -> AssetAssignment:
    """Give the asset to an employee from `on`: refused while someone else has it, after its
    disposal, and to a leaver."""
    actor.require("write", AREA)
    asset = _asset(session, asset_id)
    employee = session.get(Employee, employee_id)
    if employee is None:
        raise NotFound(f"there is no employee #{employee_id}", "employee_id")
    _refuse(rules.check_assignment(_holding(session, asset), on, employee.end_date, employee.purged_at is not None))
    assignment = AssetAssignment(asset_id=asset.id, employee_id=employee.id, assigned_on=on, notes=notes,
                                 updated_by=actor.login)
    session.add(assignment)
    asset.employee_id, asset.updated_by = employee.id, actor.login
    session.flush()
    return assignment


def return_asset(session: Session, actor: Actor, asset_id: int, on: date) -> AssetAssignment:
    """Take the asset back on `on`: its open assignment ends."""
    actor.require("write", AREA)
    asset = _asset(session, asset_id)
    _refuse(rules.check_return(_holding(session, asset), on))
    return _end_assignment(session, actor, asset, on)


def _end_assignment(session: Session, actor: Actor, asset: Asset, on: date) -> AssetAssignment:
    assignment = open_assignment(session, asset.id)
    assert assignment is not None
    assignment.returned_on, assignment.updated_by = on, actor.login
    asset.employee_id, asset.updated_by = None, actor.login
    session.flush()
    return assignment


def record_assignment(session: Session, actor: Actor, values: Mapping[str, Any]) -> AssetAssignment:
    """A new row of the Assignments sheet: the asset assigned, and returned too when the row
    says so (an assignment that is over, typed in afterwards)."""
    assignment = assign_asset(session, actor, values["asset_id"], values["employee_id"], values["assigned_on"],
                              values.get("notes"))
    if values.get("returned_on") is not None:
        assignment = return_asset(session, actor, values["asset_id"], values["returned_on"])
    return assignment


def change_assignment(session: Session, actor: Actor, assignment_id: int, expected_version: int | None,
                      changes: Mapping[str, Any]) -> AssetAssignment:
    """A changed row of the Assignments sheet: a return date typed on the open assignment
    returns the asset; the notes may change; the rest of the history stays as it happened."""
    actor.require("write", AREA)
    found = session.get(AssetAssignment, assignment_id)
    if found is None:
        raise NotFound(f"there is no assignment #{assignment_id}", "id")
    require_version(found, expected_version, "the assignment")
    _refuse([Problem(k, "fixed", f"{k.replace('_', ' ')} of an assignment stays as it happened: return the asset and "
                                 "assign it again") for k in changes if k not in ("returned_on", "notes")]
            + ([Problem("returned_on", "fixed", "the asset was returned already: the date stays as it happened")]
               if "returned_on" in changes and found.returned_on is not None else []))
    if "returned_on" in changes and changes["returned_on"] is not None:
        return_asset(session, actor, found.asset_id, changes["returned_on"])
    if "notes" in changes:
        apply_changes(session, found, {"notes": changes["notes"]}, actor.login)
    return found


# -- disposal -----------------------------------------------------------------------------------

def dispose_asset(session: Session, actor: Actor, asset_id: int, on: date, proceeds: Decimal | None = None,
                  reason: str | None = None) -> Asset:
    """Dispose of the asset on `on` (sold for `proceeds`, or scrapped): the months before the
    month of disposal not recorded yet are recorded first, its schedule stops there, and
    whoever has it returns it on that day."""
    actor.require("write", AREA)
    asset = _asset(session, asset_id)
    _refuse(rules.check_disposal(_holding(session, asset), on, proceeds, last_posted_month(session, asset.id)))
    if asset.disposed_on is None and on > asset.purchased_on:
        record_depreciation(session, actor, add_months(month_of(on), -1), asset_ids=[asset.id])
    if asset.employee_id is not None:
        _end_assignment(session, actor, asset, on)
    asset.disposed_on, asset.disposal_proceeds, asset.disposal_reason = on, proceeds or Decimal(0), reason
    asset.updated_by = actor.login
    session.flush()
    hooks.asset_disposed.announce(session, asset)
    return asset


# -- monthly depreciation -----------------------------------------------------------------------

def record_depreciation(session: Session, actor: Actor, through: date, asset_ids: list[int] | None = None,
                        progress: Callable[[date, int, int], None] | None = None) -> dict[date, list[DepreciationPosting]]:
    """Record every month of depreciation not recorded yet, up to the month of `through`, for
    every asset (or those of `asset_ids`), month by month in order; each month is announced
    (`hooks.depreciation_posted`) so the books get it too when posting is on. Returns the
    postings recorded, by month. `progress(month, done, of)` is told as each month is done."""
    actor.require("write", AREA)
    last = month_of(through)
    query = select(Asset).order_by(Asset.id)
    if asset_ids is not None:
        query = query.where(Asset.id.in_(asset_ids))
    assets = list(session.scalars(query))
    done = {(a, m) for a, m in session.execute(select(DepreciationPosting.asset_id, DepreciationPosting.month)
                                               .where(DepreciationPosting.month <= last))}
    due: dict[date, list[tuple[Asset, Decimal]]] = {}
    for asset in assets:
        for m in asset_schedule(asset):
            if m.month > last:
                break
            if (asset.id, m.month) not in done:
                due.setdefault(m.month, []).append((asset, m.depreciation))
    recorded: dict[date, list[DepreciationPosting]] = {}
    for n, month in enumerate(sorted(due), 1):
        postings = [DepreciationPosting(asset_id=a.id, month=month, amount=amount, updated_by=actor.login)
                    for a, amount in due[month]]
        session.add_all(postings)
        session.flush()
        hooks.depreciation_posted.announce(session, month, postings)
        recorded[month] = postings
        if progress is not None:
            progress(month, n, len(due))
    return recorded


def depreciation_run(session: Session, actor: Actor, through: date | None = None,
                     progress: Callable[[date, int, int], None] | None = None) -> dict[str, Any]:
    """`record_depreciation` up to `through` (default: last month), summed up by month as
    `assets depreciate --json` prints it."""
    last = month_of(through) if through is not None else add_months(month_of(date.today()), -1)
    done = record_depreciation(session, actor, last, progress=progress)
    return {"through": f"{last:%Y-%m}",
            "months": [{"month": f"{m:%Y-%m}", "assets": len(p), "depreciation": cents(sum((x.amount for x in p), Decimal(0))),
                        "in_books": any(x.entry_id for x in p)} for m, p in sorted(done.items())]}
