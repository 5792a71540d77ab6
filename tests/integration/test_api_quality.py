"""Quality over HTTP (the real application in-process, on SQLite and PostgreSQL): a plan, a
receipt of a planned item held for inspection, what to measure, an inspection refused while a
measurement is missing and decided once all are given, the quarantine at inventory's door,
the disposition by the quality role only, a nonconformance through its workflow with If-Match
and the verifier rule, overdue actions, rates and capability; each read answering what
`backoffice quality ... --json` prints and what `engine.quality.queries` gives, each refusal
carrying the services' field and code with nothing saved. The cross-door table at the end
sends quality's refusals through the service, the command line and the API."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine.cli_support import as_json_values
from engine.contacts import services as contacts
from engine.contacts.models import Contact
from engine.inventory.models import Item, Location, Lot, StockMovement
from engine.inventory.services import TypedMovement, post_typed
from engine.quality import dispositions, inspections, queries, services
from engine.quality import ncr as ncrs
from engine.quality.models import Inspection, Nonconformance, SwitchingState
from engine.quality.rules import Found
from engine.security.roles import SYSTEM
from engine.security.users import add_user, resolve_actor
from tests.integration.doors import Api, Case, assert_same_at_every_door, fingerprint

DAY = "2026-03-02"
PLAN = {"code": "IP-BOLT", "sku": "BOLT", "aql": "2.5", "characteristics": [
    {"name": "Diameter", "unit": "mm", "nominal": 10, "lower_limit": "9.95", "upper_limit": 10.05},
    {"name": "Finish", "kind": "attribute", "defect_class": "minor"}]}


@pytest.fixture
def plant(people_db):
    """people_db (wes: warehouse) with quinn and vic (quality), warehouse MAIN, BOLT and GLUE
    tracked by lot; `plant.supplier` is Bolt GmbH's contact id."""
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        for login in ("quinn", "vic"):
            add_user(session, SYSTEM, login, login.title(), ["quality"], None)
        session.add(Location(code="MAIN", name="Main warehouse", kind="warehouse"))
        session.add_all([Item(sku="BOLT", name="Bolt M10", lot_tracked=True),
                         Item(sku="GLUE", name="Epoxy glue", lot_tracked=True)])
        people_db.supplier = session.scalars(sa.select(Contact.id).where(Contact.name == "Bolt GmbH")).one()
    return people_db


def cli(db, login: str, *args: str) -> object:
    """`backoffice ... --json --user LOGIN` in-process, on the same database: what it printed."""
    from engine.cli import app

    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", login])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def local(db, login: str, read):
    """What `read(session, actor)` answers, in its JSON form (as a route sends it)."""
    with db.reading() as session:
        return as_json_values(read(session, resolve_actor(session, login)))


def receive(api, db, lot: str, quantity="500", sku="BOLT") -> int:
    made = api.post("/inventory/receipts", json={"sku": sku, "quantity": quantity, "to_location": "MAIN",
                                                 "unit_cost": "2", "lot": lot, "supplier_id": db.supplier,
                                                 "moved_on": DAY}, headers=api.as_("wes"))
    assert made.status_code == 201, made.text
    with db.reading() as session:
        return session.scalars(sa.select(Lot.id).join(Item).where(Lot.lot_number == lot, Item.sku == sku)).one()


def measured(diameters: list, finishes: list[bool]) -> list[dict]:
    """Every measurement, characteristics named (Diameter) or in any case (finish)."""
    return ([{"sample_number": n, "characteristic": "Diameter", "value": v} for n, v in enumerate(diameters, 1)]
            + [{"sample_number": n, "characteristic": "finish", "passed": p} for n, p in enumerate(finishes, 1)])


def add_plan(api, body=PLAN, login="quinn"):
    made = api.post("/quality/plans", json=body, headers=api.as_(login))
    assert made.status_code == 201, made.text
    return made.json()


def problems(reply) -> set[tuple[str, str]]:
    assert reply.headers["content-type"] == "application/problem+json", reply.text
    return {(p["field"], p["code"]) for p in reply.json()["problems"]}


# -- the walk --------------------------------------------------------------------------------------

