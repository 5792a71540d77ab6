"""ISO 2859-1:1999 single sampling plans and switching rules.

Expected values are copied from the published tables of ISO 2859-1:1999 (second edition):
Table 1 (sample size code letters) and Tables 2-A, 2-B, 2-C (single sampling, normal,
tightened, reduced), as printed in its identical adoption GB/T 2828.1-2012; Table 1 and
Table 2-A are also the same in ANSI/ASQ Z1.4 (Tables I and II-A). A comment gives the table,
row (code letter) and column (AQL) of each value; "->" marks where an arrow leads.
"""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest

from engine.quality.sampling import (
    AQLS,
    INSPECTION_LEVELS,
    SEVERITIES,
    SamplingPlan,
    SwitchingState,
    code_letter,
    plan_for,
    resume,
    single_sampling_plan,
    switch,
)


def test_the_names_the_module_offers():
    assert INSPECTION_LEVELS == ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
    assert SEVERITIES == ("normal", "tightened", "reduced")
    assert [str(aql) for aql in AQLS] == [
        "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65",
        "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65", "100", "150", "250",
        "400", "650", "1000"]


# ISO 2859-1:1999 Table 1 (= ANSI/ASQ Z1.4-2008 Table I): (lot size, level) -> code letter.
@pytest.mark.parametrize(("lot_size", "level", "letter"), [
    (2, "S-1", "A"), (8, "II", "A"), (9, "II", "B"),             # 2-8 | 9-15
    (8, "III", "B"), (9, "III", "C"),
    (25, "S-3", "B"), (26, "S-2", "B"), (50, "S-4", "C"), (51, "S-1", "B"),
    (90, "I", "C"), (91, "I", "D"), (280, "S-4", "E"), (281, "I", "F"),
    (500, "II", "H"), (501, "II", "J"),                          # 281-500 | 501-1200
    (500, "S-1", "B"), (501, "S-1", "C"), (500, "III", "J"), (501, "III", "K"),
    (3200, "S-2", "D"), (3201, "S-3", "F"), (10000, "I", "J"), (10001, "II", "M"),
    (35000, "S-4", "H"), (35001, "S-4", "J"), (150000, "III", "P"), (150001, "I", "M"),
    (500000, "II", "P"), (500001, "II", "Q"),                    # 150001-500000 | 500001+
    (500000, "S-3", "G"), (500001, "S-3", "H"), (500000, "I", "M"), (500001, "I", "N"),
    (500001, "S-1", "D"), (500001, "III", "R"), (10_000_000, "S-4", "K"),
])
def test_code_letter_is_read_from_table_1(lot_size, level, letter):
    assert code_letter(lot_size, level) == letter


def test_a_lot_of_one_is_read_in_the_first_row_and_inspected_whole():
    assert code_letter(1, "III") == "B"
    assert single_sampling_plan(1, "II", D("1.0")) == SamplingPlan("E", 1, 0, 1, "normal")


