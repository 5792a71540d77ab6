"""Process capability and control charts for a measured characteristic.

An inspection records measurements of a characteristic against its specification. Quality
asks two questions of them, and this module answers both from the values alone (no I/O, so
the worked examples in the tests run without a database):

- Is the process stable? A Shewhart control chart: X-bar/R for subgroups of 2 to 10
  measurements, individuals/moving range for single measurements, with the Western Electric
  zone rules marking the points that signal a special cause.
- Can it meet the specification? Cp and Cpk from the spread within subgroups (what the
  process could do), Pp and Ppk from the overall standard deviation (what it did):
  Cp = (USL - LSL) / 6 sigma, Cpk = min(USL - mean, mean - LSL) / 3 sigma.

Sources: the factors d2, A2, D3, D4 (and E2 = 3/d2(2), published as 2.660, for individuals)
are the published three-decimal values of the table "Factors for constructing variables
control charts" in D. C. Montgomery, *Introduction to Statistical Quality Control*
(appendix), which are those of ASTM STP 15D, *ASTM Manual on Presentation of Data and Control
Chart Analysis*. The zone rules are from Western Electric Co., *Statistical Quality Control
Handbook* (1956).

Measurements are Decimal (as the database returns them); everything is computed in a local
28-digit decimal context and returned unrounded: rounding for display is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from itertools import pairwise

_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class ChartFactors:
    """The control chart factors for subgroups of one size."""

    d2: Decimal     # mean range / sigma: sigma within = R-bar / d2
    a2: Decimal     # X-bar limits: X-double-bar +/- A2 R-bar
    d3: Decimal     # R chart lower limit: D3 R-bar
    d4: Decimal     # R chart upper limit: D4 R-bar


FACTORS: dict[int, ChartFactors] = {
    size: ChartFactors(*(Decimal(figure) for figure in figures))
    for size, figures in {
        2: ("1.128", "1.880", "0", "3.267"),
        3: ("1.693", "1.023", "0", "2.574"),
        4: ("2.059", "0.729", "0", "2.282"),
        5: ("2.326", "0.577", "0", "2.114"),
        6: ("2.534", "0.483", "0", "2.004"),
        7: ("2.704", "0.419", "0.076", "1.924"),
        8: ("2.847", "0.373", "0.136", "1.864"),
        9: ("2.970", "0.337", "0.184", "1.816"),
        10: ("3.078", "0.308", "0.223", "1.777"),
    }.items()
}
E2 = Decimal("2.660")   # individuals limits: X-bar +/- E2 MR-bar (moving ranges of 2 values)

# The Western Electric rules: (rule, how many points, of how many consecutive ones, beyond how
# many sigma from the centre line on the same side). Rule 4's "beyond 0 sigma" is "on one side".
_RULES = ((1, 1, 1, 3), (2, 2, 3, 2), (3, 4, 5, 1), (4, 8, 8, 0))


@dataclass(frozen=True)
class Limits:
    """A characteristic's specification: either limit may be missing (one-sided)."""

    lower: Decimal | None   # LSL
    upper: Decimal | None   # USL

    def __post_init__(self) -> None:
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(f"the lower specification limit ({self.lower}) must be below "
                             f"the upper one ({self.upper})")


@dataclass(frozen=True)
class Capability:
    count: int                # values used
    mean: Decimal
    sigma_within: Decimal     # R-bar / d2 (subgroups), MR-bar / 1.128 (individuals)
    sigma_overall: Decimal    # sample standard deviation (n - 1)
    cp: Decimal | None        # None when one-sided or sigma within is 0
    cpk: Decimal | None       # None without limits or when sigma within is 0
    pp: Decimal | None        # as cp, with sigma overall
    ppk: Decimal | None       # as cpk, with sigma overall


@dataclass(frozen=True)
class ChartPoint:
    index: int                # 1-based subgroup (or observation) number
    value: Decimal            # the subgroup mean, or the individual value
    spread: Decimal | None    # the subgroup range, or the moving range (None for the first value)
    rules: tuple[int, ...]    # the Western Electric rules this point breaks, empty if none


@dataclass(frozen=True)
class ControlChart:
    kind: str                 # "xbar-r" or "individuals"
    centre: Decimal           # X-double-bar, or X-bar
    lower: Decimal            # LCL of the value chart
    upper: Decimal            # UCL of the value chart
    spread_centre: Decimal    # R-bar, or MR-bar
    spread_lower: Decimal     # D3 R-bar, or 0
    spread_upper: Decimal     # D4 R-bar, or 3.267 MR-bar
    points: tuple[ChartPoint, ...]

    @property
    def out_of_control(self) -> tuple[ChartPoint, ...]:
        """The points that break any of the rules (on the value chart)."""
        return tuple(point for point in self.points if point.rules)