def test_a_received_lot_is_held_inspected_quarantined_and_disposed_of_over_http(api, plant):
    quinn, wes = api.as_("quinn"), api.as_("wes")
    add_plan(api)
    lot = receive(api, plant, "L1")
    held = api.get("/quality/lots", headers=quinn)
    assert held.status_code == 200
    assert held.json()["items"] == cli(plant, "quinn", "quality", "lots")
    assert [(h["lot_id"], h["lot"], h["status"], h["on_hand"], h["supplier_id"]) for h in held.json()["items"]] == [
        (lot, "L1", "awaiting inspection", "500", plant.supplier)]
    # what to measure: ISO 2859-1, 500 units at level II is H, 50 units, AQL 2.5 Ac 3 Re 4
    task = api.get(f"/quality/lots/{lot}/inspection", headers=wes)       # the warehouse reads quality
    assert task.status_code == 200
    assert task.json() == cli(plant, "quinn", "quality", "inspect", "L1")
    assert (task.json()["code_letter"], task.json()["sample_size"], task.json()["accept"], task.json()["reject"],
            task.json()["severity"]) == ("H", 50, 3, 4, "normal")
    assert [(c["name"], c["lower_limit"], c["upper_limit"]) for c in task.json()["characteristics"]] == [
        ("Diameter", "9.95", "10.05"), ("Finish", None, None)]

    # one measurement missing: refused with the rules' field and code, nothing saved
    path = f"/quality/lots/{lot}/inspections"
    out_of_limits = [f"10.{30 + n % 7}" for n in range(50)]
    before = fingerprint(plant)
    refused = api.post(path, json={"measurements": measured(out_of_limits[:49], [True] * 50),
                                   "inspected_on": DAY}, headers=quinn)
    assert refused.status_code == 422
    assert problems(refused) == {("value", "missing")}
    assert "sample 50 of Diameter" in refused.json()["problems"][0]["message"]
    unknown = api.post(path, json={"measurements": [*measured(out_of_limits, [True] * 50),
                                                    {"sample_number": 1, "characteristic": "Colour", "value": 1}]},
                       headers=quinn)
    assert unknown.status_code == 422 and problems(unknown) == {("characteristic_id", "extra")}
    assert unknown.json()["problems"][0]["line"] == 101
    assert fingerprint(plant) == before
    assert api.get("/quality/lots", headers=quinn).json()["items"][0]["status"] == "awaiting inspection"

    # every measurement: decided (never typed), the lot quarantined; the answer is the command line's
    headers = {**quinn, "Idempotency-Key": "inspect-L1"}
    decided = api.post(path, json={"measurements": measured(out_of_limits, [True] * 50), "inspected_on": DAY},
                       headers=headers)
    assert decided.status_code == 201, decided.text
    assert (decided.json()["nonconforming"], decided.json()["critical"], decided.json()["accepted"],
            decided.json()["status"]) == (50, 0, False, "quarantined")
    again = api.post(path, json={"measurements": measured(out_of_limits, [True] * 50), "inspected_on": DAY},
                     headers=headers)
    assert again.json() == decided.json() and again.headers["Idempotent-Replayed"] == "true"
    receive(api, plant, "L2")
    by_cli = cli(plant, "quinn", "quality", "inspect", "L2", "--date", DAY, "-m", "Diameter=" + ",".join(out_of_limits),
                 "-m", "Finish=" + ",".join(["pass"] * 50))
    differs = {"lot", "lot_id", "inspection_id"}
    assert {k: v for k, v in decided.json().items() if k not in differs} == {
        k: v for k, v in by_cli.items() if k not in differs}
    with plant.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 2

    # the quarantine at inventory's door
    movements = fingerprint(plant)["stock_movements"]
    issued = api.post("/inventory/issues", json={"sku": "BOLT", "quantity": "1", "from_location": "MAIN", "lot": "L1",
                                                 "moved_on": DAY}, headers=wes)
    assert issued.status_code == 422 and problems(issued) == {("lot_id", "lot_unavailable")}
    assert fingerprint(plant)["stock_movements"] == movements

    # the disposition is the quality role's: the clerk gets 403, the officer returns the lot
    body = {"decision": "return", "reason": "oversize", "decided_on": DAY}
    forbidden = api.post(f"/quality/lots/{lot}/disposition", json=body, headers=wes)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "permission"
    assert fingerprint(plant)["stock_movements"] == movements
    done = api.post(f"/quality/lots/{lot}/disposition", json=body, headers=quinn)
    assert done.status_code == 201, done.text
    assert {k: v for k, v in done.json().items() if k != "id"} == {
        "lot": "L1", "decision": "return", "reason": "oversize", "status_before": "quarantined", "status": "rejected",
        "quantity": "500", "decided_on": DAY}
    with plant.reading() as session:
        back = session.scalars(sa.select(StockMovement).where(StockMovement.kind == "issue")).one()
        assert (back.reason, back.supplier_id, back.quantity, back.lot_id) == ("returned", plant.supplier, D(500), lot)
    twice = api.post(f"/quality/lots/{lot}/disposition", json=body, headers=quinn)
    assert twice.status_code == 422 and problems(twice) == {("lot_id", "not_held")}
    blank = api.post(f"/quality/lots/{lot}/disposition", json={}, headers=quinn)
    assert problems(blank) == {("decision", "required"), ("reason", "required"), ("lot_id", "not_held")}
    assert [h["lot"] for h in api.get("/quality/lots", headers=quinn).json()["items"]] == ["L2"]
    assert api.get("/quality/lots/999/inspection", headers=quinn).status_code == 404


