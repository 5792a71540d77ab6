"""Sampling inspection by attributes, ISO 2859-1:1999, single sampling: how many items of a
lot to inspect, how many nonconforming ones the lot may hold and still be accepted, and when
inspection of a supplier's lots becomes tighter, lighter or stops.

Why a standard scheme: a lot is accepted on a sample, not by inspecting every item; the
published tables give plans whose risks are known and that a supplier and a customer both
recognise, and the switching rules of clause 9 make a supplier whose quality slips pay for it
with tightened inspection (and, in the end, with no acceptance at all), and one whose quality
stays good earn lighter, cheaper, reduced inspection.

What is here, pure Python and nothing stored:

- `code_letter`: Table 1, the sample size code letter for a lot size and inspection level;
- `single_sampling_plan`: Tables 2-A (normal), 2-B (tightened) and 2-C (reduced), following
  the arrows (the plan reached replaces the letter and the sample size; a sample as big as the
  lot or bigger means inspecting the whole lot with the same acceptance number);
- `switch`, `resume`, `plan_for`: the switching rules of clause 9, one lot at a time.

The master tables are held as the published diagonal: along each code letter's row, each AQL
one step tighter moves the plans one letter down, so a row is the run that follows its
acceptance number 0 (arrows, then the acceptance numbers). In the 1999 edition every single
sampling plan, reduced ones included, has Re = Ac + 1; earlier editions and ANSI/ASQ Z1.4 have
reduced plans with a gap between Ac and Re (a lot between them accepted, then back to normal),
which this edition dropped. The tables were checked cell by cell against published
transcriptions of ISO 2859-1:1999 (GB/T 2828.1-2012) and of MIL-STD-105E / ANSI Z1.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

INSPECTION_LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
AQLS: tuple[Decimal, ...] = tuple(Decimal(text) for text in (
    "0.010 0.015 0.025 0.040 0.065 0.10 0.15 0.25 0.40 0.65 1.0 1.5 2.5 4.0 6.5 10 15 25 40 65 "
    "100 150 250 400 650 1000").split())
SEVERITIES = ("normal", "tightened", "reduced")

LETTERS = "ABCDEFGHJKLMNPQRS"       # sample size code letters (no I, no O); S on tightened only

# Table 1: the upper end of each lot size range, and its letters for S-1 S-2 S-3 S-4 I II III.
_CODE_LETTERS = (
    (8, "AAAAAAB"), (15, "AAAAABC"), (25, "AABBBCD"), (50, "ABBCCDE"), (90, "BBCCCEF"),
    (150, "BBCDDFG"), (280, "BCDEEGH"), (500, "BCDEFHJ"), (1200, "CCEFGJK"),
    (3200, "CDEGHKL"), (10000, "CDFGJLM"), (35000, "CDFHKMN"), (150000, "DEGJLNP"),
    (500000, "DEGJMPQ"), (None, "DEHKNQR"),             # 500 001 and over
)


@dataclass(frozen=True)
class _MasterTable:
    """One of Tables 2-A, 2-B, 2-C, read along the diagonal.

    `zero_at` is the row + column (A = 0, AQL 0.010 = 0) where a plan has Ac 0; `run` is what
    follows it along a row, one AQL step at a time: "v" use the first plan below, "^" the first
    plan above, a number the acceptance number. The numbers after "|" stand only in rows A to E
    (the small samples); further right every row points up.
    """

    name: str
    sample_sizes: tuple[int, ...]       # by code letter, A first
    zero_at: int
    run: str


_TABLES = {
    "normal": _MasterTable("2-A", (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800,
                                   1250, 2000), 14, "0 ^ v 1 2 3 5 7 10 14 21 | 30 44"),
    "tightened": _MasterTable("2-B", (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800,
                                      1250, 2000, 3150), 15, "0 v v 1 2 3 5 8 12 18 | 27 41"),
    "reduced": _MasterTable("2-C", (2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500,
                                    800), 14, "0 ^ v v 1 2 3 5 6 8 10 | 14 21"),
}
# Table 2-B at letter A, AQL 10: Ac 0 on 2 items, on the diagonal, as ISO 2859-1:1999 prints it;
# MIL-STD-105E and ANSI/ASQ Z1.4 have an arrow down there instead (Ac 1 on 8 items).
# Table 2-C, rows A and B (samples of 2): from AQL 25 up they hold Table 2-A's plans for a
# sample of 2, not the run above.
_REDUCED_TOP_ROWS = {AQLS.index(Decimal(25)) + step: ac
                     for step, ac in enumerate((1, 2, 3, 5, 7, 10, 14, 21, 30))}
_S = LETTERS.index("S")                 # Table 2-B's row S holds one plan: AQL 0.025, Ac 1


def _drawn(severity: str, row: int, column: int) -> int | str | None:
    """What a master table shows in a cell, before the arrows at its edges are turned."""
    table = _TABLES[severity]
    if severity == "tightened" and row == _S and AQLS[column] != Decimal("0.025"):
        return None
    if severity == "reduced" and row <= 1 and column in _REDUCED_TOP_ROWS:
        return _REDUCED_TOP_ROWS[column]
    step = row + column - table.zero_at
    if step < 0:
        return "v"
    long_run, _, small_rows_only = table.run.partition(" | ")
    run = long_run.split() + (small_rows_only.split() if row <= LETTERS.index("E") else [])
    if step >= len(run):
        return "^"
    return run[step] if run[step] in "^v" else int(run[step])


def _cell(severity: str, row: int, column: int) -> int | str | None:
    """A cell as published: an arrow with no plan in its direction points the other way
    (row A's arrow next to its Ac 0 points down, row R's last ones up)."""
    drawn = _drawn(severity, row, column)
    rows = len(_TABLES[severity].sample_sizes)
    if drawn == "v" and not any(isinstance(_drawn(severity, r, column), int)
                                for r in range(row + 1, rows)):
        return "^"
    if drawn == "^" and not any(isinstance(_drawn(severity, r, column), int) for r in range(row)):
        return "v"
    return drawn


def _read(severity: str, row: int, column: int) -> tuple[int, int]:
    """Follow the arrows from a cell to the plan they lead to: (its row, its Ac)."""
    for _ in range(len(LETTERS)):
        cell = _cell(severity, row, column)
        if isinstance(cell, int):
            return row, cell
        row += 1 if cell == "v" else -1
    raise AssertionError(f"Table {_TABLES[severity].name} leads nowhere from {LETTERS[row]}")


def _aql_column(aql: Decimal) -> int:
    if not isinstance(aql, Decimal) or not aql.is_finite() or aql not in AQLS:
        raise ValueError(f"AQL {aql!r} is not one of the preferred AQLs of ISO 2859-1 "
                         f"(a Decimal, one of {', '.join(str(a) for a in AQLS)})")
    return AQLS.index(aql)


def code_letter(lot_size: int, level: str) -> str:
    """Table 1: sample size code letter for a lot size and inspection level.

    A lot of one is read in the first row (2 to 8), and so is inspected whole."""
    if level not in INSPECTION_LEVELS:
        raise ValueError(f"inspection level {level!r} is not one of {', '.join(INSPECTION_LEVELS)}")
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size < 1:
        raise ValueError(f"lot size {lot_size!r} is not a whole number of items, 1 or more")
    for upper, letters in _CODE_LETTERS:
        if upper is None or lot_size <= upper:
            return letters[INSPECTION_LEVELS.index(level)]
    raise AssertionError("Table 1 ends with an open range")


@dataclass(frozen=True)
class SamplingPlan:
    code_letter: str      # the letter the plan was finally read at (after following arrows)
    sample_size: int      # never more than the lot: a bigger sample means the whole lot
    accept: int           # Ac: the most nonconforming items (or nonconformities) to accept
    reject: int           # Re: the fewest not to accept (Ac + 1 in every 1999 single plan)
    severity: str

    def accepts(self, nonconforming: int) -> bool:
        if nonconforming < 0:
            raise ValueError(f"a sample cannot hold {nonconforming} nonconforming items")
        return nonconforming <= self.accept


def single_sampling_plan(lot_size: int, level: str, aql: Decimal,
                         severity: str = "normal") -> SamplingPlan:
    """Tables 2-A (normal), 2-B (tightened), 2-C (reduced), single sampling, following the
    arrows: use the first sampling plan below (or above) the arrow; when a plan is reached this
    way, its sample size (and code letter) replace the original ones."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    letter = code_letter(lot_size, level)
    row, accept = _read(severity, LETTERS.index(letter), _aql_column(aql))
    sample_size = _TABLES[severity].sample_sizes[row]
    return SamplingPlan(code_letter=LETTERS[row], sample_size=min(sample_size, lot_size),
                        accept=accept, reject=accept + 1, severity=severity)


