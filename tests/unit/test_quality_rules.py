"""Quality's pure rules: what conforms, how a lot is decided, what an inspection needs, and the
nonconformance workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal as D

from engine.quality import rules
from engine.quality.rules import Found


@dataclass
class Char:
    id: int
    name: str
    kind: str = "measured"
    lower_limit: D | None = None
    upper_limit: D | None = None
    defect_class: str = "major"


DIAMETER = Char(1, "Diameter", lower_limit=D("9.95"), upper_limit=D("10.05"))
FINISH = Char(2, "Finish", kind="attribute", defect_class="minor")
CRACK = Char(3, "Crack", kind="attribute", defect_class="critical")


def test_a_value_exactly_on_a_limit_conforms_and_one_step_outside_does_not():
    for value, expected in ((D("9.95"), True), (D("10.05"), True), (D("10.000000"), True),
                            (D("9.949999"), False), (D("10.050001"), False)):
        assert rules.conforms(DIAMETER, Found(1, 1, value=value)) is expected, value


def test_a_one_sided_limit_checks_its_side_only():
    flatness = Char(4, "Flatness", upper_limit=D("0.2"))
    assert rules.conforms(flatness, Found(1, 4, value=D("-5")))
    assert not rules.conforms(flatness, Found(1, 4, value=D("0.21")))


def test_a_missing_value_never_conforms():
    assert not rules.conforms(DIAMETER, Found(1, 1))
    assert not rules.conforms(FINISH, Found(1, 2))


def test_a_lot_is_accepted_up_to_the_acceptance_number_of_nonconforming_units():
    # 5 units; units 2 and 4 fail (unit 2 on both characteristics: it counts once)
    found = [Found(n, 1, value=D("10.1") if n in (2, 4) else D("10")) for n in range(1, 6)]
    found += [Found(n, 2, passed=n != 2) for n in range(1, 6)]
    decision = rules.decide(2, [DIAMETER, FINISH], found)
    assert (decision.nonconforming, decision.critical, decision.accepted) == (2, 0, True)
    assert rules.decide(1, [DIAMETER, FINISH], found).accepted is False
    assert decision.conforms[(2, 1)] is False and decision.conforms[(3, 1)] is True


def test_one_critical_defect_rejects_the_lot_whatever_the_acceptance_number():
    found = [Found(n, 3, passed=n != 5) for n in range(1, 6)]
    decision = rules.decide(3, [CRACK], found)
    assert (decision.nonconforming, decision.critical, decision.accepted) == (0, 1, False)


def test_every_missing_measurement_is_a_problem_named_by_sample_and_characteristic():
    found = [Found(n, 1, value=D("10")) for n in (1, 2)] + [Found(1, 2, passed=True), Found(2, 2)]
    problems = rules.check_measurements(3, [DIAMETER, FINISH], found)
    [missing] = [p for p in problems if p.code == "missing"]
    assert missing.field == "value"
    assert "3 measurement(s) missing" in missing.message
    assert "sample 2 of Finish" in missing.message and "sample 3 of Diameter" in missing.message
    assert "sample 3 of Finish" in missing.message


def test_measurements_of_the_wrong_kind_beyond_the_sample_or_twice_are_problems():
    found = [Found(1, 1, passed=True), Found(1, 2, value=D(1)), Found(4, 1, value=D(10)),
             Found(2, 1, value=D(10)), Found(2, 1, value=D(10)), Found(1, 9, value=D(1))]
    codes = {(p.field, p.code) for p in rules.check_measurements(3, [DIAMETER, FINISH], found)}
    assert {("value", "wrong_kind"), ("passed", "wrong_kind"), ("sample_number", "extra"),
            ("sample_number", "duplicate"), ("characteristic_id", "extra")} <= codes


def test_a_complete_inspection_has_no_problems():
    found = [Found(n, c.id, value=D("10") if c.kind == "measured" else None,
                   passed=True if c.kind == "attribute" else None)
             for n in (1, 2) for c in (DIAMETER, FINISH)]
    assert rules.check_measurements(2, [DIAMETER, FINISH], found) == []


def test_a_plan_needs_a_standard_aql_or_a_fixed_sample():
    def codes(**values):
        row = rules.plan_defaults({"code": "P1", "item_id": 1, **values})
        return {(p.field, p.code) for p in rules.check_plan(row)}
    assert codes(aql=D("1.0")) == set()
    assert codes(aql=D("1.1")) == {("aql", "invalid")}
    assert codes() == {("aql", "required")}
    assert codes(level="IV", aql=D("1.0")) == {("level", "invalid")}
    assert codes(sampling="fixed", sample_size=5, accept_number=0) == set()
    assert codes(sampling="fixed", sample_size=5, accept_number=5) == {("accept_number", "invalid")}
    assert codes(sampling="fixed") == {("sample_size", "required"), ("accept_number", "required")}


def test_a_measured_characteristic_needs_sensible_limits():
    def codes(**values):
        row = rules.characteristic_defaults({"plan_id": 1, "name": "Diameter", **values})
        return {(p.field, p.code) for p in rules.check_characteristic(row)}
    assert codes(lower_limit=D(1), upper_limit=D(2), nominal=D("1.5")) == set()
    assert codes() == {("upper_limit", "required")}
    assert codes(lower_limit=D(2), upper_limit=D(1)) == {("upper_limit", "limits")}
    assert codes(lower_limit=D(1), upper_limit=D(2), nominal=D(3)) == {("nominal", "limits")}
    assert codes(kind="attribute", upper_limit=D(1)) == {("upper_limit", "not_allowed")}
    assert codes(kind="attribute", defect_class="fatal") == {("defect_class", "invalid")}


def test_only_a_held_lot_is_disposed_of_and_always_with_a_reason():
    assert rules.check_disposition("quarantined", "L1", "release", "re-measured: fine") == []
    codes = {(p.field, p.code) for p in rules.check_disposition("available", "L1", "melt", " ")}
    assert codes == {("decision", "invalid"), ("reason", "required"), ("lot_id", "not_held")}


NCR = {"title": "Burrs on bolts", "opened_on": date(2026, 1, 5), "owner": "quinn", "item_id": 1,
       "severity": "major", "status": "open"}


def test_a_nonconformance_moves_one_step_at_a_time_each_step_needing_what_it_stands_on():
    assert {p.code for p in rules.check_advance(NCR, "action", [], "vic")} == {"workflow"}
    assert [p.field for p in rules.check_advance(NCR, "investigating", [], "vic")] == ["containment"]
    investigating = NCR | {"status": "investigating", "containment": "stock held"}
    assert {p.field for p in rules.check_advance(investigating, "action", [], "vic")} == {"root_cause",
                                                                                         "root_cause_method"}
    fishbone = investigating | {"root_cause": "worn die", "root_cause_method": "fishbone"}
    assert [p.field for p in rules.check_advance(fishbone, "action", [], "vic")] == ["cause_category"]
    assert rules.check_advance(fishbone | {"cause_category": "machine"}, "action", [], "vic") == []
    acting = fishbone | {"status": "action", "cause_category": "machine"}
    assert [p.code for p in rules.check_advance(acting, "verification", [], "vic")] == ["workflow"]


def test_closing_needs_every_action_done_and_an_independent_verifier():
    verifying = NCR | {"status": "verification"}
    open_action = {"id": 7, "description": "new die", "owner": "ann", "status": "open"}
    done = open_action | {"status": "done"}
    [still_open] = rules.check_advance(verifying, "closed", [open_action], "vic")
    assert still_open.code == "workflow" and "#7 new die (ann)" in still_open.message
    assert rules.check_advance(verifying, "closed", [done], "vic") == []
    for owner in ("quinn", "ann"):
        [refused] = rules.check_advance(verifying, "closed", [done], owner)
        assert (refused.field, refused.code) == ("verifier", "verifier")
    assert [p.code for p in rules.check_advance(NCR | {"status": "closed"}, "open", [], "vic")] == ["workflow"]


def test_a_nonconformance_is_about_something():
    row = rules.ncr_defaults({"title": "x", "opened_on": date(2026, 1, 1), "owner": "quinn"})
    assert [(p.field, p.code) for p in rules.check_ncr(row)] == [("item_id", "required")]


def test_an_action_done_says_when():
    row = rules.action_defaults({"ncr_id": 1, "description": "retrain", "owner": "ann", "due_on": date(2026, 2, 1),
                                 "status": "done"})
    assert [(p.field, p.code) for p in rules.check_action(row)] == [("done_on", "required")]
    row = rules.action_defaults({**row, "status": "open", "done_on": date(2026, 2, 1)})
    assert [(p.field, p.code) for p in rules.check_action(row)] == [("status", "conflict")]