def test_a_measurement_is_read_exactly_and_a_limit_value_conforms(api, plant):
    """10.05 is on the upper limit and conforms; 10.0500000000000001 (a float would read it as
    10.05) has more places than a measurement keeps and is refused, not rounded."""
    add_plan(api)
    lot = receive(api, plant, "L1")
    quinn = {**api.as_("quinn"), "content-type": "application/json"}
    body = {"measurements": measured(["9.95"] * 48 + [10.05, 10.05], [True] * 50), "inspected_on": DAY}
    text = json.dumps(body)
    refused = api.post(f"/quality/lots/{lot}/inspections", headers=quinn,
                       content=text.replace('"value": 10.05}', '"value": 10.0500000000000001}', 1))
    assert refused.status_code == 422 and problems(refused) == {("value", "places")}
    assert refused.json()["problems"][0]["line"] == 49
    decided = api.post(f"/quality/lots/{lot}/inspections", headers=quinn, content=text)
    assert decided.status_code == 201, decided.text
    assert (decided.json()["nonconforming"], decided.json()["accepted"], decided.json()["status"]) == (
        0, True, "available")


def test_plans_are_added_once_read_by_code_and_refused_with_the_rules_codes(api, plant):
    quinn, wes, sam = api.as_("quinn"), api.as_("wes"), api.as_("sam")
    headers = {**quinn, "Idempotency-Key": "plan-bolt"}
    made = api.post("/quality/plans", json=PLAN, headers=headers)
    assert made.status_code == 201, made.text
    again = api.post("/quality/plans", json=PLAN, headers=headers)
    assert again.json() == made.json() and again.headers["Idempotent-Replayed"] == "true"
    read = api.get("/quality/plans/IP-BOLT", headers=quinn)
    assert read.json() == made.json() and read.headers["ETag"] == made.headers["ETag"] == '"1"'
    plan = read.json()
    assert (plan["sku"], plan["aql"], plan["level"], plan["sampling"], plan["switching"]) == (
        "BOLT", "2.5", "II", "standard", True)
    assert [(c["name"], c["kind"], c["nominal"], c["lower_limit"], c["upper_limit"], c["defect_class"])
            for c in plan["characteristics"]] == [("Diameter", "measured", "10", "9.95", "10.05", "major"),
                                                   ("Finish", "attribute", None, None, None, "minor")]
    listed = api.get("/quality/plans", headers=quinn).json()
    assert listed["items"] == cli(plant, "quinn", "quality", "plan", "list")
    assert listed["items"] == [{k: v for k, v in plan.items() if k not in ("version", "item_id", "supplier_id",
                                                                           "notes", "characteristics")}
                               | {"characteristics": 2}]
    assert listed["total"] == 1 and listed["next"] is None

    # the rules' codes, every one at once; nothing saved
    before = fingerprint(plant)
    bad = {"code": "IP-GLUE", "sku": "GLUE", "aql": "3.3", "supplier_id": 99999, "characteristics": [
        {"name": "Length", "lower_limit": "2", "upper_limit": "1"}, {"name": "Length", "kind": "attribute",
                                                                     "unit": "mm"}]}
    refused = api.post("/quality/plans", json=bad, headers=quinn)
    assert refused.status_code == 422
    assert problems(refused) == {("aql", "invalid"), ("supplier_id", "reference"), ("upper_limit", "limits"),
                                 ("unit", "not_allowed"), ("name", "duplicate")}
    again = api.post("/quality/plans", json={**PLAN, "characteristics": []}, headers=quinn)
    assert problems(again) == {("code", "duplicate"), ("supplier_id", "duplicate")}   # BOLT has a plan for all
    taken = api.post("/quality/plans", json={**PLAN, "sku": "GLUE"}, headers=quinn)
    assert taken.status_code == 422 and problems(taken) == {("code", "duplicate")}
    fixed = api.post("/quality/plans", json={"code": "IP-F", "sku": "GLUE", "sampling": "fixed", "sample_size": 4,
                                             "accept_number": 4}, headers=quinn)
    assert problems(fixed) == {("accept_number", "invalid")}
    unknown = api.post("/quality/plans", json={**PLAN, "sku": "NOPE"}, headers=quinn)
    assert unknown.status_code == 404 and problems(unknown) == {("item_id", "not_found")}
    assert fingerprint(plant) == before
    forbidden = api.post("/quality/plans", json={**PLAN, "code": "IP-2", "sku": "GLUE"}, headers=wes)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "permission"
    assert api.get("/quality/plans", headers=sam).status_code == 403     # sales reads no quality
    assert api.get("/quality/plans/NOPE", headers=quinn).status_code == 404
    assert fingerprint(plant) == before


