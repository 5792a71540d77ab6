"""The books' part of the monthly management pack: the month's key figures, its profit and
loss against the month before and the same month a year before, the balance sheet at its
end, what customers owe and how late, what is due to suppliers, and a year of revenue and
expenses.

Every figure is one of the ledger's own queries (`reports`, `invoices`), handed over raw
(Decimals, dates): the pack's layout writes them in the organisation's locale, and a test
holds each against its query. A table of many rows is cut to its ten largest, with the
total of them all beneath.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from engine.ledger.invoices import (
    AGE_BUCKETS,
    AgingRow,
    OpenInvoice,
    age_bucket,
    aging,
    open_invoices,
)
from engine.ledger.reports import (
    ProfitAndLoss,
    balance_sheet,
    books_start,
    cash_at,
    profit_and_loss,
    results_by_period,
)
from engine.office import charts
from engine.office.report_body import Column, Figure, Heading, Month, Section, Table, Text
from engine.security.roles import Actor

TITLE = "The books"
TOP = 10                      # rows of a "largest" table
CHART_MONTHS = 12
ZERO = Decimal(0)
AGES = ("Not yet due", "1–30 days overdue", "31–60 days overdue", "61–90 days overdue", "Over 90 days overdue")
AGE_LABELS = ("Not due", "1–30", "31–60", "61–90", "Over 90")   # a chart's axis


def section(session: Session, actor: Actor, month: Month) -> Section:
    """The ledger's section of the pack for `month` (see the module's docstring)."""
    started = books_start(session, actor)
    year = month.year_before
    # A year before is compared with where the books hold it: a balance at its end, and the
    # flows of the whole month (a month the books began in the middle of is no comparison).
    kept = started is not None and started <= year.end
    whole = started is not None and started <= year.start
    now = profit_and_loss(session, actor, month.start, month.end)
    then = profit_and_loss(session, actor, year.start, year.end) if whole else None
    receivables = aging(session, actor, "sales", month.end)
    payables = aging(session, actor, "purchase", month.end)
    part = Section(TITLE, figures=key_figures(session, actor, month, now, then, receivables, kept))
    part.add(Heading("Profit and loss for the month"), *profit_and_loss_tables(now, then))
    part.add(Heading("Balance sheet at the month's end"), *balance_sheet_tables(session, actor, month.end))
    part.add(Heading("Receivables"), *receivable_blocks(receivables))
    due_by = month.shifted(1).end
    part.add(Heading("Payables due"), age_table(payables, "Bills by age at the month's end"),
             Text("The bills overdue or due by the end of next month (the ten largest):"),
             bills_due(open_invoices(session, actor, "purchase", month.end), due_by))
    part.add(Heading("Revenue and expenses by month"), *by_month(session, actor, month, started))
    return part


def _total(rows: list[AgingRow]) -> Decimal:
    return sum((r.total for r in rows), ZERO)


def key_figures(session: Session, actor: Actor, month: Month, now: ProfitAndLoss, then: ProfitAndLoss | None,
                receivables: list[AgingRow], kept: bool) -> list[Figure]:
    """Revenue, expenses and profit of the month; cash and receivables at its end; each with
    the month before and, where the books go back that far, the same month a year before."""
    before, year = month.previous, month.year_before
    income_before = sum((r.previous for r in now.income), ZERO)
    expenses_before = sum((r.previous for r in now.expenses), ZERO)

    def owed(day: date) -> Decimal:
        return _total(aging(session, actor, "sales", day))

    return [
        Figure("Revenue", now.total_income, income_before, then.total_income if then else None),
        Figure("Expenses", now.total_expenses, expenses_before, then.total_expenses if then else None),
        Figure("Profit", now.result, now.previous_result, then.result if then else None),
        Figure("Cash and bank", cash_at(session, actor, month.end), cash_at(session, actor, before.end),
               cash_at(session, actor, year.end) if kept else None),
        Figure("Owed by customers", _total(receivables), owed(before.end), owed(year.end) if kept else None),
    ]


def _money(title: str) -> Column:
    return Column(title, "money")


def profit_and_loss_tables(now: ProfitAndLoss, then: ProfitAndLoss | None) -> list[Table]:
    """Income and expenses by account, then the result: this month, the month before, a year
    before (empty where the books do not go back that far)."""
    columns = [Column("Account"), _money("This month"), _money("Month before"), _money("A year before")]
    year = {r.code: r.amount for r in (then.income + then.expenses)} if then else {}
    year_names = {r.code: r.name for r in (then.income + then.expenses)} if then else {}

    def lines(rows, year_rows) -> list[list]:
        shown = {r.code: [f"{r.code} {r.name}", r.amount, r.previous, year.get(r.code, ZERO) if then else None]
                 for r in rows}
        for r in year_rows:        # an account used a year ago only
            shown.setdefault(r.code, [f"{r.code} {year_names[r.code]}", ZERO, ZERO, r.amount])
        return [shown[code] for code in sorted(shown)]

    def totals(label: str, rows, amount: Decimal, other: Decimal | None) -> list:
        return [label, amount, sum((r.previous for r in rows), ZERO), other]

    income = Table(columns, lines(now.income, then.income if then else []),
                   totals("Total income", now.income, now.total_income, then.total_income if then else None),
                   empty="No income this month, the month before or a year before.")
    expenses = Table(columns, lines(now.expenses, then.expenses if then else []),
                     totals("Total expenses", now.expenses, now.total_expenses, then.total_expenses if then else None),
                     empty="No expenses this month, the month before or a year before.")
    result = Table([Column(""), *columns[1:]],
                   [totals("Income", now.income, now.total_income, then.total_income if then else None),
                    totals("Expenses", now.expenses, now.total_expenses, then.total_expenses if then else None)],
                   ["Profit (a loss negative)", now.result, now.previous_result, then.result if then else None])
    return [income, expenses, result]


def balance_sheet_tables(session: Session, actor: Actor, day: date) -> list[Table]:
    """Assets, then liabilities and equity with the result not yet closed, each totalled."""
    sheet = balance_sheet(session, actor, day)
    assets = Table([Column("Assets"), _money("Amount")], [[f"{r.code} {r.name}", r.amount] for r in sheet.assets],
                   ["Total assets", sheet.total_assets], empty="No assets.")
    claims = [[f"{r.code} {r.name}", r.amount] for r in sheet.liabilities + sheet.equity]
    claims.append(["Result not yet closed", sheet.current_earnings])
    return [assets, Table([Column("Liabilities and equity"), _money("Amount")], claims,
                          ["Total liabilities and equity", sheet.total_liabilities_and_equity])]


def age_table(rows: list[AgingRow], title: str) -> Table:
    """What is open by how late it is, with each age's share of the whole."""
    total = _total(rows)
    amounts = [sum((getattr(r, bucket) for r in rows), ZERO) for bucket in AGE_BUCKETS]
    return Table([Column(title), _money("Amount"), Column("Share", "percent")],
                 [[age, amount, amount * 100 / total if total else None] for age, amount in zip(AGES, amounts, strict=True)],
                 ["Total open", total, Decimal(100) if total else None])


