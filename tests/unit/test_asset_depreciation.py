"""Depreciation schedules against schedules computed by hand (written out below)."""

from datetime import date
from decimal import Decimal as D

from engine.admin.depreciation import accumulated_through, month_end, schedule


def test_a_laptop_over_36_months_straight_line_ends_at_zero_with_the_rounding_in_the_last_month():
    months = schedule(D("1200.00"), D("0"), 36, date(2025, 3, 12))
    # 1,200.00 / 36 = 33.333...: 35 months of 33.33 (1,166.55), the 36th takes 33.45.
    assert [m.month for m in months[:2]] == [date(2025, 4, 1), date(2025, 5, 1)]   # from the month after purchase
    assert months[-1].month == date(2028, 3, 1)
    assert [m.depreciation for m in months] == [D("33.33")] * 35 + [D("33.45")]
    assert months[0].book_value == D("1166.67")
    assert months[34].accumulated == D("1166.55")
    assert months[-1].accumulated == D("1200.00") and months[-1].book_value == D("0.00")


def test_a_machine_at_25_percent_declining_balance_takes_the_rate_on_each_years_opening_value():
    months = schedule(D("10000.00"), D("1000.00"), 60, date(2024, 12, 31), "declining_balance", D("0.25"))
    by_hand = (
        [D("208.33")] * 11 + [D("208.37")]      # year 1: 10,000.00 x 25 % = 2,500.00
        + [D("156.25")] * 12                    # year 2:  7,500.00 x 25 % = 1,875.00
        + [D("117.19")] * 11 + [D("117.16")]    # year 3:  5,625.00 x 25 % = 1,406.25
        + [D("87.89")] * 11 + [D("87.90")]      # year 4:  4,218.75 x 25 % = 1,054.69
        + [D("65.92")] * 11 + [D("1438.94")]    # year 5:  3,164.06 x 25 % = 791.02 a year, and the last
    )                                           #          month takes the book value down to 1,000.00
    assert [m.depreciation for m in months] == by_hand
    assert months[0].month == date(2025, 1, 1)
    assert months[11].book_value == D("7500.00")
    assert months[23].book_value == D("5625.00")
    assert months[47].book_value == D("3164.06")
    assert months[-1].book_value == D("1000.00") and months[-1].accumulated == D("9000.00")


def test_declining_balance_never_goes_below_the_residual_value():
    # 1,000.00 at 90 %, residual 500.00, 36 months: year one would take 900.00, it takes 500.00.
    months = schedule(D("1000.00"), D("500.00"), 36, date(2025, 1, 15), "declining_balance", D("0.90"))
    assert sum(m.depreciation for m in months[:12]) == D("500.00")
    assert [m.depreciation for m in months[:12]] == [D("41.67")] * 11 + [D("41.63")]
    assert all(m.depreciation == 0 for m in months[12:])
    assert min(m.book_value for m in months) == D("500.00")


def test_a_residual_value_is_kept_by_straight_line():
    months = schedule(D("25000.00"), D("5000.00"), 48, date(2023, 6, 1))
    assert [m.depreciation for m in months] == [D("416.67")] * 47 + [D("416.51")]
    assert months[-1].book_value == D("5000.00")


def test_disposal_stops_the_schedule_before_the_month_of_disposal():
    months = schedule(D("1200.00"), D("0"), 36, date(2025, 3, 12), disposed_on=date(2025, 7, 20))
    assert [m.month for m in months] == [date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1)]
    assert months[-1].book_value == D("1100.01")


def test_depreciation_is_counted_at_each_months_end():
    months = schedule(D("1200.00"), D("0"), 36, date(2025, 3, 12))
    assert accumulated_through(months, date(2025, 4, 29)) == D("0")
    assert accumulated_through(months, date(2025, 4, 30)) == D("33.33")
    assert accumulated_through(months, date(2025, 6, 30)) == D("99.99")
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)