def test_a_nonconformance_goes_through_its_workflow_over_http(api, plant):
    quinn, vic = api.as_("quinn"), api.as_("vic")
    add_plan(api)
    lot = receive(api, plant, "L1")
    opened = api.post("/quality/ncrs", json={"title": "Burrs on bolts", "lot_id": lot, "supplier_id": plant.supplier,
                                             "opened_on": "2026-01-05"}, headers=quinn)
    assert opened.status_code == 201, opened.text
    ncr = opened.json()
    assert (ncr["status"], ncr["owner"], ncr["lot"], ncr["sku"], ncr["supplier"], opened.headers["ETag"]) == (
        "open", "quinn", "L1", "BOLT", "Bolt GmbH", '"1"')
    path = f"/quality/ncrs/{ncr['id']}"
    assert api.get(path, headers=quinn).json() == cli(plant, "quinn", "quality", "ncr", "show", str(ncr["id"]))
    refused = api.post("/quality/ncrs", json={"title": "Nothing named", "severity": "fatal"}, headers=quinn)
    assert problems(refused) == {("item_id", "required"), ("severity", "invalid")}

    # a step needs what it stands on; the step taken with it
    advance = f"{path}/advance"
    assert problems(api.post(advance, headers=quinn)) == {("containment", "required")}
    moved = api.post(advance, json={"containment": "stock held"}, headers=quinn)
    assert moved.status_code == 200 and moved.json()["status"] == "investigating"
    assert moved.headers["ETag"] == '"2"'

    # PATCH with If-Match: a stale ETag is 412 with the record as it is; a skipped step is refused
    stale = api.patch(path, json={"root_cause": "worn die"}, headers={**quinn, "If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["current"]["status"] == "investigating"
    assert stale.headers["ETag"] == '"2"'
    assert api.patch(path, json={"root_cause": "worn die"}, headers=quinn).status_code == 428
    skipped = api.patch(path, json={"status": "verification"}, headers={**quinn, "If-Match": '"2"'})
    assert skipped.status_code == 422 and problems(skipped) == {("status", "workflow")}
    fishbone = api.patch(path, json={"status": "action", "root_cause": "worn die", "root_cause_method": "fishbone"},
                         headers={**quinn, "If-Match": '"2"'})
    assert problems(fishbone) == {("cause_category", "required")}
    changed = api.patch(path, json={"status": "action", "root_cause": "worn die", "root_cause_method": "fishbone",
                                    "cause_category": "machine"}, headers={**quinn, "If-Match": '"2"'})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["cause_category"], changed.headers["ETag"]) == (
        "action", "machine", '"3"')

    # actions, overdue, done
    early = api.post(f"{path}/actions", json={"description": "new die", "owner": "quinn", "due_on": "2026-01-20"},
                     headers=quinn)
    assert early.status_code == 201, early.text
    assert {k: v for k, v in early.json().items() if k != "id"} == {
        "ncr_id": ncr["id"], "kind": "corrective", "description": "new die", "owner": "quinn", "due_on": "2026-01-20",
        "status": "open"}
    later = api.post(f"{path}/actions", json={"description": "check dies monthly", "owner": "wes",
                                              "due_on": "2026-01-25", "kind": "preventive"}, headers=quinn)
    assert later.status_code == 201
    assert problems(api.post(f"{path}/actions", json={"kind": "someday"}, headers=quinn)) == {
        ("description", "required"), ("owner", "required"), ("due_on", "required"), ("kind", "invalid")}
    overdue = api.get("/quality/actions/overdue", params={"as_of": "2026-02-01"}, headers=quinn).json()
    assert overdue["items"] == cli(plant, "quinn", "quality", "ncr", "overdue", "--as-of", "2026-02-01")
    assert [(o["id"], o["days_overdue"]) for o in overdue["items"]] == [(early.json()["id"], 12),
                                                                        (later.json()["id"], 7)]
    assert api.post(advance, headers=quinn).json()["status"] == "verification"
    for action in (early, later):
        done = api.post(f"/quality/actions/{action.json()['id']}/done", json={"done_on": "2026-01-19"}, headers=quinn)
        assert done.status_code == 200 and done.json() == {"id": action.json()["id"], "ncr_id": ncr["id"],
                                                           "status": "done", "done_on": "2026-01-19"}
    assert api.get("/quality/actions/overdue", params={"as_of": "2026-02-01"}, headers=quinn).json()["items"] == []

    # the verifier is whoever closes it: not its owner nor an action's owner
    before = fingerprint(plant)
    own = api.post(advance, headers=quinn)
    assert own.status_code == 422 and problems(own) == {("verifier", "verifier")}
    assert fingerprint(plant) == before
    tag = api.get(path, headers=vic).headers["ETag"]
    closed = api.patch(path, json={"status": "closed", "closed_on": "2026-01-30"}, headers={**vic, "If-Match": tag})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["verifier"], closed.json()["closed_on"]) == (
        "closed", "vic", "2026-01-30")
    assert [a["status"] for a in closed.json()["actions"]] == ["done", "done"]
    final = api.patch(path, json={"title": "again"}, headers={**vic, "If-Match": closed.headers["ETag"]})
    assert problems(final) == {("status", "workflow")}

    # the list and its filters, as the command line prints them
    listed = api.get("/quality/ncrs", headers=quinn).json()
    assert listed["items"] == cli(plant, "quinn", "quality", "ncr", "list")
    assert [n["status"] for n in listed["items"]] == ["closed"]
    assert api.get("/quality/ncrs", params={"open": "true"}, headers=quinn).json()["items"] == []
    assert api.get("/quality/ncrs", params={"status": "closed"}, headers=quinn).json()["total"] == 1
    assert api.get("/quality/ncrs/999", headers=quinn).status_code == 404
    forbidden = api.post("/quality/ncrs", json={"title": "x", "item_id": 1}, headers=api.as_("wes"))
    assert forbidden.status_code == 403
    with plant.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Nonconformance)) == 1