def receivable_blocks(rows: list[AgingRow]) -> list:
    """Receivables by age (a table and a chart), then the customers most overdue."""
    amounts = [sum((getattr(r, bucket) for r in rows), ZERO) for bucket in AGE_BUCKETS]
    late = sorted((r for r in rows if r.overdue > 0), key=lambda r: (-r.overdue, r.contact))
    columns = [Column("Customer"), _money("1–30 days"), _money("31–60 days"), _money("61–90 days"),
               _money("Over 90 days"), _money("Overdue")]

    def line(label: str, of: list[AgingRow]) -> list:
        return [label, *(sum((getattr(r, b) for r in of), ZERO) for b in AGE_BUCKETS[1:]),
                sum((r.overdue for r in of), ZERO)]

    blocks: list = [age_table(rows, "Receivables by age at the month's end"),
                    charts.bars("Receivables by age at the month's end", AGE_LABELS, {"Receivables": amounts},
                                height_cm=5.5),
                    Text("The customers most overdue (the ten largest), by what is past due:"),
                    Table(columns, [line(r.contact, [r]) for r in late[:TOP]],
                          line("All customers overdue", late) if late else None, empty="No customer is overdue.")]
    return blocks


def bills_due(bills: list[OpenInvoice], due_by: date) -> Table:
    """The largest bills overdue or falling due by `due_by` (the next month's end), with the
    total of them all."""
    due = sorted((b for b in bills if b.due_on <= due_by), key=lambda b: (-b.open, b.due_on, b.number))
    rows = [[b.contact, b.number, b.due_on, b.days_late if age_bucket(b.days_late) else None, b.open]
            for b in due[:TOP]]
    return Table([Column("Supplier"), Column("Bill"), Column("Due", "date"),
                  Column("Days overdue", "count"), _money("Open")], rows,
                 ["All of them", "", None, None, sum((b.open for b in due), ZERO)] if due else None,
                 empty="No bill is overdue or due next month.")


def by_month(session: Session, actor: Actor, month: Month, started: date | None) -> list:
    """Revenue and expenses of the twelve months to `month` (from the books' first month, if
    later), as a chart and as the table of its figures."""
    months = [month.shifted(-n) for n in range(CHART_MONTHS - 1, -1, -1)]
    if started is not None:
        months = [m for m in months if m.end >= started] or [month]
    results = results_by_period(session, actor, [(m.start, m.end) for m in months])
    chart = charts.bars("Revenue and expenses of each month (month/year)", [f"{m.month:02d}/{m.year % 100:02d}" for m in months],
                        {"Revenue": [r.income for r in results], "Expenses": [r.expenses for r in results]})
    table = Table([Column("Month"), _money("Revenue"), _money("Expenses"), _money("Profit")],
                  [[str(m), r.income, r.expenses, r.result] for m, r in zip(months, results, strict=True)],
                  ["Total", sum((r.income for r in results), ZERO), sum((r.expenses for r in results), ZERO),
                   sum((r.result for r in results), ZERO)])
    return [chart, table]
