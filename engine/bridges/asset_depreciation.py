"""Asset depreciation in the books (a bridge: it needs admin and the ledger, as perpetual
inventory needs inventory and the ledger): the asset register posted as it changes, when
`admin.post_depreciation` is on. The asset account less the accumulated depreciation account
then equals the register's net book value (cost less depreciation) on every month end.

    acquisition    Dr asset account (1500)              Cr clearing account (2160)
                   dated the purchase, the asset's cost; the supplier's bill is posted
                   against the clearing account and clears it (as goods received, not
                   invoiced for stock), so the cost is neither expensed nor counted twice
    a month        Dr depreciation expense (6600)       Cr accumulated depreciation (1590)
                   one entry per month for every asset in the books, dated the month's last day
    disposal       Dr accumulated depreciation (what was recorded for it)
                   Dr clearing account (the proceeds; the buyer's invoice clears it)
                   Cr asset account (its cost)
                   and the difference to the gain or loss account (4950): Cr a gain, Dr a loss

The engine posts these entries itself, as the system, on the clerk's behalf (an office clerk
need not be allowed to write the ledger; the audit log still names them). A posting dated in
a closed period, or one with no period, is refused: the listener raises and the operation
that announced it (adding the asset, `assets depreciate`, the disposal) is rolled back, with
the problem on the operation's own date field.

An asset registered while the setting was off is not in the books (no acquisition entry):
its months and its disposal are not posted either, so the accounts stay equal to the net
book value of the assets that are.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.admin.depreciation import month_end
from engine.admin.models import Asset, DepreciationPosting
from engine.errors import ValidationFailed
from engine.ledger.rules import Line
from engine.ledger.services import post_entry
from engine.problems import Problem
from engine.security.roles import SYSTEM


def _settings(session: Session):
    admin = session.info.get("admin")
    return admin if admin is not None and admin.post_depreciation else None


def _post(session: Session, on: date, lines: list[Line], memo: str, field: str):
    """Post, a refusal of the entry's date moved to the operation's date field."""
    try:
        return post_entry(session, SYSTEM, on, [x for x in lines if x.debit or x.credit], memo=memo, source="assets")
    except ValidationFailed as exc:
        raise ValidationFailed([Problem(field if p.field == "entry_date" else p.field, p.code, p.message, p.line)
                                for p in exc.problems]) from None


def post_acquisition(session: Session, asset: Asset) -> None:
    admin = _settings(session)
    if admin is None or not asset.cost:
        return
    entry = _post(session, asset.purchased_on, [Line(admin.asset_account, debit=asset.cost),
                                                Line(admin.clearing_account, credit=asset.cost)],
                  f"asset {asset.tag} bought: {asset.description}"[:200], "purchased_on")
    asset.entry_id = entry.id


def post_month(session: Session, month: date, postings: list[DepreciationPosting]) -> None:
    admin = _settings(session)
    if admin is None:
        return
    in_books = set(session.scalars(select(Asset.id).where(Asset.id.in_({p.asset_id for p in postings}),
                                                          Asset.entry_id.is_not(None))))
    postings = [p for p in postings if p.asset_id in in_books]
    total = sum((p.amount for p in postings), Decimal(0))
    if not total:
        return
    entry = _post(session, month_end(month), [Line(admin.depreciation_expense_account, debit=total),
                                              Line(admin.accumulated_depreciation_account, credit=total)],
                  f"depreciation of {month:%Y-%m}", "month")
    for posting in postings:
        posting.entry_id = entry.id
    session.flush()


def post_disposal(session: Session, asset: Asset) -> None:
    admin = _settings(session)
    if admin is None or asset.entry_id is None:    # never put in the books: nothing to take out
        return
    accumulated = session.scalar(select(func.coalesce(func.sum(DepreciationPosting.amount), 0)).where(
        DepreciationPosting.asset_id == asset.id, DepreciationPosting.entry_id.is_not(None)))   # what the books hold
    proceeds = asset.disposal_proceeds or Decimal(0)
    result = proceeds - (asset.cost - accumulated)          # above the book value: a gain
    lines = [Line(admin.accumulated_depreciation_account, debit=accumulated),
             Line(admin.clearing_account, debit=proceeds),
             Line(admin.asset_account, credit=asset.cost),
             Line(admin.disposal_account, credit=result) if result > 0 else Line(admin.disposal_account, debit=-result)]
    entry = _post(session, asset.disposed_on, lines, f"asset {asset.tag} disposed of", "disposed_on")
    asset.disposal_entry_id = entry.id
    session.flush()
