"""Quality's part of the monthly pack, and the inspection certificate of a lot (Word).

Built from quality's own queries: the month's rejection rate against the month and year
before and by supplier (`queries.rates`), the nonconformances open and the actions overdue at
the month's end (`open_ncrs_by_age`, `overdue_actions`, as at that day), and a control chart
of the process measured most in the year to the month (`most_measured`, `capability`).
Rates go in as percentages (a Rate's fraction times 100), the layout writes them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from engine.office import charts
from engine.office.locale import Formatter, of_reader
from engine.office.report_body import (
    Column,
    Figure,
    Heading,
    Month,
    Section,
    Table,
    Text,
    report_context,
)
from engine.quality import queries
from engine.quality.certificate import Certificate, certificate
from engine.security.roles import Actor

TOP = 10
HUNDRED = Decimal(100)
CHART_KINDS = {"xbar-r": "X-bar chart, each inspection's sample a subgroup", "individuals": "individuals chart"}


def month_rate(session: Session, actor: Actor, month: Month) -> queries.Rate:
    """Every supplier's lots inspected in `month` together (`queries.rates` added up)."""
    found = queries.rates(session, actor, "supplier", since=month.start, until=month.end)
    return queries.Rate("all", sum(r.inspected for r in found), sum(r.rejected for r in found),
                        sum(r.accepted_first_time for r in found))


def open_ncr_count(session: Session, actor: Actor, month: Month) -> int:
    return sum(len(band) for band in queries.open_ncrs_by_age(session, actor, month.end).values())


def section(session: Session, actor: Actor, month: Month) -> Section:
    """Quality in `month`: rejection rates, open NCRs and overdue actions at its end, and the
    control chart of the process measured most in the year to it."""
    fmt = of_reader(session)
    day, name = fmt.date(month.end), fmt.month(month.year, month.month)
    rates = queries.rates(session, actor, "supplier", since=month.start, until=month.end)
    total = month_rate(session, actor, month)
    ages = queries.open_ncrs_by_age(session, actor, month.end)
    open_ncrs = [n for band in ages.values() for n in band]
    overdue = queries.overdue_actions(session, actor, month.end)
    found = Section("Quality", figures=[
        Figure("Lots rejected at inspection", total.rejection_rate * HUNDRED,
               month_rate(session, actor, month.previous).rejection_rate * HUNDRED,
               month_rate(session, actor, month.year_before).rejection_rate * HUNDRED, kind="percent"),
        Figure("Nonconformances open at month end", len(open_ncrs), open_ncr_count(session, actor, month.previous),
               open_ncr_count(session, actor, month.year_before), kind="count")])
    found.add(Heading(f"Lots inspected by supplier, {name}"),
              Table([Column("Supplier"), Column("Lots inspected", "count"), Column("Rejected", "count"),
                     Column("Rejection rate", "percent"), Column("First-pass yield", "percent")],
                    [[r.key, r.inspected, r.rejected, r.rejection_rate * HUNDRED, r.first_pass_yield * HUNDRED]
                     for r in rates],
                    total=["All suppliers", total.inspected, total.rejected, total.rejection_rate * HUNDRED,
                           total.first_pass_yield * HUNDRED] if rates else None,
                    empty="No lot was inspected in the month."))
    found.add(Heading(f"Nonconformances open on {day}: {len(open_ncrs)}"))
    if open_ncrs:
        found.add(Table([Column("Open for"), Column("NCRs", "count")],
                        [[label, len(band)] for label, band in ages.items() if band]))
    found.add(Table([Column("NCR"), Column("Title"), Column("Days open", "count"), Column("Owner")],
                    [[f"#{n['id']} ({n['severity']})", n["title"], n["age_days"], n["owner"]]
                     for n in open_ncrs[:TOP]], empty="No nonconformance was open."))
    if len(open_ncrs) > TOP:
        found.add(Text(f"The {TOP} open longest of {len(open_ncrs)}.", note=True))
    found.add(Heading(f"Actions overdue on {day}: {len(overdue)}"),
              Table([Column("NCR"), Column("Action"), Column("Owner"), Column("Due", "date"),
                     Column("Days overdue", "count")],
                    [[f"#{a['ncr_id']}", a["description"], a["owner"], a["due_on"], a["days_overdue"]]
                     for a in overdue[:TOP]], empty="No action was overdue."))
    if len(overdue) > TOP:
        found.add(Text(f"The {TOP} most overdue of {len(overdue)}.", note=True))
    control_chart(session, actor, month, found, fmt)
    return found