# (lot size, level, AQL, severity) -> (code letter, sample size, Ac, Re)
@pytest.mark.parametrize(("lot_size", "level", "aql", "severity", "expected"), [
    # Table 1 501-1200/II = J; Table 2-A row J, AQL 1.0
    (1000, "II", "1.0", "normal", ("J", 80, 2, 3)),
    # Table 1 1201-3200/II = K; Table 2-A row K, AQL 2.5
    (2000, "II", "2.5", "normal", ("K", 125, 7, 8)),
    # Table 1 3201-10000/II = L; Table 2-A row L, AQL 0.65
    (5000, "II", "0.65", "normal", ("L", 200, 3, 4)),
    # Table 1 281-500/II = H; Table 2-A row H, AQL 4.0
    (300, "II", "4.0", "normal", ("H", 50, 5, 6)),
    # Ac 0: Table 2-A row J, AQL 0.15
    (1000, "II", "0.15", "normal", ("J", 80, 0, 1)),
    # Table 1 91-150/II = F; Table 2-A row F, AQL 0.25: arrow down -> row H (50, 0 1)
    (100, "II", "0.25", "normal", ("H", 50, 0, 1)),
    # Table 2-A row J, AQL 0.40: arrow down -> row K (125, 1 2)
    (1000, "II", "0.40", "normal", ("K", 125, 1, 2)),
    # Table 2-A row L, AQL 0.10: arrow up -> row K (125, 0 1)
    (5000, "II", "0.10", "normal", ("K", 125, 0, 1)),
    # Table 1 10001-35000/II = M; Table 2-A row M, AQL 6.5: arrow up -> row L (200, 21 22)
    (20000, "II", "6.5", "normal", ("L", 200, 21, 22)),
    # Table 1 500001+/II = Q; Table 2-A row Q, AQL 0.015: arrow up -> row P (800, 0 1)
    (600000, "II", "0.015", "normal", ("P", 800, 0, 1)),
    # Table 1 9-15/II = B; Table 2-A row B, AQL 0.65: arrow down -> row F (20, 0 1), but the
    # lot has only 10 items: all of them are inspected
    (10, "II", "0.65", "normal", ("F", 10, 0, 1)),
    # Table 1 2-8/II = A; Table 2-A row A, AQL 40 (nonconformities per 100 items)
    (8, "II", "40", "normal", ("A", 2, 2, 3)),
    # Table 2-B row K, AQL 2.5
    (2000, "II", "2.5", "tightened", ("K", 125, 5, 6)),
    # Ac 0: Table 2-B row J, AQL 0.25
    (1000, "II", "0.25", "tightened", ("J", 80, 0, 1)),
    # Table 2-B row K, AQL 0.40: arrow down -> row L (200, 1 2)
    (2000, "II", "0.40", "tightened", ("L", 200, 1, 2)),
    # Table 1 500001+/III = R; Table 2-B row R, AQL 0.025: arrow down -> row S (3150, 1 2)
    (600000, "III", "0.025", "tightened", ("S", 3150, 1, 2)),
    # Table 1 150001-500000/III = Q; Table 2-B row Q, AQL 0.025: arrow down -> row S
    (200000, "III", "0.025", "tightened", ("S", 3150, 1, 2)),
    # Table 1 500001+/III = R; Table 2-B row R, AQL 0.015: arrow up -> row Q (1250, 0 1)
    (600000, "III", "0.015", "tightened", ("Q", 1250, 0, 1)),
    # Table 2-C row K (50), AQL 2.5
    (2000, "II", "2.5", "reduced", ("K", 50, 5, 6)),
    # Table 2-C row K, AQL 4.0: 6 7 in the 1999 edition (ANSI/ASQ Z1.4 has 5 8)
    (2000, "II", "4.0", "reduced", ("K", 50, 6, 7)),
    # Ac 0: Table 2-C row K, AQL 0.10
    (2000, "II", "0.10", "reduced", ("K", 50, 0, 1)),
    # Table 2-C row K, AQL 0.40: arrow down -> row L (80, 1 2) (ANSI/ASQ Z1.4 has 0 2 on 50)
    (2000, "II", "0.40", "reduced", ("L", 80, 1, 2)),
    # Table 1 2-8/II = A; Table 2-C row A, AQL 1.0: arrow down -> row E (5), lot of 3: all
    (3, "II", "1.0", "reduced", ("E", 3, 0, 1)),
])
def test_single_sampling_plan_is_read_from_tables_2_a_2_b_2_c(lot_size, level, aql, severity,
                                                               expected):
    plan = single_sampling_plan(lot_size, level, D(aql), severity)
    assert (plan.code_letter, plan.sample_size, plan.accept, plan.reject) == expected
    assert plan.severity == severity


# One lot size per code letter: the top of its range at level II (R: 500 001 at level III).
_LOT_BY_LETTER = {
    "A": (8, "II"), "B": (15, "II"), "C": (25, "II"), "D": (50, "II"), "E": (90, "II"),
    "F": (150, "II"), "G": (280, "II"), "H": (500, "II"), "J": (1200, "II"), "K": (3200, "II"),
    "L": (10000, "II"), "M": (35000, "II"), "N": (150000, "II"), "P": (500000, "II"),
    "Q": (500001, "II"), "R": (500001, "III"),
}
# Whole columns, rows A to R, each cell after its arrows: letter read at, sample size - Ac.
_COLUMNS = {
    ("normal", "1.0"):        # Table 2-A, AQL 1.0
        "E13-0 E13-0 E13-0 E13-0 E13-0 E13-0 H50-1 H50-1 J80-2 K125-3 L200-5 M315-7 N500-10 "
        "P800-14 Q1250-21 Q1250-21",
    ("tightened", "1.0"):     # Table 2-B, AQL 1.0
        "F20-0 F20-0 F20-0 F20-0 F20-0 F20-0 J80-1 J80-1 J80-1 K125-2 L200-3 M315-5 N500-8 "
        "P800-12 Q1250-18 Q1250-18",
    ("reduced", "4.0"):       # Table 2-C, AQL 4.0
        "B2-0 B2-0 B2-0 F8-1 F8-1 F8-1 G13-2 H20-3 J32-5 K50-6 L80-8 M125-10 M125-10 M125-10 "
        "M125-10 M125-10",
}