def test_rates_capability_and_supplier_quality_answer_what_the_queries_do(api, plant):
    """Five lots of a fixed plan (4 units, accept 0): the capability tests' hand-computed
    example for the diameters (Cp 1.072, Cpk 1.051); the fourth lot rejected for a unit's
    finish (a pass/fail characteristic has no capability)."""
    quinn = api.as_("quinn")
    add_plan(api, {"code": "IP-BOLT", "sku": "BOLT", "sampling": "fixed", "sample_size": 4, "accept_number": 0,
                   "characteristics": [{"name": "Diameter", "lower_limit": "9.5", "upper_limit": "10.5"},
                                       {"name": "Finish", "kind": "attribute"}]})
    samples = ["10.1,9.9,10.0,10.2", "9.8,10.0,10.1,9.9", "10.0,10.3,9.9,10.2", "9.9,10.0,9.7,10.0",
               "10.2,10.0,10.1,9.9"]
    for n, values in enumerate(samples, 1):
        lot = receive(api, plant, f"L{n}", quantity="20")
        body = {"measurements": measured(values.split(","), [n != 4, True, True, True]),
                "inspected_on": f"2026-03-0{n}"}
        decided = api.post(f"/quality/lots/{lot}/inspections", json=body, headers=quinn)
        assert decided.status_code == 201 and decided.json()["accepted"] is (n != 4), decided.text
    found = api.get("/quality/capability/BOLT", headers=quinn)
    assert found.status_code == 200
    assert found.json()["items"] == cli(plant, "quinn", "quality", "capability", "BOLT")
    assert found.json()["items"] == local(plant, "quinn", lambda session, actor: [
        queries.capability_record(c) for c in queries.capability(session, actor, "BOLT")])
    [diameter] = found.json()["items"]
    assert (diameter["count"], diameter["cp"], diameter["cpk"], diameter["chart"]["kind"]) == (20, "1.072", "1.051",
                                                                                              "xbar-r")
    same = api.get("/quality/capability/BOLT", params={"characteristic": "Diameter", "supplier_id": plant.supplier},
                   headers=quinn).json()["items"]
    assert [(c["count"], c["cpk"], c["supplier"]) for c in same] == [(20, "1.051", "Bolt GmbH")]
    assert problems(api.get("/quality/capability/BOLT", params={"characteristic": "Colour"}, headers=quinn)) == {
        ("characteristic", "not_found")}
    assert api.get("/quality/capability/NOPE", headers=quinn).status_code == 404

    rates = api.get("/quality/rates", headers=quinn).json()["items"]
    assert rates == cli(plant, "quinn", "quality", "rates")
    assert rates == [{"supplier": "Bolt GmbH", "inspected": 5, "rejected": 1, "rejection_rate": "0.2000",
                      "first_pass_yield": "0.8000"}]
    window = {"by": "item", "since": "2026-03-02", "until": "2026-03-04"}
    by_item = api.get("/quality/rates", params=window, headers=quinn).json()["items"]
    assert by_item == cli(plant, "quinn", "quality", "rates", "--by", "item", "--since", "2026-03-02",
                          "--until", "2026-03-04")
    assert by_item == local(plant, "quinn", lambda session, actor: [
        queries.rate_record(r, "item") for r in queries.rates(session, actor, "item", date(2026, 3, 2),
                                                               date(2026, 3, 4))])
    assert [(r["item"], r["inspected"], r["rejected"]) for r in by_item] == [("BOLT", 3, 1)]
    assert api.get("/quality/rates", params={"by": "colour"}, headers=quinn).status_code == 422

    suppliers = api.get("/quality/supplier-quality", headers=quinn).json()["items"]
    assert suppliers == local(plant, "quinn", queries.supplier_quality)
    assert [(s["supplier"], s["inspected"], s["rejected"], s["open_ncrs"], D(s["lowest_cpk"]).quantize(D("0.001")))
            for s in suppliers] == [("Bolt GmbH", 5, 1, 0, D("1.051"))]
    assert api.get("/quality/rates", headers=api.as_("sam")).status_code == 403


