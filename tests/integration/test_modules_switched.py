"""Modules switched on in config: with only contacts and inventory on, the demo, the workbooks
and the command line work and show nothing of the ledger, staff, mail merge or reports; a
module (or a setting) needing a module that is off is refused at start-up, naming both."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from engine import app, registry
from engine.app import ModuleSwitchedOff
from engine.cli import app as cli
from engine.errors import BackofficeError
from engine.inventory.hooks import lots_received, stock_moved
from engine.mailmerge.recipients import select
from engine.security.roles import SYSTEM
from engine.sheets.spec import modules as workbooks
from engine.sheets.spec import workbook_spec
from tests.conftest import actor_with

ON = ["contacts", "inventory"]
OTHERS = ("ledger", "staff", "quality", "mail", "report")


@pytest.fixture
def contacts_and_inventory():
    with app.started(ON) as on:
        yield on


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_the_demo_builds_contacts_and_inventory_only(contacts_and_inventory, db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = db.engine.url.render_as_string(hide_password=False)
    done = run("--database-url", url, "demo", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert {"users", "organisations", "people", "items", "locations", "stock movements"} <= set(result["created"])
    assert not {"employees", "departments", "accounts", "invoices"} & set(result["created"])
    assert result["main_job"]["status"] == "applied" and "reminders" not in result
    with db.reading() as session:
        def count(table: str) -> int:
            return session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
        assert count("contacts") > 0 and count("items") > 0 and count("stock_movements") > 0
        assert [count(t) for t in ("employees", "departments", "accounts", "journal_entries", "invoices",
                                   "mail_runs")] == [0] * 6


def test_the_workbooks_on_offer_are_contacts_and_inventory(contacts_and_inventory):
    assert workbooks() == ["contacts", "inventory"]
    with pytest.raises(BackofficeError, match=r"no workbook for 'ledger' \(the ledger module is switched off\)"):
        workbook_spec("ledger")
    with pytest.raises(BackofficeError, match=r"no workbook for 'team' \(the staff module is switched off\)"):
        workbook_spec("team")


def test_the_command_line_lists_no_group_of_a_module_that_is_off(contacts_and_inventory):
    shown = run("--help")
    assert shown.exit_code == 0
    groups = {line.split()[0] for line in shown.stdout.split("Commands:")[1].splitlines() if line.startswith("  ")
              and not line.startswith("   ")}
    assert {"contacts", "stock", "workbook", "sync", "demo"} <= groups
    assert not groups & set(OTHERS), groups


@pytest.mark.parametrize("group", OTHERS)
def test_a_group_of_a_module_that_is_off_says_so_with_exit_2(contacts_and_inventory, group):
    done = run(group, "--help")
    assert done.exit_code == 2
    module = {"mail": "mailmerge", "report": "reports"}.get(group, group)
    assert f"belongs to the {module} module, which is switched off" in done.output


def test_the_ledger_selection_of_mail_merge_is_absent_with_the_ledger_off(db):
    with app.started(["contacts", "mailmerge"]):
        assert registry.current().selection_named("overdue") is None
        with db.reading() as session, pytest.raises(
                BackofficeError, match=r"no selection 'overdue' \(the ledger module, which brings it, is switched off\)"
                                       r"; choose from tag, contacts or sheet"):
            select(session, actor_with("admin"), "overdue", days=30)
    assert registry.current().selection_named("overdue") is not None   # every module on again


def test_perpetual_inventory_is_installed_only_with_inventory_and_the_ledger_on():
    assert len(stock_moved.listeners) == 1                      # the suite runs with every module on
    with app.started(ON):
        assert stock_moved.listeners == []
    with app.started(["contacts", "ledger"]):
        assert stock_moved.listeners == []
    assert len(stock_moved.listeners) == 1


def test_the_hold_for_inspection_listens_only_with_quality_on():
    assert len(lots_received.listeners) == 1
    with app.started(ON):
        assert lots_received.listeners == []
    assert len(lots_received.listeners) == 1


def test_perpetual_inventory_switched_on_without_the_ledger_is_refused_naming_both(contacts_and_inventory, db):
    url = db.engine.url.render_as_string(hide_password=False)
    done = run("--database-url", url, "stock", "on-hand", "--user", "admin",
               env={"BACKOFFICE_LEDGER__PERPETUAL_INVENTORY": "true"})
    assert done.exit_code == 2
    assert ("ledger.perpetual_inventory is on, but it needs the modules inventory and ledger and ledger is switched "
            "off") in done.output


def test_a_module_needing_one_that_is_off_is_refused_at_start_up():
    with pytest.raises(ModuleSwitchedOff, match="the inventory module needs contacts, which is switched off"):
        app.build(["inventory"])
    with pytest.raises(ModuleSwitchedOff, match="the quality module needs inventory, which is switched off"):
        app.build(["contacts", "quality"])
    with pytest.raises(ModuleSwitchedOff, match="there is no module 'payroll'"):
        app.start(["contacts", "payroll"])


def test_the_backoffice_command_refuses_to_start_with_a_module_missing_what_it_needs(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    done = subprocess.run([sys.executable, "-m", "engine.cli", "--help"], capture_output=True, text=True,
                          cwd=tmp_path, env=env | {"BACKOFFICE_MODULES": "staff,mailmerge"}, timeout=120)
    assert done.returncode == 2
    assert "error: the staff module needs contacts, which is switched off" in done.stderr


def test_the_modules_setting_and_the_start_up_reader_agree(monkeypatch):
    from engine.config import load_settings

    monkeypatch.setenv("BACKOFFICE_MODULES", "contacts, inventory")
    assert load_settings().modules == app.configured_modules() == ON
    monkeypatch.setenv("BACKOFFICE_MODULES", '["contacts", "ledger"]')
    assert load_settings().modules == app.configured_modules() == ["contacts", "ledger"]
    monkeypatch.delenv("BACKOFFICE_MODULES")
    assert load_settings().modules == app.configured_modules() == list(registry.ALL_MODULES)


def test_the_demo_with_every_module_on_sees_no_module_twice(db):
    """(The switched-off registry keeps its declarations apart: nothing leaks into the one on.)"""
    on = registry.current()
    assert sorted(on.modules) == sorted(registry.ALL_MODULES) and on.off is not None and not on.off.modules
    with db.unit_of_work(SYSTEM, source="system") as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(sa.table("users"))) == 0
