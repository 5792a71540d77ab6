"""The `backoffice ledger` commands, end to end, as the accountant runs them: the chart, a
year's periods, two entries, a refused one, the reports, closing and reopening a month, a
clerk who may not post, and the beancount export. Amounts are small enough to check by hand.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.integration.conftest import edit_by_label, read_sheet


@pytest.fixture
def ledger(backoffice):
    """Admin `ada`, accountant `alex` and warehouse clerk `wes`; the default chart and 2026's
    periods installed by alex. Returns a runner of `backoffice ledger ...` as alex."""
    assert backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin").code == 0
    for login, role in (("alex", "accountant"), ("wes", "warehouse")):
        assert backoffice("users", "add", login, "--name", login.title(), "--role", role, user="ada").code == 0

    def run(*args: str, user: str = "alex"):
        return backoffice("ledger", *args, user=user)

    chart = run("chart", "--install", "--json")
    assert chart.code == 0, chart.stderr
    accounts = {a["code"]: a for a in chart.json()["accounts"]}
    assert chart.json()["added"] == len(accounts) >= 25
    assert (accounts["1100"]["parent"], accounts["1100"]["postable"], accounts["1000"]["postable"]) == (
        "1000", True, False)
    opened = run("periods", "2026")
    assert opened.code == 0 and "opened 12 periods of 2026" in opened.stdout
    return run


def ok(result) -> dict:
    assert result.code == 0, result.stderr
    return result.json()


def test_post_refuse_report_close_and_reopen(ledger, tmp_path):
    capital = ok(ledger("post", "--date", "2026-01-05", "--memo", "capital paid in",
                        "--line", "1100:10000:", "--line", "3100::10000", "--json"))
    assert capital["number"] == "JE-2026-00001" and capital["posted_by"] == "alex"
    assert [(x["account"], x["debit"], x["credit"]) for x in capital["lines"]] == [
        ("1100", "10000.0000", "0.0000"), ("3100", "0.0000", "10000.0000")]
    sale = ledger("post", "--date", "2026-01-20", "--memo", "cash sale",
                  "--line", "1100:1200.50:", "--line", "4100::1000.50", "--line", "2200::200")
    assert sale.code == 0 and "JE-2026-00002" in sale.stdout and "1,200.50" in sale.stdout
    unbalanced = ledger("post", "--date", "2026-01-21", "--line", "6200:450:", "--line", "1100::400")
    assert unbalanced.code == 1 and "does not balance" in unbalanced.stderr and "differ by 50" in unbalanced.stderr

    tb = ok(ledger("trial-balance", "--as-of", "2026-01-31", "--json"))
    assert tb["total_debit"] == tb["total_credit"] == "11200.5000"
    pnl = ok(ledger("pnl", "--from", "2026-01-01", "--to", "2026-01-31", "--json"))
    assert [(r["code"], r["amount"]) for r in pnl["income"]] == [("4100", "1000.5000")]
    assert (pnl["result"], pnl["previous_start"], pnl["previous_end"]) == ("1000.5000", "2025-12-01", "2025-12-31")
    sheet = ok(ledger("balance-sheet", "--as-of", "2026-01-31", "--json"))
    assert sheet["total_assets"] == sheet["total_liabilities_and_equity"] == "11200.5000"
    assert sheet["current_earnings"] == "1000.5000"

    closed = ledger("close", "2026-01")
    assert closed.code == 0 and "closed 2026-01" in closed.stdout and "3200" in closed.stdout
    assert "JE-2026-00003" in closed.stdout
    undo = ledger("reverse", "JE-2026-00003", "--date", "2026-02-01")
    assert undo.code == 1 and "is a closing entry" in undo.stderr
    late = ledger("post", "--date", "2026-01-31", "--line", "6200:10:", "--line", "1100::10")
    assert late.code == 1 and "period 2026-01 is closed" in late.stderr
    reopened = ledger("reopen", "2026-01")
    assert reopened.code == 0 and "reopened 2026-01" in reopened.stdout

    clerk = ledger("post", "--date", "2026-02-02", "--line", "6200:10:", "--line", "1100::10", user="wes")
    assert clerk.code == 2 and "may not write ledger" in clerk.stderr

    books = tmp_path / "books.beancount"
    exported = ledger("export-beancount", "--out", str(books))
    assert exported.code == 0, exported.stderr
    # capital, sale, the closing entry and its reversal on reopening
    assert "wrote 4 entries" in exported.stdout and books.read_text().count("number: \"JE-2026-") == 4
    loader = pytest.importorskip("beancount.loader")
    _entries, errors, _options = loader.load_file(str(books))
    assert errors == []


def test_invoice_post_pay_and_age(ledger, backoffice):
    """A sales invoice written and posted, posted again (refused), paid in part, and aged."""
    customer = ok(backoffice("contacts", "add", "--kind", "organisation", "--name", "Acme Ltd", "--country", "GB",
                             "--json", user="ada"))["id"]
    invoice = ok(ledger("invoice", "--customer", str(customer), "--date", "2026-02-01", "--terms", "14",
                        "--line", "3:19.99:4100:0.2:Widgets: blue", "--post", "--json"))
    assert (invoice["number"], invoice["gross"], invoice["due_on"]) == ("INV-2026-00001", "71.9600", "2026-02-15")
    again = ledger("post-invoice", str(invoice["id"]))
    assert again.code == 1 and "posted already" in again.stderr
    paid = ok(ledger("pay", "--customer", str(customer), "--date", "2026-03-01", "--amount", "50",
                     "--invoice", "INV-2026-00001:50", "--json"))
    assert paid["settles"] == {"INV-2026-00001": "50.0000"}
    [row] = ok(ledger("aging", "--as-of", "2026-04-30", "--json"))
    assert (row["contact"], row["days_61_90"], row["total"]) == ("Acme Ltd", "21.9600", "21.9600")
    sheet = ok(ledger("statement", str(customer), "--from", "2026-01-01", "--to", "2026-12-31", "--json"))
    assert (sheet["opening"], sheet["closing"], len(sheet["lines"])) == ("0.0000", "21.9600", 2)
    too_much = ledger("pay", "--customer", str(customer), "--date", "2026-03-02", "--amount", "30",
                      "--invoice", "INV-2026-00001:30")
    assert too_much.code == 1 and "more than is open" in too_much.stderr


def test_an_entry_typed_into_the_ledger_workbook_reaches_the_reports(ledger, backoffice, tmp_path):
    """The accountant's round trip from the shell: make the workbook, type an entry as two
    rows, validate, sync, and find it in the trial balance."""
    path = tmp_path / "ledger.xlsx"
    made = backoffice("workbook", "new", "ledger", "--out", str(path), user="alex")
    assert made.code == 0, made.stderr
    row = len(read_sheet(path, "Journal")) + 1
    edit_by_label(path, "Journal", row, {"Entry": "A", "Date": date(2026, 2, 3), "Memo": "van bought",
                                         "Account": "1500", "Debit": 8000})
    edit_by_label(path, "Journal", row + 1, {"Entry": "A", "Account": "1100", "Credit": 7900})
    checked = backoffice("validate", str(path), "--json", user="alex")
    assert checked.code == 1 and "differ by 100" in checked.stdout
    edit_by_label(path, "Journal", row + 1, {"Credit": 8000})
    synced = ok(backoffice("sync", str(path), "--json", user="alex"))
    assert (synced["status"], synced["inserted"]) == ("applied", 2)
    tb = ok(ledger("trial-balance", "--as-of", "2026-02-28", "--json"))
    assert tb["total_debit"] == "8000.0000"
    assert read_sheet(path, "Journal")[row - 1][2] == "JE-2026-00001"