def test_inspection_discontinued_resumes_at_tightened_once_only(api, plant):
    quinn = api.as_("quinn")
    plan = add_plan(api)
    path = "/quality/plans/IP-BOLT/resume"
    refused = api.post(path, json={"supplier_id": plant.supplier}, headers=quinn)
    assert refused.status_code == 422 and problems(refused) == {("plan_id", "not_discontinued")}
    with plant.unit_of_work(SYSTEM, source="system") as session:
        session.add(SwitchingState(plan_id=plan["id"], supplier_key=plant.supplier, severity="discontinued", recent="RRRRR",
                                   updated_by="system"))
    assert api.post(path, json={"supplier_id": plant.supplier}, headers=api.as_("wes")).status_code == 403
    resumed = api.post(path, json={"supplier_id": plant.supplier}, headers={**quinn, "Idempotency-Key": "resume-1"})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json() == {"plan": "IP-BOLT", "supplier_id": plant.supplier, "severity": "tightened"}
    lot = receive(api, plant, "L1")
    assert api.get(f"/quality/lots/{lot}/inspection", headers=quinn).json()["severity"] == "tightened"
    assert problems(api.post(path, json={"supplier_id": plant.supplier}, headers=quinn)) == {
        ("plan_id", "not_discontinued")}
    assert api.post("/quality/plans/NOPE/resume", headers=quinn).status_code == 404


