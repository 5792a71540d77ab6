"""`backoffice quality ...` as the quality officer runs it (in-process, on SQLite and
PostgreSQL): a plan, a received lot held for inspection, what to measure, the measurements,
the disposition, a nonconformance through its workflow, rates and capability."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine.cli import app
from engine.contacts import services as contacts
from engine.inventory.models import Item, Location, StockMovement
from engine.security.roles import SYSTEM
from engine.security.users import add_user

DAY = "2026-03-02"


@pytest.fixture
def officer(db):
    """MAIN; BOLT tracked by lot from Bolt Supply (contact 1); users quinn and vic (quality),
    wes (warehouse). Returns a runner of `backoffice ARGS --json --user U` giving (exit code,
    parsed JSON or the text)."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, role in (("quinn", "quality"), ("vic", "quality"), ("wes", "warehouse")):
            add_user(session, SYSTEM, login, login.title(), [role], None)
        contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Bolt Supply", "country": "GB"})
        session.add(Location(code="MAIN", name="Main", kind="warehouse"))
        session.add(Item(sku="BOLT", name="Bolt M10", lot_tracked=True))
    url = db.engine.url.render_as_string(hide_password=False)

    def run(*args: str, user: str = "quinn", as_json: bool = True):
        result = CliRunner().invoke(app, ["--database-url", url, *args, *(["--json"] if as_json else []),
                                          "--user", user])
        text = result.stdout if result.exit_code == 0 else result.stderr
        return result.exit_code, json.loads(text) if as_json and text.strip() else text

    run.db = db
    return run


def receive(officer, lot: str, quantity: str = "500") -> None:
    code, _ = officer("stock", "receive", "BOLT", quantity, "--to", "MAIN", "--unit-cost", "2", "--lot", lot,
                      "--supplier", "1", "--date", DAY, user="wes")
    assert code == 0


def add_plan(officer) -> None:
    code, plan = officer("quality", "plan", "add", "IP-BOLT", "--item", "BOLT", "--aql", "2.5",
                         "-c", "name=Diameter,lower=9.95,upper=10.05,unit=mm,nominal=10",
                         "-c", "name=Finish,kind=attribute,class=minor")
    assert code == 0, plan
    assert (plan["code"], plan["sku"], plan["aql"], plan["characteristics"]) == ("IP-BOLT", "BOLT", "2.5", 2)


def test_a_lot_is_held_inspected_and_decided_from_the_command_line(officer):
    add_plan(officer)
    receive(officer, "L1")
    code, held = officer("quality", "lots")
    assert code == 0 and [(h["lot"], h["status"], h["on_hand"]) for h in held] == [("L1", "awaiting inspection",
                                                                                    "500")]
    code, task = officer("quality", "inspect", "L1")
    assert code == 0
    assert (task["code_letter"], task["sample_size"], task["accept"], task["reject"]) == ("H", 50, 3, 4)
    diameters = ",".join(["10.05"] * 47 + ["10.2"] * 3)          # on the limit conforms; 3 out
    code, decided = officer("quality", "inspect", "L1", "--date", DAY, "-m", f"Diameter={diameters}",
                            "-m", "finish=" + ",".join(["pass"] * 50))
    assert code == 0, decided
    assert (decided["nonconforming"], decided["accepted"], decided["status"]) == (3, True, "available")
    code, rates = officer("quality", "rates")
    assert code == 0 and rates == [{"supplier": "Bolt Supply", "inspected": 1, "rejected": 0,
                                    "rejection_rate": "0.0000", "first_pass_yield": "1.0000"}]


def test_a_missing_measurement_is_refused_naming_it_and_nothing_is_saved(officer):
    add_plan(officer)
    receive(officer, "L1")
    diameters = ",".join(["10"] * 49) + ","            # sample 50 left empty
    code, refused = officer("quality", "inspect", "L1", "-m", f"Diameter={diameters}",
                            "-m", "Finish=" + ",".join(["pass"] * 50))
    assert code == 1
    assert [(p["field"], p["code"]) for p in refused["problems"]] == [("value", "missing")]
    assert "sample 50 of Diameter" in refused["problems"][0]["message"]
    code, text = officer("quality", "inspect", "L1", "-m", "Colour=red", as_json=False)
    assert code == 2 and "NAME one of: Diameter, Finish" in text
    assert officer("quality", "lots")[1][0]["status"] == "awaiting inspection"