def control_chart(session: Session, actor: Actor, month: Month, found: Section, fmt: Formatter) -> None:
    """The control chart of the characteristic measured most in the 12 months to `month`,
    with its capability beside it."""
    since, until = month.shifted(-11).start, month.end
    measured = queries.most_measured(session, actor, since, until)
    if measured is None:
        found.add(Text("No characteristic was measured in the 12 months to the month's end: no control chart.",
                       note=True))
        return
    [spc] = queries.capability(session, actor, measured.sku, measured.characteristic, plan=measured.plan,
                               since=since, until=until)
    chart, capability = spc.chart, spc.capability
    unit = f" ({measured.unit})" if measured.unit else ""
    found.add(Heading(f"Process control: {measured.characteristic} of {measured.sku}"))
    found.add(charts.control(
        f"{measured.characteristic}{unit} of {measured.sku}, plan {measured.plan}: the characteristic measured "
        f"most from {fmt.date(since)} to {fmt.date(until)} ({measured.measurements} measurements); "
        f"{CHART_KINDS.get(chart.kind, chart.kind)}, control limits dashed",
        [p.value for p in chart.points], chart.centre, chart.lower, chart.upper,
        labels=[str(p.index) for p in chart.points]))
    found.add(Table([Column("Measurements", "count"), Column("Mean", "quantity"), Column("Cpk", "quantity"),
                     Column("Ppk", "quantity"), Column("Points out of control", "count")],
                    [[capability.count, _three(capability.mean), _three(capability.cpk), _three(capability.ppk),
                      len(chart.out_of_control)]]))
    found.add(Text("Cpk below 1.33 (1.0) means the process only just (does not) fit its limits; a point out of "
                   "control breaks a Western Electric rule: a special cause to look for.", note=True))


def _three(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(queries.THREE)


# -- the certificate ----------------------------------------------------------------------------

DECISIONS = {"release": "released", "scrap": "scrapped", "return": "returned to its supplier"}


def certificate_report(session: Session, actor: Actor, lot: str) -> dict[str, Any]:
    """The inspection certificate of `lot`: what was inspected, by which plan and sample,
    every characteristic's results, and the decision with who made it and when."""
    found = certificate(session, actor, lot)
    fmt = of_reader(session)
    return report_context(session, actor, "Inspection certificate",
                          f"Lot {found.lot} of {found.sku} {found.item}",
                          [lot_section(found, fmt), results_section(found, fmt)])


def decision_text(found: Certificate, fmt: Formatter) -> list[list[Any]]:
    rows = [["Decision", "Accepted" if found.accepted else "Rejected"],
            ["Decided by", f"{found.inspector}, inspection of {fmt.date(found.inspected_on)}"]]
    if found.disposition is not None:
        d = found.disposition
        rows += [["Disposition", f"{DECISIONS.get(d.decision, d.decision)}: {d.reason}"],
                 ["Disposed of by", f"{d.updated_by} on {fmt.date(d.decided_on)}"]]
    return rows


def lot_section(found: Certificate, fmt: Formatter) -> Section:
    sampling = f"{found.sampling}, {found.severity} inspection" + (
        f", code letter {found.code_letter}" if found.code_letter else "")
    rows = [["Item", f"{found.sku} {found.item}"], ["Supplier", found.supplier or "(none on record)"],
            ["Lot number", found.lot], ["Quantity (lot size)", f"{fmt.quantity(found.lot_size)} {found.unit}"],
            ["Inspection plan", found.plan], ["Sampling", sampling],
            ["Sample size", fmt.count(found.sample_size)],
            ["Accept / reject number", f"{found.accept_number} / {found.reject_number}"],
            ["Nonconforming units found", fmt.count(found.nonconforming)
             + (f" (and {found.critical} with a critical defect)" if found.critical else "")],
            *decision_text(found, fmt)]
    section = Section("The lot and the decision").add(Table([Column("Certified"), Column("As inspected")], rows))
    for earlier in found.earlier:
        section.add(Text(f"Inspected before on {fmt.date(earlier.inspected_on)} by {earlier.inspector}: "
                         f"{'accepted' if earlier.accepted else 'rejected'}; this certificate states the last "
                         "inspection.", note=True))
    return section


def results_section(found: Certificate, fmt: Formatter) -> Section:
    """Each characteristic's specification and summary, then every sample unit's value."""
    section = Section("Results by characteristic").add(Table(
        [Column("Characteristic"), Column("Specification"), Column("Checked", "count"), Column("Lowest", "quantity"),
         Column("Highest", "quantity"), Column("Failed", "count"), Column("Result")],
        [[f"{r.name}{f' ({r.unit})' if r.unit else ''}, {r.defect_class}", specification(r, fmt), r.checked,
          r.lowest, r.highest, r.nonconforming, "conforms" if r.nonconforming == 0 else "does not conform"]
         for r in found.results],
        empty="No characteristic was recorded."))
    samples = sorted({n for r in found.results for n in r.values})
    section.add(Heading("Every sample unit"), Table(
        [Column("Sample"), *(Column(r.name, "quantity" if r.kind == "measured" else "text") for r in found.results)],
        [[str(n), *(_shown(r.values.get(n)) for r in found.results)] for n in samples], empty="No sample unit."))
    return section


def specification(r: Any, fmt: Formatter) -> str:
    """A characteristic's limits as the certificate states them (nominal aside)."""
    lower, upper = (None if v is None else fmt.quantity(v) for v in (r.lower_limit, r.upper_limit))
    if r.kind == "attribute":
        return "pass / fail"
    if lower is not None and upper is not None:
        return f"{lower} to {upper}"
    if lower is not None:
        return f"at least {lower}"
    return f"at most {upper}" if upper is not None else "recorded"


def _shown(value: Decimal | bool | None) -> Any:
    if isinstance(value, bool):
        return "pass" if value else "fail"
    return value