# -- the same refusals at every door ---------------------------------------------------------------

# The fixture's records, made in this order on a fresh database (checked there).
SUPPLIER, BOLT, GLUE, PLAN_ID = 1, 1, 2, 1
AWAITING, AVAILABLE = 1, 2        # BOLT's lot L1 (500, awaiting inspection), GLUE's lot G1 (no plan: available)
VERIFYING, OPEN = 1, 2            # NCR 1 in verification (owner and action owner quinn), NCR 2 open
ON = ("--date", DAY)
ALL_BUT_LAST = ",".join(["10"] * 49) + ","      # sample 50 left empty


def missing_one(session, actor):
    task = inspections.inspection_task(session, actor, AWAITING)
    diameter, finish = (c.id for c in task.characteristics)
    found = [Found(n, diameter, value=D(10)) for n in range(1, 50)] + [Found(n, finish, passed=True)
                                                                          for n in range(1, 51)]
    return inspections.inspect_lot(session, actor, AWAITING, found, date(2026, 3, 2))


def inspection_api(count: int) -> Api:
    return Api("POST", f"/quality/lots/{AWAITING}/inspections", {"measurements": measured(
        ["10"] * count, [True] * 50), "inspected_on": DAY})


CASES = [
    Case("an inspection with a measurement missing", "quinn", ("value", "missing"),
         service=missing_one,
         cli=("quality", "inspect", "L1", "-m", f"Diameter={ALL_BUT_LAST}", "-m", "Finish=" + ",".join(["pass"] * 50),
              *ON),
         api=inspection_api(49), doors=("service", "cli")),
    Case("a disposition of a lot that is not held", "quinn", ("lot_id", "not_held"),
         service=lambda session, actor: dispositions.dispose(session, actor, AVAILABLE, "release", "fine", date(2026, 3, 2)),
         cli=("quality", "disposition", "G1", "--release", "--reason", "fine", *ON),
         api=Api("POST", f"/quality/lots/{AVAILABLE}/disposition", {"decision": "release", "reason": "fine"}),
         doors=("service", "cli")),
    Case("a warehouse clerk disposing of a held lot", "wes", ("", "permission"),
         service=lambda session, actor: dispositions.dispose(session, actor, AWAITING, "scrap", "bent", date(2026, 3, 2)),
         cli=("quality", "disposition", "L1", "--scrap", "--reason", "bent", *ON),
         api=Api("POST", f"/quality/lots/{AWAITING}/disposition", {"decision": "scrap", "reason": "bent"}),
         doors=("service", "cli")),
    Case("closing a nonconformance one owns", "quinn", ("verifier", "verifier"),
         service=lambda session, actor: ncrs.advance_ncr(session, actor, VERIFYING),
         cli=("quality", "ncr", "advance", str(VERIFYING)),
         api=Api("POST", f"/quality/ncrs/{VERIFYING}/advance"), doors=("service", "cli")),
    Case("a nonconformance skipping a step", "quinn", ("status", "workflow"),
         service=lambda session, actor: ncrs.advance_ncr(session, actor, OPEN, "action"),
         cli=("quality", "ncr", "advance", str(OPEN), "--to", "action"),
         api=Api("PATCH", f"/quality/ncrs/{OPEN}", {"status": "action"}, headers={"If-Match": '"1"'}),
         doors=("service", "cli")),
    Case("a plan with an AQL the standard does not have", "quinn", ("aql", "invalid"),
         service=lambda session, actor: services.add_plan(session, actor, {"code": "IP-GLUE", "item_id": GLUE,
                                                                           "aql": D("3.3")}),
         cli=("quality", "plan", "add", "IP-GLUE", "--item", "GLUE", "--aql", "3.3", "-c", "name=Fit,kind=attribute"),
         api=Api("POST", "/quality/plans", {"code": "IP-GLUE", "sku": "GLUE", "aql": "3.3",
                                            "characteristics": [{"name": "Fit", "kind": "attribute"}]}),
         doors=("service", "cli")),
    Case("an action for someone who is not a user", "quinn", ("owner", "reference"),
         service=lambda session, actor: ncrs.add_action(session, actor, {"ncr_id": OPEN, "description": "fix",
                                                                         "owner": "nobody",
                                                                         "due_on": date(2026, 4, 1)}),
         cli=("quality", "ncr", "action", str(OPEN), "--description", "fix", "--owner", "nobody", "--due",
              "2026-04-01"),
         api=Api("POST", f"/quality/ncrs/{OPEN}/actions", {"description": "fix", "owner": "nobody",
                                                           "due_on": "2026-04-01"}),
         doors=("service", "cli")),
]