def test_a_rejected_lot_is_quarantined_then_returned_to_its_supplier(officer):
    add_plan(officer)
    receive(officer, "L1")
    code, decided = officer("quality", "inspect", "L1", "-m", "Diameter=" + ",".join(["10.3"] * 50),
                            "-m", "Finish=" + ",".join(["pass"] * 50))
    assert (code, decided["accepted"], decided["status"]) == (0, False, "quarantined")
    code, refused = officer("stock", "issue", "BOLT", "1", "--from", "MAIN", "--lot", "L1", user="wes")
    assert code == 1 and [p["code"] for p in refused["problems"]] == ["lot_unavailable"]
    code, refused = officer("quality", "disposition", "L1", "--return", "--reason", "oversize", user="wes")
    assert code == 2 and refused["problems"][0]["code"] == "permission"
    code, text = officer("quality", "disposition", "L1", "--return", "--scrap", "--reason", "x", as_json=False)
    assert code == 2 and "choose one of" in text
    code, done = officer("quality", "disposition", "L1", "--return", "--reason", "oversize", "--date", DAY)
    assert code == 0 and (done["status_before"], done["status"], done["quantity"]) == ("quarantined", "rejected", "500")
    with officer.db.reading() as session:
        back = session.scalars(sa.select(StockMovement).where(StockMovement.kind == "issue")).one()
        assert (back.reason, back.supplier_id, back.quantity) == ("returned", 1, D(500))


def test_a_nonconformance_goes_through_its_workflow_from_the_command_line(officer):
    code, ncr = officer("quality", "ncr", "add", "--title", "Burrs on bolts", "--item", "BOLT", "--supplier", "1",
                        "--date", "2026-01-05")
    assert code == 0 and (ncr["status"], ncr["owner"]) == ("open", "quinn")
    number = str(ncr["id"])
    code, refused = officer("quality", "ncr", "advance", number)
    assert code == 1 and [(p["field"], p["code"]) for p in refused["problems"]] == [("containment", "required")]
    assert officer("quality", "ncr", "advance", number, "--containment", "stock held")[1]["status"] == "investigating"
    assert officer("quality", "ncr", "advance", number, "--root-cause", "worn die", "--method", "5 whys")[1][
        "status"] == "action"
    code, action = officer("quality", "ncr", "action", number, "--description", "new die", "--owner", "wes",
                           "--due", "2026-01-20")
    assert code == 0
    code, overdue = officer("quality", "ncr", "overdue", "--as-of", "2026-02-01")
    assert [(o["id"], o["days_overdue"]) for o in overdue] == [(action["id"], 12)]
    assert officer("quality", "ncr", "advance", number)[1]["status"] == "verification"
    assert officer("quality", "ncr", "done", str(action["id"]), "--date", "2026-01-19")[0] == 0
    code, refused = officer("quality", "ncr", "advance", number)
    assert code == 1 and refused["problems"][0]["field"] == "verifier"
    code, closed = officer("quality", "ncr", "advance", number, user="vic")
    assert code == 0 and (closed["status"], closed["verifier"]) == ("closed", "vic")
    code, text = officer("quality", "ncr", "show", number, as_json=False)
    assert code == 0 and "[closed, major]" in text and "action #" in text and "verifier: vic" in text
    assert officer("quality", "ncr", "list", "--open")[1] == []


def test_capability_of_a_fixed_plan_from_the_command_line(officer):
    code, _ = officer("quality", "plan", "add", "IP-BOLT", "--item", "BOLT", "--fixed", "4", "--accept", "0",
                      "-c", "name=Diameter,lower=9.5,upper=10.5")
    assert code == 0
    # the capability tests' hand-computed example: Cp 1.072, Cpk 1.051
    for n, values in enumerate(["10.1,9.9,10.0,10.2", "9.8,10.0,10.1,9.9", "10.0,10.3,9.9,10.2",
                                "9.9,10.0,9.7,10.0", "10.2,10.0,10.1,9.9"], 1):
        receive(officer, f"L{n}", quantity="20")
        assert officer("quality", "inspect", f"L{n}", "-m", f"Diameter={values}")[0] == 0
    code, [found] = officer("quality", "capability", "BOLT")
    assert code == 0
    assert (found["count"], found["cp"], found["cpk"], found["chart"]["kind"]) == (20, "1.072", "1.051", "xbar-r")
    code, text = officer("quality", "capability", "BOLT", as_json=False)
    assert code == 0 and "BOLT Diameter: 20 values, mean 10.010; Cp 1.072, Cpk 1.051" in text


def test_a_plan_for_an_item_not_tracked_by_lot_is_refused(officer):
    with officer.db.unit_of_work(SYSTEM, source="system") as session:
        session.add(Item(sku="NUT", name="Nut M10"))
    code, refused = officer("quality", "plan", "add", "IP-NUT", "--item", "NUT", "--aql", "1.0", "-c", "name=Fit,kind=attribute")
    assert code == 1 and [(p["field"], p["code"]) for p in refused["problems"]] == [("item_id", "not_lot_tracked")]
    code, text = officer("quality", "plan", "add", "IP-X", "--item", "BOLT", "-c", "name:Fit", as_json=False)
    assert code == 2 and "key=value pairs" in text
