"""The parts every Word report is made of: months, options, the locale's numbers and dates,
tables that refuse a row of the wrong width, and charts that draw the same bytes twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import BackofficeError
from engine.office import charts
from engine.office.locale import Formatter, UnknownLocale
from engine.office.report_body import Column, Month, NotAMonth, Table
from engine.reports import options


def test_a_month_knows_its_days_and_its_neighbours():
    november = Month.parse("2026-11")
    assert (november.start, november.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert str(november.previous) == "2026-10" and str(november.year_before) == "2025-11"
    assert str(Month(2026, 1).previous) == "2025-12" and Month(2024, 2).end == date(2024, 2, 29)
    assert str(Month(2026, 12).shifted(1)) == "2027-01"


@pytest.mark.parametrize("typed", ["2026-13", "2026", "Nov 2026", "", "2026-00", "10000-01"])
def test_a_month_that_is_not_one_is_refused_naming_the_option(typed):
    with pytest.raises(NotAMonth, match="YYYY-MM") as refused:
        Month.parse(typed)
    assert refused.value.problems[0].field == "period"


def test_money_is_written_from_the_decimal_rounded_half_up_in_the_locale():
    en, de, fr = Formatter("en_GB"), Formatter("de_DE"), Formatter("fr_FR")
    assert en.money(Decimal("1234.565")) == "1,234.57"       # half up, not to even
    assert en.money(Decimal("-0.005")) == "-0.01"
    assert de.money(Decimal("1234567.5")) == "1.234.567,50"
    assert fr.money(Decimal("1234.5")).replace("\u202f", " ").replace("\xa0", " ") == "1 234,50"
    assert en.money(Decimal("12345678901.2345")) == "12,345,678,901.23"   # no float on the way
    assert en.count(1234) == "1,234" and en.quantity(Decimal("2.5000")) == "2.5"
    assert en.percent(Decimal("12.25")) == "12.3\xa0%"


def test_dates_and_months_are_written_as_the_locale_writes_them():
    assert Formatter("en_GB").date(date(2026, 12, 3)) == "3 Dec 2026"
    assert Formatter("de_DE").date(date(2026, 12, 3)) == "03.12.2026"
    assert Formatter("en_GB").month(2026, 11) == "November 2026"
    assert Formatter("de_DE").month(2026, 11) == "November 2026"
    assert Formatter("fr_FR").month(2026, 2) == "février 2026"


def test_a_change_is_signed_and_a_dash_where_there_is_nothing_to_compare_with():
    fmt = Formatter("en_GB")
    assert fmt.change(Decimal(110), Decimal(100)) == "+10.0\xa0%"
    assert fmt.change(Decimal(90), Decimal(100)) == "−10.0\xa0%"
    assert fmt.change(Decimal(-50), Decimal(-100)) == "+50.0\xa0%"      # a loss halved is better
    assert fmt.change(Decimal(5), Decimal(0)) == "–" and fmt.change(Decimal(5), None) == "–"


def test_an_unknown_locale_is_refused_naming_the_setting():
    with pytest.raises(UnknownLocale, match="organisation.locale 'xx_YY'") as refused:
        Formatter("xx_YY")
    assert refused.value.problems[0].field == "organisation.locale"


def test_a_table_refuses_a_row_of_the_wrong_width():
    with pytest.raises(ValueError, match="a row of 1 values under 2 columns"):
        Table([Column("Name"), Column("Amount", "money")], [["only a name"]])


def test_options_are_read_their_defaults_given_and_what_a_report_does_not_take_refused():
    read = options.read(("period",), {})
    assert read == {"period": Month.of(date.today()).previous}
    assert options.read(("period", "customer"), {"period": "2026-11", "customer": " C0012 "}) == {
        "period": Month(2026, 11), "customer": "C0012"}
    assert options.read(("year",), {"year": 2026}) == {"year": 2026}
    with pytest.raises(BackofficeError, match="does not take --as-of") as refused:
        options.read(("period",), {"as_of": "2026-11-30"})
    assert refused.value.problems[0].field == "as_of"
    with pytest.raises(BackofficeError, match="--customer is needed") as refused:
        options.read(("customer", "period"), {"period": "2026-11"})
    assert refused.value.problems[0].field == "customer"
    with pytest.raises(BackofficeError, match="--as-of '30/11/2026' is not a date"):
        options.read(("as_of",), {"as_of": "30/11/2026"})
    assert options.label({"customer": "C0012", "period": Month(2026, 11)}) == "C0012-2026-11"
    assert options.as_text({"year": 2026, "as_of": date(2026, 11, 30)}) == {"year": 2026, "as_of": "2026-11-30"}


def test_a_chart_draws_the_same_png_for_the_same_figures():
    def draw() -> bytes:
        return charts.bars("Revenue", ["Oct", "Nov"], {"Revenue": [Decimal("5.5"), Decimal(7)]}).png

    first = draw()
    assert first.startswith(b"\x89PNG") and first == draw()
    control = charts.control("Weight", [Decimal(1), Decimal(5), Decimal(2)], Decimal(2), Decimal(0), Decimal(4))
    assert control.png.startswith(b"\x89PNG") and control.title == "Weight"


def test_a_tables_short_columns_keep_their_width_and_the_long_ones_share_the_rest():
    from engine.office.word import SHORT, TEXT_WIDTH, widths

    rows = [["LED panel 600x600 4000 K 40 W with a very long description indeed, and more", "7", "337.68"]]
    sized = widths(["Item", "On hand", "Value"], rows)
    assert sum(sized) <= TEXT_WIDTH and sized[1] <= SHORT and sized[2] <= SHORT
    assert sized[0] > 3 * sized[1]                   # the description takes what the numbers leave
    assert sized[1] >= len("hand") * 105              # "On hand" never breaks into letters
    narrow = widths(["A", "B"], [["x", "y"]])
    assert sum(narrow) <= TEXT_WIDTH and abs(narrow[0] - narrow[1]) <= 1   # a small table spreads evenly
