"""Process capability and control charts (engine/quality/capability.py) against worked examples.

The factors are the published ones (Montgomery, *Introduction to Statistical Quality Control*,
table of factors for variables control charts; ASTM STP 15D): n = 2: d2 1.128, A2 1.880,
D4 3.267; n = 4: d2 2.059, A2 0.729, D3 0, D4 2.282; n = 7: A2 0.419, D3 0.076, D4 1.924;
individuals: E2 2.660.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from engine.quality.capability import Limits, capability, control_chart

THREE = D("0.001")


def decimals(*rows: str) -> list[list[D]]:
    return [[D(value) for value in row.split()] for row in rows]


# Five subgroups of four measurements of a 10.0 +/- 0.5 dimension.
#   subgroup  values                 sum    mean   range
#   1         10.1  9.9 10.0 10.2    40.2   10.05  0.3
#   2          9.8 10.0 10.1  9.9    39.8    9.95  0.3
#   3         10.0 10.3  9.9 10.2    40.4   10.10  0.4
#   4          9.9 10.0  9.7 10.0    39.6    9.90  0.3
#   5         10.2 10.0 10.1  9.9    40.2   10.05  0.3
# n = 20, sum 200.2, mean 10.01; R-bar = 1.6 / 5 = 0.32.
SUBGROUPS = decimals("10.1 9.9 10.0 10.2", "9.8 10.0 10.1 9.9", "10.0 10.3 9.9 10.2",
                     "9.9 10.0 9.7 10.0", "10.2 10.0 10.1 9.9")

# Individuals: 10 12 11 13 12; mean 58 / 5 = 11.6; moving ranges 2 1 2 1, MR-bar 1.5.
INDIVIDUALS = decimals("10", "12", "11", "13", "12")


def test_capability_of_subgroups_matches_the_hand_computed_example():
    # sigma within = R-bar / d2(4) = 0.32 / 2.059 = 0.155415
    # sum of squares = sum x^2 - (sum x)^2 / n = 2004.42 - 200.2^2 / 20 = 2004.42 - 2004.002 = 0.418
    # sigma overall = sqrt(0.418 / 19) = sqrt(0.022) = 0.148324
    # Cp  = (10.5 - 9.5) / (6 * 0.155415) = 1 / 0.932490 = 1.072
    # Cpk = min(10.5 - 10.01, 10.01 - 9.5) / (3 * 0.155415) = 0.49 / 0.466245 = 1.051
    # Pp  = 1 / (6 * 0.148324) = 1 / 0.889944 = 1.124
    # Ppk = 0.49 / (3 * 0.148324) = 0.49 / 0.444972 = 1.101
    found = capability(SUBGROUPS, Limits(D("9.5"), D("10.5")))
    assert found.count == 20
    assert found.mean == D("10.01")
    assert found.sigma_within.quantize(D("0.000001")) == D("0.155415")
    assert found.sigma_overall == D("0.022").sqrt()
    assert [index.quantize(THREE) for index in (found.cp, found.cpk, found.pp, found.ppk)] == \
        [D("1.072"), D("1.051"), D("1.124"), D("1.101")]


def test_capability_of_individuals_takes_sigma_within_from_the_moving_range():
    # sigma within = MR-bar / 1.128 = 1.5 / 1.128 = 1.329787
    # deviations from 11.6: -1.6 0.4 -0.6 1.4 0.4; squares 2.56 0.16 0.36 1.96 0.16 = 5.2
    # sigma overall = sqrt(5.2 / 4) = sqrt(1.3) = 1.140175
    # Cp  = (17 - 5) / (6 * 1.329787) = 12 * 1.128 / 9 = 1.504
    # Cpk = min(17 - 11.6, 11.6 - 5) / (3 * 1.329787) = 5.4 * 1.128 / 4.5 = 1.3536 -> 1.354
    # Pp  = 12 / (6 * 1.140175) = 1.754
    # Ppk = 5.4 / (3 * 1.140175) = 1.579
    found = capability(INDIVIDUALS, Limits(D(5), D(17)))
    assert (found.count, found.mean) == (5, D("11.6"))
    assert found.sigma_within.quantize(D("0.000001")) == D("1.329787")
    assert found.sigma_overall == D("1.3").sqrt()
    assert [index.quantize(THREE) for index in (found.cp, found.cpk, found.pp, found.ppk)] == \
        [D("1.504"), D("1.354"), D("1.754"), D("1.579")]


def test_one_sided_limits_give_no_cp_and_a_cpk_from_the_side_there_is():
    upper_only = capability(INDIVIDUALS, Limits(None, D(17)))
    assert (upper_only.cp, upper_only.pp) == (None, None)
    # (17 - 11.6) / (3 * 1.329787) = 1.354; (17 - 11.6) / (3 * 1.140175) = 1.579
    assert (upper_only.cpk.quantize(THREE), upper_only.ppk.quantize(THREE)) == (D("1.354"), D("1.579"))
    lower_only = capability(INDIVIDUALS, Limits(D(5), None))
    assert (lower_only.cp, lower_only.pp) == (None, None)
    # (11.6 - 5) / (3 * 1.329787) = 6.6 * 1.128 / 4.5 = 1.6544; (11.6 - 5) / (3 * 1.140175) = 1.930
    assert (lower_only.cpk.quantize(THREE), lower_only.ppk.quantize(THREE)) == (D("1.654"), D("1.930"))


def test_a_mean_beyond_a_limit_gives_a_negative_cpk():
    # (11 - 11.6) / (3 * 1.329787) = -0.6 * 1.128 / 4.5 = -0.1504; (11 - 11.6) / (3 * 1.140175) = -0.175
    found = capability(INDIVIDUALS, Limits(D(5), D(11)))
    assert (found.cpk.quantize(THREE), found.ppk.quantize(THREE)) == (D("-0.150"), D("-0.175"))


def test_without_limits_only_the_mean_and_sigmas_are_given():
    found = capability(INDIVIDUALS, Limits(None, None))
    assert (found.cp, found.cpk, found.pp, found.ppk) == (None, None, None, None)
    assert found.mean == D("11.6")


def test_no_spread_gives_no_indices_rather_than_a_division_by_zero():
    found = capability(decimals("5 5 5", "5 5 5"), Limits(D(4), D(6)))
    assert (found.sigma_within, found.sigma_overall) == (0, 0)
    assert (found.cp, found.cpk, found.pp, found.ppk) == (None, None, None, None)


def test_no_spread_within_subgroups_still_gives_pp_and_ppk():
    # values 1 1 2 2: mean 1.5, sigma overall = sqrt(1 / 3) = 0.577350; Pp = 3 / 3.464102 = 0.866
    found = capability(decimals("1 1", "2 2"), Limits(D(0), D(3)))
    assert found.sigma_within == 0 and (found.cp, found.cpk) == (None, None)
    assert (found.pp.quantize(THREE), found.ppk.quantize(THREE)) == (D("0.866"), D("0.866"))


@pytest.mark.parametrize("compute", [lambda groups: capability(groups, Limits(D(0), D(10))),
                                     control_chart], ids=["capability", "control_chart"])
@pytest.mark.parametrize("groups, message", [
    ([], "at least 2 measured values are needed, 0 given"),
    ([[D(1)]], "at least 2 measured values are needed, 1 given"),
    ([[D(1), D(2)], [D(1), D(2)], [D(1), D(2), D(3)]], "subgroup 1 has 2 values, subgroup 3 has 3"),
    ([[D(1)] * 11], "subgroups of 11 values"),
])
def test_too_few_values_mixed_sizes_and_oversized_subgroups_are_refused(compute, groups, message):
    with pytest.raises(ValueError, match=message):
        compute(groups)


@pytest.mark.parametrize("lower, upper", [(D(2), D(1)), (D(1), D(1))])
def test_a_specification_whose_lower_limit_is_not_below_the_upper_is_refused(lower, upper):
    with pytest.raises(ValueError, match="must be below"):
        Limits(lower, upper)


def test_xbar_r_chart_limits_match_the_hand_computed_example():
    # X-double-bar = (10.05 + 9.95 + 10.10 + 9.90 + 10.05) / 5 = 10.01; R-bar = 0.32
    # X-bar limits: 10.01 -/+ A2(4) * R-bar = 10.01 -/+ 0.729 * 0.32 = 10.01 -/+ 0.23328
    # R limits: D3(4) * 0.32 = 0, D4(4) * 0.32 = 2.282 * 0.32 = 0.73024
    chart = control_chart(SUBGROUPS)
    assert chart.kind == "xbar-r"
    assert (chart.centre, chart.lower, chart.upper) == (D("10.01"), D("9.77672"), D("10.24328"))
    assert (chart.spread_centre, chart.spread_lower, chart.spread_upper) == (D("0.32"), 0, D("0.73024"))
    assert [(p.index, p.value, p.spread) for p in chart.points] == [
        (1, D("10.05"), D("0.3")), (2, D("9.95"), D("0.3")), (3, D("10.10"), D("0.4")),
        (4, D("9.90"), D("0.3")), (5, D("10.05"), D("0.3"))]
    assert chart.out_of_control == ()     # at most 0.11 from the centre, sigma = 0.07776


def test_range_chart_of_subgroups_of_seven_has_a_lower_limit():
    # ranges 1, 2, 3: R-bar 2; D3(7) * 2 = 0.152, D4(7) * 2 = 3.848; A2(7) * 2 = 0.838 about 0
    chart = control_chart(decimals("0 0 0 0 0 -0.5 0.5", "0 0 0 0 0 -1 1", "0 0 0 0 0 -1.5 1.5"))
    assert (chart.spread_lower, chart.spread_centre, chart.spread_upper) == (D("0.152"), 2, D("3.848"))
    assert (chart.lower, chart.centre, chart.upper) == (D("-0.838"), 0, D("0.838"))


def test_individuals_chart_limits_match_the_hand_computed_example():
    # X-bar = 11.6, MR-bar = 1.5; limits 11.6 -/+ E2 * 1.5 = 11.6 -/+ 2.660 * 1.5 = 11.6 -/+ 3.99
    # MR limits: 0 and D4(2) * 1.5 = 3.267 * 1.5 = 4.9005
    chart = control_chart(INDIVIDUALS)
    assert chart.kind == "individuals"
    assert (chart.centre, chart.lower, chart.upper) == (D("11.6"), D("7.61"), D("15.59"))
    assert (chart.spread_centre, chart.spread_lower, chart.spread_upper) == (D("1.5"), 0, D("4.9005"))
    assert [p.value for p in chart.points] == [10, 12, 11, 13, 12]
    assert [p.spread for p in chart.points] == [None, 2, 1, 2, 1]


def test_a_chart_without_spread_is_drawn_and_has_nothing_out_of_control():
    chart = control_chart(decimals("5 5", "5 5", "5 5"))
    assert (chart.lower, chart.centre, chart.upper) == (5, 5, 5)
    assert chart.out_of_control == ()


def broken(*means: str) -> dict[int, tuple[int, ...]]:
    """The rules broken on an X-bar/R chart of pairs (m - 0.5, m + 0.5), by point number.

    Every range is 1, so R-bar = 1 and the limits are centre -/+ A2(2) = -/+ 1.880: sigma =
    0.6267, 2 sigma = 1.2533. The series below are balanced so that the centre line is 0.
    """
    chart = control_chart([[D(mean) - D("0.5"), D(mean) + D("0.5")] for mean in means])
    assert (chart.centre, chart.upper) == (0, D("1.880"))
    return {point.index: point.rules for point in chart.out_of_control}


def test_rule_1_a_point_beyond_3_sigma():
    assert broken("0", "2", "0", "-2") == {2: (1,), 4: (1,)}
    assert broken("0", "1.88", "0", "-1.88") == {}             # on the limits is not beyond them


def test_rule_2_two_of_three_beyond_2_sigma_on_one_side():
    assert broken("1.5", "0", "1.5", "0", "0", "-1.5", "0", "0", "-1.5") == {3: (2,)}
    assert broken("1.5", "0", "-1.5") == {}                     # two of three, but opposite sides
    assert broken("1.5", "0", "0", "1.5", "-1.5", "0", "0", "-1.5") == {}   # two of four


def test_rule_2_is_marked_on_the_point_completing_it_and_only_if_it_is_beyond():
    # points 1 and 2 make two of three (1 to 3) already; point 3 is on the centre line
    assert broken("1.5", "1.5", "0", "-1.5", "0", "0", "-1.5") == {2: (2,)}


def test_rule_3_four_of_five_beyond_1_sigma_on_one_side():
    balance = ("-1", "0", "0", "-1", "0", "0", "-1", "0", "0", "-1")    # at most two in any five
    assert broken("1", "1", "0", "1", "1", *balance) == {5: (3,)}
    assert broken("1", "1", "0", "0", "1", "1", *balance) == {}        # three of five


def test_rule_4_eight_in_a_row_on_one_side():
    assert broken(*["0.1"] * 8, *["-0.1"] * 8) == {8: (4,), 16: (4,)}
    assert broken(*["0.1"] * 9, *["-0.1"] * 9) == {8: (4,), 9: (4,), 17: (4,), 18: (4,)}
    assert broken(*["0.1"] * 7, *["-0.1"] * 7) == {}                    # seven are not eight
    assert broken(*["0.1"] * 4, "0", *["0.1"] * 4, *["-0.1"] * 8) == {17: (4,)}  # the centre breaks a run


def test_a_point_may_break_several_rules():
    # the eighth point above the centre, beyond 3 sigma, and with the seventh two of three beyond 2
    found = broken(*["0.1"] * 6, "1.5", "2", "-1", "0", "0", "-1", "0", "0", "-1", "0", "0", "-1.1")
    assert found[8] == (1, 2, 4)