def capability(subgroups: Sequence[Sequence[Decimal]], limits: Limits) -> Capability:
    """Capability of the process the subgroups were measured from, against `limits`.

    Subgroups of equal size n (2..10): sigma within is R-bar / d2(n). Subgroups of size 1 are
    individuals: sigma within is MR-bar / d2(2) = MR-bar / 1.128, the moving ranges being those
    of consecutive values. Raises ValueError with fewer than 2 values, subgroups of mixed
    sizes, or subgroups of more than 10.
    """
    groups, size = _checked(subgroups)
    with localcontext(_CONTEXT):
        values = [value for group in groups for value in group]
        mean = _mean(values)
        within = _mean(_spreads(groups, size)) / FACTORS[max(size, 2)].d2
        squares = sum(((value - mean) ** 2 for value in values), Decimal(0))
        overall = (squares / (len(values) - 1)).sqrt()
        cp, cpk = _indices(limits, mean, within)
        pp, ppk = _indices(limits, mean, overall)
    return Capability(len(values), mean, within, overall, cp, cpk, pp, ppk)


def control_chart(subgroups: Sequence[Sequence[Decimal]]) -> ControlChart:
    """The control chart of the subgroups, each point marked with the rules it breaks.

    X-bar/R for subgroups of 2..10 (A2, D3, D4), individuals/moving range for subgroups of 1
    (E2 = 2.660, D4 = 3.267). The Western Electric rules are read on the value chart, in zones
    of sigma = (UCL - centre) / 3 from the centre line:
      1: one point beyond 3 sigma;
      2: two of three consecutive points beyond 2 sigma on the same side;
      3: four of five consecutive points beyond 1 sigma on the same side;
      4: eight consecutive points on the same side of the centre line.
    A rule is marked on the point that completes its pattern, and only if that point is itself
    beyond the zone, on the pattern's side. Near the start the patterns count the points there
    are: two first points beyond 2 sigma on one side already make two of three. The range chart
    carries no rules: compare a point's spread to spread_upper (and spread_lower) for that.
    Raises ValueError as capability() does.
    """
    groups, size = _checked(subgroups)
    with localcontext(_CONTEXT):
        spreads = _spreads(groups, size)
        spread_centre = _mean(spreads)
        if size == 1:
            kind, values, shown = "individuals", [group[0] for group in groups], [None, *spreads]
            reach = E2 * spread_centre
            spread_lower, spread_upper = Decimal(0), FACTORS[2].d4 * spread_centre
        else:
            kind, values, shown = "xbar-r", [_mean(group) for group in groups], list(spreads)
            factors = FACTORS[size]
            reach = factors.a2 * spread_centre
            spread_lower, spread_upper = factors.d3 * spread_centre, factors.d4 * spread_centre
        centre = _mean(values)
        broken = _rules_broken(values, centre, reach / 3)
    rows = zip(values, shown, broken, strict=True)
    points = tuple(ChartPoint(number, value, spread, rules)
                   for number, (value, spread, rules) in enumerate(rows, 1))
    return ControlChart(kind, centre, centre - reach, centre + reach,
                        spread_centre, spread_lower, spread_upper, points)


def _checked(subgroups: Sequence[Sequence[Decimal]]) -> tuple[list[list[Decimal]], int]:
    """The subgroups as lists, and their one size; ValueError saying what is wrong otherwise."""
    groups = [list(group) for group in subgroups]
    count = sum(len(group) for group in groups)
    if count < 2:
        raise ValueError(f"at least 2 measured values are needed, {count} given")
    size = len(groups[0])
    for number, group in enumerate(groups, 1):
        if len(group) != size:
            raise ValueError(f"subgroups must all be one size: subgroup 1 has {size} values, "
                             f"subgroup {number} has {len(group)}")
    if size > max(FACTORS):
        raise ValueError(f"subgroups of {size} values: the chart factors go up to "
                         f"{max(FACTORS)}; use subgroups of 2 to {max(FACTORS)}, or single values")
    return groups, size


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def _spreads(groups: list[list[Decimal]], size: int) -> list[Decimal]:
    """Each subgroup's range, or (single values) the moving ranges of consecutive values."""
    if size == 1:
        return [abs(later[0] - earlier[0]) for earlier, later in pairwise(groups)]
    return [max(group) - min(group) for group in groups]


def _indices(limits: Limits, mean: Decimal, sigma: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """(Cp, Cpk) or (Pp, Ppk) for this sigma: None where there is no limit or no spread."""
    if sigma == 0:
        return None, None
    lower, upper = limits.lower, limits.upper
    potential = (upper - lower) / (6 * sigma) if lower is not None and upper is not None else None
    distances = []
    if upper is not None:
        distances.append(upper - mean)
    if lower is not None:
        distances.append(mean - lower)
    actual = min(distances) / (3 * sigma) if distances else None
    return potential, actual


def _side(value: Decimal, centre: Decimal, reach: Decimal) -> int:
    """1 above centre + reach, -1 below centre - reach, 0 between (on the lines included)."""
    if value - centre > reach:
        return 1
    if centre - value > reach:
        return -1
    return 0


def _rules_broken(values: list[Decimal], centre: Decimal, sigma: Decimal) -> list[tuple[int, ...]]:
    """For each point, the Western Electric rules whose pattern it completes."""
    broken = []
    for at, value in enumerate(values):
        rules = []
        for rule, needed, window, zone in _RULES:
            side = _side(value, centre, zone * sigma)
            recent = values[max(0, at - window + 1):at + 1]
            if side and sum(_side(other, centre, zone * sigma) == side for other in recent) >= needed:
                rules.append(rule)
        broken.append(tuple(rules))
    return broken
