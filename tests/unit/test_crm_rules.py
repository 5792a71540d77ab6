"""The CRM's pure rules: the stages setting parsed and refused whole, naming `crm.stages`;
the problems of an interaction and an opportunity, each with its field and code; the
weighted value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from engine.config import CrmSettings, SettingsError
from engine.crm import rules

STAGES = rules.parse_stages(CrmSettings().stages)


def codes(problems):
    return {(p.field, p.code) for p in problems}


def test_the_default_stages_are_in_order_with_their_probabilities():
    assert STAGES.names == ("lead", "qualified", "proposal", "negotiation", "won", "lost")
    assert STAGES.open == ("lead", "qualified", "proposal", "negotiation")
    assert STAGES.probability("proposal") == D(50)
    assert rules.parse_stages([" Lead : 12.5 ", "won:100", "lost:0"]).probability("lead") == D("12.5")


@pytest.mark.parametrize("stages, said", [
    (["lead:10", "lead:20", "won:100", "lost:0"], "named twice"),
    (["lead:110", "won:100", "lost:0"], "from 0 to 100"),
    (["lead:-1", "won:100", "lost:0"], "from 0 to 100"),
    (["lead:ten", "won:100", "lost:0"], "not a number"),
    (["lead", "won:100", "lost:0"], "not \"name:probability\""),
    (["lead:10", "won:100"], "lost must be among the stages"),
    (["lead:10", "lost:0"], "won must be among the stages"),
    (["won:100", "lost:0"], "at least one open stage"),
])
def test_a_bad_stages_setting_is_refused_naming_it(stages, said):
    with pytest.raises(SettingsError) as refused:
        rules.parse_stages(stages)
    assert refused.value.field == "crm.stages"
    assert "crm.stages" in str(refused.value) and said in str(refused.value)


def opportunity(**values):
    row = {"contact_id": 1, "title": "Bolts", "stage": None, "value": None, "currency": None, **values}
    return rules.opportunity_defaults(row, STAGES, "EUR")


def test_an_opportunity_starts_at_the_first_stage_in_the_base_currency():
    row = opportunity(currency=None, stage=None)
    assert (row["stage"], row["currency"], row["value"]) == ("lead", "EUR", D(0))
    assert rules.check_opportunity(row, STAGES) == []
    typed = opportunity(currency=" gbp ", stage="Proposal", value="1200.5")
    assert (typed["currency"], typed["stage"], typed["value"]) == ("GBP", "proposal", D("1200.5"))


def test_every_problem_of_an_opportunity_is_named_with_its_field_and_code():
    row = opportunity(title=" ", stage="maybe", value=D("-1"), currency="EUX", contact_id=None)
    assert codes(rules.check_opportunity(row, STAGES)) == {
        ("contact_id", "required"), ("title", "required"), ("stage", "unknown_stage"), ("value", "negative"),
        ("currency", "unknown_currency")}
    assert codes(rules.check_opportunity(opportunity(stage="lost"), STAGES)) == {("lost_reason", "lost_reason")}
    assert codes(rules.check_opportunity(opportunity(value=D("1.23456")), STAGES)) == {("value", "places")}
    assert codes(rules.check_opportunity(opportunity(value="lots"), STAGES)) == {("value", "invalid")}


def test_a_closed_opportunity_is_final():
    assert codes(rules.check_opportunity_change("won", "opportunity #1")) == {("stage", "closed")}
    assert codes(rules.check_opportunity_change("lost", "opportunity #1")) == {("stage", "closed")}
    assert rules.check_opportunity_change("proposal", "opportunity #1") == []


def test_every_problem_of_an_interaction_is_named_with_its_field_and_code():
    row = rules.interaction_defaults({"contact_id": None, "kind": "Fax", "summary": "  ", "occurred_on": None})
    assert codes(rules.check_interaction(row)) == {("contact_id", "required"), ("kind", "invalid"),
                                                   ("summary", "required"), ("occurred_on", "required")}
    early = {"contact_id": 1, "kind": "call", "summary": "x", "occurred_on": date(2026, 3, 2),
             "follow_up_on": date(2026, 3, 1)}
    assert codes(rules.check_interaction(early)) == {("follow_up_on", "before_occurred")}
    assert rules.check_interaction({**early, "follow_up_on": date(2026, 3, 2)}) == []
    assert codes(rules.check_interaction_change(logged=True)) == {("summary", "logged")}


def test_the_weighted_value_is_exact_in_cents():
    assert rules.weighted(D("1000.12"), D(25)) == D("250.03")
    assert rules.weighted(D("1000.10"), D(25)) == D("250.02")     # 250.025: half to even, as the ledger rounds
    assert rules.weighted(D("999.99"), D("12.5")) == D("125.00")