@pytest.fixture
def held_db(db):
    """wes (warehouse), quinn and vic (quality); supplier Bolt Supply; MAIN; BOLT with plan
    IP-BOLT (Diameter, Finish) and its lot L1 of 500 awaiting inspection; GLUE's lot G1; NCR 1
    in verification (quinn owns it and its one action, done), NCR 2 open."""
    with db.unit_of_work(SYSTEM, source="system") as session:
        for login, role in (("wes", "warehouse"), ("quinn", "quality"), ("vic", "quality")):
            add_user(session, SYSTEM, login, login.title(), [role], None)
        supplier, _ = contacts.add_contact(session, SYSTEM, {"kind": "organisation", "name": "Bolt Supply",
                                                              "country": "GB"})
        session.add(Location(code="MAIN", name="Main", kind="warehouse"))
        session.add_all([Item(sku="BOLT", name="Bolt M10", lot_tracked=True),
                         Item(sku="GLUE", name="Epoxy glue", lot_tracked=True)])
        session.flush()
        plan = services.add_plan(session, SYSTEM, {"code": "IP-BOLT", "item_id": BOLT, "aql": D("2.5")}, [
            {"name": "Diameter", "lower_limit": D("9.95"), "upper_limit": D("10.05")},
            {"name": "Finish", "kind": "attribute", "defect_class": "minor"}])
        for sku, lot in (("BOLT", "L1"), ("GLUE", "G1")):
            post_typed(session, SYSTEM, TypedMovement("receipt", sku, D(500), date(2026, 3, 1), to_location="MAIN",
                                                      lot=lot, unit_cost=D(2), supplier_id=supplier.id))
        verifying = ncrs.add_ncr(session, SYSTEM, {"title": "Burrs", "item_id": BOLT, "owner": "quinn",
                                                   "containment": "held"})
        ncrs.advance_ncr(session, SYSTEM, verifying.id)
        ncrs.advance_ncr(session, SYSTEM, verifying.id, root_cause="worn die", root_cause_method="5 whys")
        action = ncrs.add_action(session, SYSTEM, {"ncr_id": verifying.id, "description": "new die", "owner": "quinn",
                                                   "due_on": date(2026, 3, 9)})
        ncrs.advance_ncr(session, SYSTEM, verifying.id)
        ncrs.update_action(session, SYSTEM, action.id, None, {"status": "done", "done_on": date(2026, 3, 5)})
        other = ncrs.add_ncr(session, SYSTEM, {"title": "Scratches", "item_id": GLUE, "owner": "quinn"})
        lots = dict(session.execute(sa.select(Lot.lot_number, Lot.id)).all())
        statuses = dict(session.execute(sa.select(Lot.lot_number, Lot.status)).all())
        assert (supplier.id, plan.id, lots, verifying.id, other.id) == (
            SUPPLIER, PLAN_ID, {"L1": AWAITING, "G1": AVAILABLE}, VERIFYING, OPEN)
        assert statuses == {"L1": "awaiting inspection", "G1": "available"}
    return db


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bad_quality_input_is_refused_alike_at_every_door(case, held_db, settings, tmp_path):
    assert "api" in case.every_door
    assert_same_at_every_door(case, held_db, settings, tmp_path)
