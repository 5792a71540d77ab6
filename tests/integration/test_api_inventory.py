"""Inventory over HTTP: the routes post through the same services as `backoffice stock`, refuse
with the same problems, and save nothing on a refusal; stock actions are done once per
Idempotency-Key; item updates are guarded by If-Match."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine.inventory import rules
from engine.inventory.models import Item, Location, StockMovement
from engine.security.roles import SYSTEM
from tests.integration.doors import fingerprint, through_cli

DAY = "2026-03-02"


@pytest.fixture
def stock(people_db):
    """Two warehouses (MAIN with a bin), an average-cost item, a FIFO item with a reorder
    point, a lot-tracked item; nothing on hand."""
    with people_db.unit_of_work(SYSTEM, source="system") as session:
        main = Location(code="MAIN", name="Main warehouse", kind="warehouse")
        east = Location(code="EAST", name="East warehouse", kind="warehouse")
        session.add_all([main, east])
        session.flush()
        session.add(Location(code="MAIN-A1", name="Bin A1", kind="bin", warehouse_id=main.id))
        session.add_all([
            Item(sku="BOLT-8", name="Bolt M8", valuation="average"),
            Item(sku="CAP-1", name="Astro condenser", valuation="fifo", reorder_point=D(60), reorder_quantity=D(200)),
            Item(sku="GLUE", name="Epoxy glue", valuation="fifo", lot_tracked=True),
        ])
    return people_db


def cli(db, login: str, *args: str) -> object:
    """`backoffice ... --json --user LOGIN` in-process, on the same database: what it printed."""
    from engine.cli import app

    url = db.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--database-url", url, *args, "--json", "--user", login])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def receive(api, headers, sku="BOLT-8", quantity="10", to="MAIN", cost="0.25", **more):
    return api.post("/inventory/receipts", json={"sku": sku, "quantity": quantity, "to_location": to,
                                                 "unit_cost": cost, "moved_on": DAY, **more}, headers=headers)


def issue(api, headers, sku="BOLT-8", quantity="4", frm="MAIN", **more):
    return api.post("/inventory/issues", json={"sku": sku, "quantity": quantity, "from_location": frm,
                                               "moved_on": DAY, **more}, headers=headers)


def movements(db) -> int:
    with db.reading() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(StockMovement))


def item_id(db, sku: str) -> int:
    with db.reading() as session:
        return session.scalars(sa.select(Item.id).where(Item.sku == sku)).one()


def test_receive_then_issue_over_http_changes_on_hand_as_the_cli_does(api, stock):
    wes = api.as_("wes")
    received = receive(api, wes)
    assert received.status_code == 201, received.text
    assert (received.json()["kind"], received.json()["quantity"], received.json()["value"]) == ("receipt", "10", "2.5000")
    issued = issue(api, wes, reference="order 7")
    assert issued.status_code == 201, issued.text
    assert issued.json()["value"] == "-1.0000" and issued.json()["posted_by"] == "wes"
    # the answer is the movement as `backoffice stock issue --json` prints it
    by_cli = cli(stock, "wes", "stock", "issue", "BOLT-8", "1", "--from", "MAIN", "--date", DAY)
    assert set(by_cli) == set(issued.json())
    assert api.get(f"/inventory/movements/{by_cli['id']}", headers=wes).json() == by_cli
    on_hand = api.get("/inventory/on-hand", params={"item": "BOLT-8"}, headers=wes)
    assert on_hand.status_code == 200
    assert on_hand.json()["items"] == cli(stock, "wes", "stock", "on-hand", "--item", "BOLT-8")
    assert [r["quantity"] for r in on_hand.json()["items"]] == ["5"]
    valuation = api.get("/inventory/valuation", params={"as_of": DAY}, headers=wes).json()
    assert valuation == cli(stock, "wes", "stock", "valuation", "--as-of", DAY)
    assert valuation["total"] == "1.2500"


def test_issuing_more_than_on_hand_is_refused_as_by_the_cli_and_nothing_is_saved(api, stock):
    wes = api.as_("wes")
    assert receive(api, wes, quantity="3").status_code == 201
    before = fingerprint(stock)
    refused = issue(api, wes, quantity="5")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "insufficient_stock"
    found = {(p["field"], p["code"]) for p in refused.json()["problems"]}
    assert found == {("quantity", "insufficient_stock")}
    assert found == through_cli(stock, "wes", ("stock", "issue", "BOLT-8", "5", "--from", "MAIN", "--date", DAY))
    assert fingerprint(stock) == before
    # the movement's own rules too: the CLI's codes, all at once, nothing saved
    bad = api.post("/inventory/transfers", json={"sku": "GLUE", "quantity": "0", "from_location": "MAIN",
                                                 "to_location": "MAIN"}, headers=wes)
    assert bad.status_code == 422
    expected = through_cli(stock, "wes", ("stock", "transfer", "GLUE", "0", "--from", "MAIN", "--to", "MAIN"))
    assert {(p["field"], p["code"]) for p in bad.json()["problems"]} == expected
    assert {("quantity", "not_positive"), ("to_location_id", "same_location"), ("lot_id", "required")} <= expected
    assert fingerprint(stock) == before


def test_a_sales_user_posting_a_receipt_gets_403_and_nothing_is_saved(api, stock):
    sam, stef = api.as_("sam"), api.as_("stef")
    before = fingerprint(stock)
    refused = receive(api, sam)
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission"
    assert fingerprint(stock) == before
    # sales reads stock; staff does not even read it
    assert api.get("/inventory/on-hand", headers=sam).status_code == 200
    assert api.get("/inventory/items", headers=stef).status_code == 403
    assert api.post("/inventory/items", json={"sku": "X", "name": "X"}, headers=sam).status_code == 403
    assert fingerprint(stock) == before


def test_a_retried_issue_with_the_same_idempotency_key_issues_once(api, stock):
    wes = api.as_("wes")
    assert receive(api, wes).status_code == 201
    before = movements(stock)
    headers = {**wes, "Idempotency-Key": "issue-7f3a"}
    first = issue(api, headers, quantity="4")
    again = issue(api, headers, quantity="4")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert movements(stock) == before + 1
    assert api.get("/inventory/on-hand", params={"item": "BOLT-8"}, headers=wes).json()["items"][0]["quantity"] == "6"
    other = issue(api, headers, quantity="5")
    assert other.status_code == 422 and other.json()["problems"][0]["code"] == "idempotency_key_reused"
    assert movements(stock) == before + 1


def test_a_stale_if_match_on_an_item_update_is_412_with_the_current_item(api, stock):
    wes = api.as_("wes")
    path = f"/inventory/items/{item_id(stock, 'CAP-1')}"
    read = api.get(path, headers=wes)
    assert read.status_code == 200 and read.json()["sku"] == "CAP-1"
    tag = read.headers["ETag"]
    assert api.patch(path, json={"reorder_point": "70"}, headers=wes).status_code == 428
    first = api.patch(path, json={"reorder_point": "70"}, headers={**wes, "If-Match": tag})
    assert first.status_code == 200 and first.headers["ETag"] != tag
    stale = api.patch(path, json={"reorder_point": "90", "name": "Other"}, headers={**wes, "If-Match": tag})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == first.headers["ETag"]
    assert D(stale.json()["current"]["reorder_point"]) == 70 and stale.json()["current"]["name"] == "Astro condenser"
    assert D(api.get(path, headers=wes).json()["reorder_point"]) == 70
    # a refused change: the rules' codes, nothing changed
    bad = api.patch(path, json={"valuation": "lifo", "standard_cost": "-1"},
                    headers={**wes, "If-Match": first.headers["ETag"]})
    assert bad.status_code == 422
    assert {(p["field"], p["code"]) for p in bad.json()["problems"]} == {("valuation", "invalid"),
                                                                         ("standard_cost", "negative")}
    assert api.get(path, headers=wes).headers["ETag"] == first.headers["ETag"]


def test_items_and_locations_are_created_once_with_the_sheets_rules(api, stock):
    wes = api.as_("wes")
    headers = {**wes, "Idempotency-Key": "new-item-1"}
    body = {"sku": " NUT-8 ", "name": "Nut M8", "reorder_point": "10"}
    made = api.post("/inventory/items", json=body, headers=headers)
    assert made.status_code == 201, made.text
    again = api.post("/inventory/items", json=body, headers=headers)
    assert again.json()["id"] == made.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    item = made.json()
    assert (item["sku"], item["unit"], item["valuation"], item["active"], D(item["on_hand"])) == \
        ("NUT-8", "each", "fifo", True, 0)
    assert made.headers["ETag"] == '"1"'
    # the Items sheet's rule and unique SKU (any case): the same codes
    refused = api.post("/inventory/items", json={"sku": "bolt-8", "valuation": "lifo"}, headers=wes)
    assert refused.status_code == 422
    found = {(p["field"], p["code"]) for p in refused.json()["problems"]}
    assert found == {(p.field, p.code) for p in rules.check_item({"sku": "bolt-8", "valuation": "lifo"})} | {
        ("sku", "duplicate")}
    main = api.get("/inventory/locations", params={"kind": "warehouse", "sort": "code"}, headers=wes).json()
    assert [place["code"] for place in main["items"]] == ["EAST", "MAIN"]
    main_id = main["items"][1]["id"]
    made = api.post("/inventory/locations", json={"code": "MAIN-B2", "name": "Bin B2", "kind": "bin",
                                                  "warehouse_id": main_id}, headers=wes)
    assert made.status_code == 201 and made.json()["warehouse"] == "MAIN"
    bins = api.get("/inventory/locations", params={"warehouse": "MAIN", "kind": "bin"}, headers=wes).json()
    assert [place["code"] for place in bins["items"]] == ["MAIN-A1", "MAIN-B2"]
    before = fingerprint(stock)
    east_bin = api.get("/inventory/locations", params={"warehouse": "MAIN", "kind": "bin"}, headers=wes)
    bin_id = east_bin.json()["items"][0]["id"]
    refused = api.post("/inventory/locations", json={"code": "main", "name": "Again", "kind": "bin",
                                                     "warehouse_id": bin_id}, headers=wes)
    assert {(p["field"], p["code"]) for p in refused.json()["problems"]} == {("code", "duplicate"),
                                                                             ("warehouse_id", "reference")}
    refused = api.post("/inventory/locations", json={"code": "X", "name": "X", "kind": "bin"}, headers=wes)
    assert {(p["field"], p["code"]) for p in refused.json()["problems"]} == {("warehouse_id", "required")}
    location = api.get(f"/inventory/locations/{bin_id}", headers=wes)
    changed = api.patch(f"/inventory/locations/{bin_id}", json={"name": "Bin A1, top shelf"},
                        headers={**wes, "If-Match": location.headers["ETag"]})
    assert changed.status_code == 200 and changed.json()["name"] == "Bin A1, top shelf"
    assert fingerprint(stock)["locations"] == (before["locations"][0], before["locations"][1] + 1)


def test_transfer_adjust_reverse_and_the_movement_list(api, stock):
    wes = api.as_("wes")
    assert receive(api, wes, sku="CAP-1", quantity="100", cost="2").status_code == 201
    moved = api.post("/inventory/transfers", json={"sku": "CAP-1", "quantity": "30", "from_location": "MAIN",
                                                   "to_location": "EAST", "moved_on": DAY}, headers=wes)
    assert moved.status_code == 201 and (moved.json()["from_location"], moved.json()["to_location"]) == ("MAIN", "EAST")
    lost = api.post("/inventory/adjustments", json={"sku": "CAP-1", "quantity": "-5", "at": "EAST",
                                                    "reason": "damaged", "moved_on": DAY}, headers=wes)
    assert lost.status_code == 201 and lost.json()["value"] == "-10.0000"
    wrong = api.post("/inventory/adjustments", json={"sku": "CAP-1", "quantity": "5", "at": "EAST",
                                                     "reason": "damaged"}, headers=wes)
    assert {(p["field"], p["code"]) for p in wrong.json()["problems"]} == {("quantity", "wrong_sign")}
    headers = {**wes, "Idempotency-Key": "undo-damage"}
    undone = api.post(f"/inventory/movements/{lost.json()['id']}/reverse", json={"moved_on": DAY}, headers=headers)
    assert undone.status_code == 201 and undone.json()["reverses_id"] == lost.json()["id"]
    assert api.post(f"/inventory/movements/{lost.json()['id']}/reverse", json={"moved_on": DAY},
                    headers=headers).json() == undone.json()
    twice = api.post(f"/inventory/movements/{lost.json()['id']}/reverse", json={}, headers=wes)
    assert twice.status_code == 422 and twice.json()["code"] == "already_reversed"
    assert api.post("/inventory/movements/999/reverse", headers=wes).status_code == 404
    at_east = api.get("/inventory/movements", params={"item": "CAP-1", "location": "EAST"}, headers=wes).json()
    assert [m["kind"] for m in at_east["items"]] == ["transfer", "adjustment", "adjustment"]
    first = api.get("/inventory/movements", params={"sort": "-id", "limit": 2}, headers=wes).json()
    rest = api.get("/inventory/movements", params={"sort": "-id", "limit": 2, "cursor": first["next"]},
                   headers=wes).json()
    ids = [m["id"] for m in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == first["total"] == 4
    assert api.get("/inventory/movements", params={"item": "NOPE"}, headers=wes).status_code == 404
    reorder = api.get("/inventory/reorder", headers=wes).json()
    assert reorder["items"] == cli(stock, "wes", "stock", "reorder") == []
    assert api.post("/inventory/issues", json={"sku": "CAP-1", "quantity": "50", "from_location": "MAIN",
                                               "customer_id": 1, "moved_on": DAY}, headers=wes).json()["reason"] == "sold"
    reorder = api.get("/inventory/reorder", headers=wes).json()
    assert reorder["items"] == cli(stock, "wes", "stock", "reorder")
    assert [(r["sku"], r["on_hand"], r["suggested"]) for r in reorder["items"]] == [("CAP-1", "50", "200")]
    listed = api.get("/inventory/items", params={"search": "cap"}, headers=wes).json()["items"]
    assert [(i["sku"], D(i["on_hand"])) for i in listed] == [("CAP-1", 50)]


def test_a_number_sent_as_json_is_read_to_the_last_digit(api, stock):
    """A JSON number is read from its text, never through a float (894120449492.8205 as a
    float is ...8206): here too large a unit cost, refused quoting exactly what was sent, not
    a neighbour of it. Every module's router reads bodies so (`support.ExactNumbers`)."""
    body = ('{"sku": "BOLT-8", "quantity": 1, "to_location": "MAIN", "unit_cost": 894120449492.8205, '
            f'"moved_on": "{DAY}"}}')
    headers = {**api.as_("wes"), "content-type": "application/json"}
    before = fingerprint(stock)
    refused = api.post("/inventory/receipts", content=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert [(p["field"], p["code"]) for p in refused.json()["problems"]] == [("unit_cost", "out_of_range")]
    assert "894120449492.8205 " in refused.json()["problems"][0]["message"]
    assert fingerprint(stock) == before