@pytest.mark.parametrize(("severity", "aql"), list(_COLUMNS))
def test_a_whole_column_matches_the_published_table(severity, aql):
    for (letter, (lot_size, level)), cell in zip(_LOT_BY_LETTER.items(),
                                                 _COLUMNS[severity, aql].split(), strict=True):
        assert code_letter(lot_size, level) == letter
        read_at, sample_size, accept = re.fullmatch(r"([A-S])(\d+)-(\d+)", cell).groups()
        sample_size, accept = int(sample_size), int(accept)
        plan = single_sampling_plan(lot_size, level, D(aql), severity)
        # a sample as big as the lot or bigger: the whole lot, same Ac
        assert (plan.code_letter, plan.sample_size, plan.accept, plan.reject) == (
            read_at, min(sample_size, lot_size), accept, accept + 1), letter


def test_the_aql_is_compared_by_value():
    assert single_sampling_plan(1000, "II", D("1")) == single_sampling_plan(1000, "II", D("1.00"))


def test_a_plan_accepts_up_to_its_acceptance_number():
    plan = single_sampling_plan(1000, "II", D("1.0"))      # 2-A J / 1.0: 80, Ac 2, Re 3
    assert plan.accepts(0) and plan.accepts(2)
    assert not plan.accepts(3)


# --- switching rules, clause 9 ---------------------------------------------------------------

LOT = {"lot_size": 1000, "level": "II"}         # Table 1: J
AC2 = {**LOT, "aql": D("1.0")}                  # 2-A J/1.0: 80, Ac 2; one step tighter (0.65): Ac 1
AC0 = {**LOT, "aql": D("0.15")}                 # 2-A J/0.15: 80, Ac 0
AC1 = {**LOT, "aql": D("0.65")}                 # 2-A J/0.65: 80, Ac 1


def run(state: SwitchingState, lots: list[bool], plan: dict = AC0) -> SwitchingState:
    """Lots accepted (True) or not (False); an accepted lot with no nonconforming item."""
    for accepted in lots:
        state = switch(state, accepted=accepted, nonconforming=0 if accepted else 5, **plan)
    return state


def test_normal_goes_tightened_when_2_of_5_consecutive_lots_are_not_accepted():
    state = run(SwitchingState(), [False, True, True, True])
    assert state.severity == "normal"
    assert run(state, [False]).severity == "tightened"
    assert run(SwitchingState(), [True, False, False]) == SwitchingState("tightened")


def test_normal_stays_when_2_lots_not_accepted_are_not_within_5_consecutive_lots():
    state = run(SwitchingState(), [False, True, True, True, True, False])
    assert state.severity == "normal"
    assert state.recent == (True, True, True, False)


def test_tightened_goes_normal_after_5_consecutive_lots_accepted():
    state = run(SwitchingState("tightened"), [True, True, True, True])
    assert state.severity == "tightened"
    assert run(state, [True]) == SwitchingState("normal")
    broken = run(SwitchingState("tightened"), [True, True, False, True, True, True, True])
    assert broken.severity == "tightened"
    assert run(broken, [True]).severity == "normal"


def test_tightened_is_discontinued_at_the_5th_lot_not_accepted_since_it_began():
    state = run(SwitchingState("tightened"), [False, True, False, True, False, True, False])
    assert (state.severity, state.not_accepted_on_tightened) == ("tightened", 4)
    assert run(state, [True, True]).not_accepted_on_tightened == 4    # not a run of 5 yet
    state = run(state, [False])
    assert state.severity == "discontinued"