@dataclass(frozen=True)
class SwitchingState:
    severity: str = "normal"            # normal | tightened | reduced | discontinued
    recent: tuple[bool, ...] = ()       # the last (up to 4) lots since the last switch on
                                        # normal or tightened: accepted or not, most recent last
    score: int = 0                      # the switching score (9.3.3.2), counted on normal
    not_accepted_on_tightened: int = 0  # since tightened began; 5 -> discontinued


_STATES = (*SEVERITIES, "discontinued")
_WINDOW = 5             # both lot-counting rules look at 5 consecutive lots: 4 kept + this one


def plan_for(state: SwitchingState, lot_size: int, level: str, aql: Decimal) -> SamplingPlan:
    """The plan for the next lot in this state; while discontinued, the tightened plan
    (inspection resumes at tightened)."""
    severity = "tightened" if state.severity == "discontinued" else state.severity
    return single_sampling_plan(lot_size, level, aql, severity)


def switch(state: SwitchingState, *, accepted: bool, nonconforming: int, lot_size: int,
           level: str, aql: Decimal) -> SwitchingState:
    """The state after one lot's original inspection (resubmitted lots do not count), by
    ISO 2859-1:1999 clause 9:

    - normal -> tightened when 2 of 5 or fewer consecutive lots are not accepted;
    - tightened -> normal when 5 consecutive lots are accepted;
    - tightened -> discontinued when the lots not accepted since tightened began reach 5;
    - normal -> reduced when the switching score reaches 30. The standard also asks that
      production be at a steady rate and that the responsible authority approve reduced
      inspection: both are taken as given here, the caller decides otherwise by not switching;
    - reduced -> normal when a lot is not accepted;
    - discontinued stays discontinued (inspection resumes only through `resume`).

    The switching score (9.3.3.2) starts at 0 with normal inspection. For a plan with Ac 2 or
    more, it gains 3 if the lot would also have been accepted at the AQL one step tighter (the
    next smaller AQL, the normal plan at the same code letter: the same sample), else it goes
    back to 0; for Ac 0 or 1 it gains 2 if the lot is accepted, else it goes back to 0.

    `accepted` is the lot's decision; with several classes of nonconformity it may be "not
    accepted" for another class's count, so it is taken as given. `nonconforming` is this
    class's count in the sample, used for the score.
    """
    if state.severity not in _STATES:
        raise ValueError(f"inspection state {state.severity!r} is not one of {', '.join(_STATES)}")
    if isinstance(nonconforming, bool) or not isinstance(nonconforming, int) or nonconforming < 0:
        raise ValueError(f"nonconforming {nonconforming!r} is not a count (0 or more)")
    plan = plan_for(state, lot_size, level, aql)        # checks lot size, level and AQL
    if state.severity == "discontinued":
        return state
    window = (*state.recent, accepted)[-_WINDOW:]
    recent = window[1 - _WINDOW:]
    if state.severity == "reduced":
        return state if accepted else SwitchingState("normal")
    if state.severity == "tightened":
        if not accepted:
            not_accepted = state.not_accepted_on_tightened + 1
            if not_accepted >= 5:
                return SwitchingState("discontinued", not_accepted_on_tightened=not_accepted)
            return SwitchingState("tightened", recent, not_accepted_on_tightened=not_accepted)
        if len(window) == _WINDOW and all(window):
            return SwitchingState("normal")
        return SwitchingState("tightened", recent,
                              not_accepted_on_tightened=state.not_accepted_on_tightened)
    if window.count(False) >= 2:
        return SwitchingState("tightened")
    if plan.accept >= 2:
        column = _aql_column(aql) - 1
        _, tighter_accept = _read("normal", LETTERS.index(plan.code_letter), column)
        score = state.score + 3 if accepted and nonconforming <= tighter_accept else 0
    else:
        score = state.score + 2 if accepted else 0
    if score >= 30:
        return SwitchingState("reduced")
    return SwitchingState("normal", recent, score)


def resume(state: SwitchingState) -> SwitchingState:
    """After the supplier's corrective action: inspection resumes at tightened, counted anew."""
    if state.severity != "discontinued":
        raise ValueError(f"only discontinued inspection resumes; this one is {state.severity}")
    return SwitchingState("tightened")