def test_discontinued_stays_discontinued_until_resumed_at_tightened():
    state = run(SwitchingState("tightened"), [False] * 5)
    assert run(state, [True] * 6) == state
    assert plan_for(state, **AC2) == single_sampling_plan(1000, "II", D("1.0"), "tightened")
    assert resume(state) == SwitchingState("tightened")
    with pytest.raises(ValueError, match="only discontinued inspection resumes"):
        resume(SwitchingState("tightened"))


def test_score_adds_3_for_ac_2_or_more_only_when_acceptable_at_one_aql_tighter():
    state = switch(SwitchingState(), accepted=True, nonconforming=1, **AC2)     # 1 <= Ac 1 at 0.65
    assert state.score == 3
    state = switch(state, accepted=True, nonconforming=0, **AC2)
    assert state.score == 6
    state = switch(state, accepted=True, nonconforming=2, **AC2)      # accepted, not at 0.65
    assert (state.severity, state.score) == ("normal", 0)


def test_score_adds_2_for_ac_0_or_1_when_accepted():
    state = switch(SwitchingState(), accepted=True, nonconforming=0, **AC0)
    assert state.score == 2
    state = switch(state, accepted=True, nonconforming=1, **AC1)     # Ac 1: no tighter check
    assert state.score == 4


def test_score_goes_back_to_0_when_a_lot_is_not_accepted():
    state = SwitchingState(score=27, recent=(True, True, True, True))
    assert switch(state, accepted=False, nonconforming=3, **AC2).score == 0
    assert switch(state, accepted=False, nonconforming=1, **AC0).score == 0


def test_normal_goes_reduced_when_the_score_reaches_30():
    state = run(SwitchingState(), [True] * 9, AC2)
    assert (state.severity, state.score) == ("normal", 27)
    assert run(state, [True], AC2) == SwitchingState("reduced")
    state = run(SwitchingState(), [True] * 14, AC0)
    assert (state.severity, state.score) == ("normal", 28)
    assert run(state, [True], AC0).severity == "reduced"


def test_the_plan_for_a_state_is_read_at_its_severity():
    assert plan_for(SwitchingState("reduced"), **AC2) == single_sampling_plan(
        1000, "II", D("1.0"), "reduced")                               # 2-C J/1.0: 32, Ac 2


def test_reduced_goes_normal_when_a_lot_is_not_accepted():
    state = run(SwitchingState("reduced"), [True] * 20, AC2)
    assert state == SwitchingState("reduced")
    assert run(state, [False], AC2) == SwitchingState("normal")


def test_the_score_is_not_counted_on_tightened():
    assert run(SwitchingState("tightened"), [True] * 4, AC2).score == 0


# --- bad arguments ---------------------------------------------------------------------------

def test_an_unknown_inspection_level_names_the_levels():
    with pytest.raises(ValueError, match=r"'IV' is not one of S-1, S-2, S-3, S-4, I, II, III"):
        single_sampling_plan(100, "IV", D("1.0"))


@pytest.mark.parametrize("aql", [D("0.6"), 0.65, "1.0", D("NaN")])
def test_an_aql_not_in_the_table_names_the_aqls(aql):
    with pytest.raises(ValueError, match=r"one of 0\.010, 0\.015, .*, 650, 1000\)"):
        single_sampling_plan(100, "II", aql)


def test_an_unknown_severity_names_the_severities():
    with pytest.raises(ValueError, match="'strict' is not one of normal, tightened, reduced"):
        single_sampling_plan(100, "II", D("1.0"), "strict")


@pytest.mark.parametrize("lot_size", [0, -5, 2.5, True])
def test_a_lot_size_below_1_or_not_whole_is_refused(lot_size):
    with pytest.raises(ValueError, match="lot size .* is not a whole number of items, 1 or more"):
        code_letter(lot_size, "II")


def test_switch_refuses_an_unknown_state_and_a_negative_count():
    with pytest.raises(ValueError, match="normal, tightened, reduced, discontinued"):
        switch(SwitchingState("skip"), accepted=True, nonconforming=0, **AC0)
    with pytest.raises(ValueError, match="not a count"):
        switch(SwitchingState(), accepted=True, nonconforming=-1, **AC0)
    with pytest.raises(ValueError, match="S-1, S-2"):
        switch(SwitchingState(), accepted=True, nonconforming=0, lot_size=10, level="2",
               aql=D("1.0"))
