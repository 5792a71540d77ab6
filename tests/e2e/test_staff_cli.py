"""The `backoffice staff` commands, end to end: HR hires and writes contracts, a manager and HR
enter and decide leave, refusals exit 1 with their reason, a manager sees only their team,
and the door test: nothing sensitive (salary, national id, bank account, date of birth, a
medical reason) reaches a manager or a sales user through any staff command, in tables or
--json. HR reading a medical reason is audited; a leaver is purged only after the retention
period, and the year's figures do not change.

Dates are relative to today (last year's records, this year's leave), so the tests hold in
any year. Independent calls run side by side: each is a whole process (about a second).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.config import config_dir
from tests.e2e.conftest import Result, cli_env

THIS_YEAR = date.today().year
LAST_YEAR = THIS_YEAR - 1
SALARY = "36000"
NATIONAL_ID = "QQ123456C"
BANK_ACCOUNT = "GB29NWBK60161331926819"
BORN = "1990-04-17"
MEDICAL = "migraine aura"
# Every way these could be printed: Ann's and Lou's salaries (36,000 and 24,000) and what they
# cost a month (3,000 and 2,000: their salaries too), ids, Ann's bank account and birthday.
SENSITIVE = ("36000", "36,000", "36 000", "3000", "3,000", "24000", "24,000", "2000.", "2,000", NATIONAL_ID,
             "QQ654321A", BANK_ACCOUNT, "NWBK", BORN, "1990", "17/04", "04/17", "migraine")


def monday(year: int, month: int, weeks: int = 0) -> date:
    """The first Monday of a month, plus some weeks."""
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 7 * weeks)


def ok(result) -> dict | list:
    assert result.code == 0, result.stderr
    return result.json()


def side_by_side(run):
    """A runner of calls side by side: each call is (user, *args) or (user, extra_env, *args)."""

    def together(*calls):
        def one(call):
            user, *args = call
            env = args.pop(0) if args and isinstance(args[0], dict) else None
            return run(*args, user=user, extra_env=env)

        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(one, calls))

    return together


@pytest.fixture
def together(backoffice):
    return side_by_side(backoffice)


def build_staff(backoffice) -> None:
    """Admin ada, HR hana, manager mo, sales sam. Sales: mo (E1) heads it, Ann (E2) reports to
    him, with every sensitive field and a 36,000 contract; Lou (E4) reported to him and left
    at the end of June last year (24,000 a year). Operations: Meg (E3). Annual leave 20 days
    (5 carry over), sick leave without a balance."""
    together = side_by_side(backoffice)
    assert backoffice("users", "add", "ada", "--name", "Ada", "--role", "admin").code == 0
    start = f"{LAST_YEAR}-01-05"
    for result in together(
            ("ada", "users", "add", "hana", "--name", "Hana", "--role", "hr"),
            ("ada", "users", "add", "mo", "--name", "Mo", "--role", "manager"),
            ("ada", "users", "add", "sam", "--name", "Sam", "--role", "sales"),
            ("ada", "staff", "department", "add", "SAL", "Sales"),
            ("ada", "staff", "department", "add", "OPS", "Operations"),
            ("ada", "staff", "leave", "type", "add", "annual", "Annual leave", "--days", "20", "--balance",
             "--carry-over", "5"),
            ("ada", "staff", "leave", "type", "add", "sick", "Sick leave", "--days", "0")):
        assert result.code == 0, result.stderr

    def hire(number, first, department, *more):
        return ("hana", "staff", "hire", "--number", number, "--first-name", first, "--last-name", "Test",
                "--country", "GB", "--department", department, "--json", *more)

    mo, meg = together(hire("E1", "Mo", "SAL", "--start", start, "--login", "mo", "--job-title", "Head of sales"),
                       hire("E3", "Meg", "OPS", "--start", start))
    assert ok(mo)["login"] == "mo" and ok(meg)["department_name"] == "Operations"
    ann, lou = together(
        hire("E2", "Ann", "sal", "--start", start, "--manager", "E1", "--date-of-birth", BORN,
             "--national-id", NATIONAL_ID, "--bank-account", "GB29 NWBK 6016 1331 9268 19", "--work-email",
             "ann@example.com"),
        hire("E4", "Lou", "SAL", "--start", f"{LAST_YEAR}-02-01", "--manager", "E1", "--national-id", "QQ654321A"))
    ann = ok(ann)
    assert (ann["national_id"], ann["bank_account"], ann["date_of_birth"]) == (NATIONAL_ID, BANK_ACCOUNT, BORN)
    assert ok(lou)["manager_name"] == "Mo Test"
    contract, _, left = together(
        ("hana", "staff", "contract", "E2", "--kind", "permanent", "--hours", "40", "--salary", SALARY,
         "--currency", "EUR", "--from", start),
        ("hana", "staff", "contract", "E4", "--kind", "fixed-term", "--hours", "37.5", "--salary", "24000",
         "--currency", "EUR", "--from", f"{LAST_YEAR}-02-01", "--to", f"{LAST_YEAR}-12-31", "--json"),
        ("hana", "staff", "leaver", "E4", "--last-day", f"{LAST_YEAR}-06-30"))
    assert contract.code == 0 and "36,000.00 EUR a year" in contract.stdout, contract.stderr
    assert left.code == 0 and f"last day {LAST_YEAR}-06-30" in left.stdout, left.stderr


@pytest.fixture(scope="module")
def sqlite_staff(tmp_path_factory) -> Path:
    """The staff above, built once through the CLI into a SQLite file that each test copies
    (fifteen processes saved per test)."""
    folder = tmp_path_factory.mktemp("staff")
    url = f"sqlite:///{folder / 'staff.db'}"
    env = cli_env(url)

    def run(*args: str, user: str | None = None, extra_env: dict | None = None) -> Result:
        command = [sys.executable, "-m", "engine.cli", *args, *(["--user", user] if user else [])]
        done = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env | (extra_env or {}),
                              timeout=300)
        return Result(done.returncode, done.stdout, done.stderr)

    assert run("db", "upgrade").code == 0          # the way a new database is made
    build_staff(run)
    return folder / "staff.db"


@pytest.fixture
def staff(request, database_url, backoffice):
    """A runner of `backoffice` against a database holding the staff of `build_staff`."""
    if database_url.startswith("sqlite:///"):
        template = request.getfixturevalue("sqlite_staff")
        with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(
                database_url.removeprefix("sqlite:///"))) as copy:
            source.backup(copy)
    else:
        build_staff(backoffice)
    return backoffice


def test_hr_and_a_manager_keep_leave_within_the_rules(staff, together):
    """A manager enters and approves their report's leave; HR records sick leave with a
    medical reason; an overlap and a request beyond the balance are refused (exit 1); the
    manager sees only their team; HR's reading of the medical reason is audited."""
    first, later = monday(THIS_YEAR, 3), monday(THIS_YEAR, 9)
    annual = ok(staff("staff", "leave", "request", "E2", "--type", "annual", "--from", str(first),
                      "--to", str(first + timedelta(days=11)), "--reason", "family visit", "--json", user="mo"))
    assert (annual["days"], annual["status"], annual["employee"]) == ("10", "requested", "Ann Test")
    sick, meg = together(
        ("hana", "staff", "leave", "request", "E2", "--type", "sick", "--from", str(monday(THIS_YEAR, 6)),
         "--to", str(monday(THIS_YEAR, 6) + timedelta(days=1)), "--medical-reason", MEDICAL, "--json"),
        ("hana", "staff", "leave", "request", "E3", "--type", "annual", "--from", str(first),
         "--to", str(first), "--json"))
    sick, meg = ok(sick), ok(meg)
    assert sick["days"] == "2" and "medical_reason" not in sick     # recorded, not echoed

    overlap, too_long, approved, not_mine = together(
        ("mo", "staff", "leave", "request", "E2", "--type", "sick", "--from", str(first + timedelta(days=11)),
         "--to", str(first + timedelta(days=14))),
        ("hana", "staff", "leave", "request", "E2", "--type", "annual", "--from", str(later),
         "--to", str(later + timedelta(days=21))),
        ("mo", "staff", "leave", "approve", str(annual["id"])),
        ("mo", "staff", "leave", "approve", str(meg["id"])))
    assert overlap.code == 1 and f"overlaps leave request {annual['id']}" in overlap.stderr
    # 20 days for this year and 5 carried over from last year, less the 10 asked for
    assert too_long.code == 1 and f"16 days of annual leave asked for, 15 left in {THIS_YEAR}" in too_long.stderr
    assert approved.code == 0 and f"approved leave request #{annual['id']}" in approved.stdout, approved.stderr
    assert not_mine.code == 2 and "not a manager of employee" in not_mine.stderr

    balance, team, team_leave, other, all_leave, shown = together(
        ("mo", "staff", "leave", "balance", "E2", "--json"),
        ("mo", "staff", "list", "--json"),
        ("mo", "staff", "leave", "list", "--json"),
        ("mo", "staff", "show", "E3"),
        ("hana", "staff", "leave", "list", "--status", "requested", "--json"),
        ("hana", "staff", "show", "E2", "--json"))
    [held] = [b for b in ok(balance)["leave"] if b["leave_type"] == "annual"]
    assert (held["allowance"], held["carried_over"], held["taken"], held["remaining"]) == ("20", "5", "10", "15")
    assert [e["employee_number"] for e in ok(team)] == ["E2"]          # not himself, not Meg, not Lou (left)
    assert {r["employee_number"] for r in ok(team_leave)} == {"E2"}
    assert other.code == 2 and "E3 is not in your team" in other.stderr and "Meg" not in other.stdout
    assert {r["id"] for r in ok(all_leave)} == {sick["id"], meg["id"]}
    ann = ok(shown)
    assert ann["employee"]["national_id"] == NATIONAL_ID and ann["contracts"][0]["salary"] == "36000.0000"
    assert {r["id"]: r["medical_reason"] for r in ann["leave"]} == {annual["id"]: None, sick["id"]: MEDICAL}

    log = staff("audit", "--json", user="hana")
    reads = [e for e in ok(log) if e["action"] == "read"]
    assert [(e["actor"], e["table"], e["record_id"], e["changes"]) for e in reads] == [
        ("hana", "leave_requests", sick["id"], {"fields_read": ["medical_reason"]})]
    assert "migraine" not in log.stdout


# What a command prints is made the same way whichever database holds the records (the other
# tests here, and tests/integration, run on both): one database keeps this 40-call test short.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_nothing_sensitive_reaches_a_manager_or_a_sales_user(staff, together, tmp_path):
    """THE DOOR TEST: every staff command, as table and as --json, run by a manager (whose
    team holds Ann, with every sensitive field, a salary and medical reasons) and by a sales
    user, and the reports by a clerk who reads all staff but sees no sensitive class; none of
    the sensitive values appears in anything they get."""
    june = monday(THIS_YEAR, 6)
    # A third kind of user: a role that reads all staff records but sees no sensitive class.
    config = tmp_path / "config"
    shutil.copytree(config_dir(), config)
    with open(config / "roles.toml", "a") as roles:
        roles.write('\n[roles.clerk]\ndescription = "test"\nread = ["staff"]\nwrite = []\nsees = []\n')
    clerk = {"BACKOFFICE_CONFIG_DIR": str(config)}
    one, two, added = together(*[("hana", "staff", "leave", "request", "E2", "--type", "sick", "--from", str(day),
                                  "--to", str(day), "--medical-reason", MEDICAL, "--reason", "unwell", "--json")
                                 for day in (june, june + timedelta(days=7))],
                               ("ada", clerk, "users", "add", "cleo", "--name", "Cleo", "--role", "clerk"))
    one, two = ok(one)["id"], ok(two)["id"]
    assert added.code == 0, added.stderr
    day = str(monday(THIS_YEAR, 10))

    def commands(user: str, both: bool):
        """Every staff command; with `both`, the reporting ones as a table and as --json."""
        reports = [("staff", "departments"), ("staff", "list"), ("staff", "show", "E2"), ("staff", "leave", "types"),
                   ("staff", "leave", "list"), ("staff", "leave", "balance", "E2"),
                   ("staff", "costs", "--year", str(LAST_YEAR))]
        calls = [(user, *c) for c in reports]
        if both:   # every report as --json too, and the variants (a leaver in the team: Lou)
            calls += [(user, *c, "--json") for c in reports] + [(user, *c) for c in (
                ("staff", "list", "--leavers", "--json"), ("staff", "list", "--department", "SAL"),
                ("staff", "show", "E4"), ("staff", "leave", "list", "--employee", "E2", "--json"))]
        return calls + [(user, *c) for c in (
            ("staff", "department", "add", "HR", "People"),
            ("staff", "hire", "--number", "E9", "--first-name", "X", "--last-name", "Y", "--country", "GB",
             "--department", "SAL", "--start", day, "--date-of-birth", BORN, "--national-id", NATIONAL_ID,
             "--bank-account", BANK_ACCOUNT),
            ("staff", "contract", "E2", "--kind", "permanent", "--hours", "40", "--salary", SALARY, "--from", day),
            ("staff", "leaver", "E2", "--last-day", day),
            ("staff", "leave", "type", "add", "study", "Study leave", "--days", "3"),
            ("staff", "leave", "request", "E2", "--type", "sick", "--from", day, "--to", day,
             "--medical-reason", MEDICAL),
            ("staff", "leave", "request", "E2", "--type", "annual", "--from", day, "--to", day, "--json"),
            ("staff", "leave", "approve", str(one), "--json"),
            ("staff", "leave", "reject", str(two)),
            ("staff", "purge", "E4"),
            ("staff", "purge", "E4", "--confirm", "--json"))]

    manager, sales = commands("mo", both=True), commands("sam", both=False)
    cleo = [("cleo", clerk, "staff", *args) for args in (("costs", "--year", str(LAST_YEAR), "--json"),
                                                           ("costs", "--year", str(LAST_YEAR)),
                                                           ("show", "E2", "--json"), ("show", "E2"))]
    calls = [*manager, *sales, *cleo, ("mo", "audit", "--json")]
    results = together(*calls)
    for call, result in zip(calls, results, strict=True):
        # Time stamps aside: their microseconds may spell any digits (".219904" holds "1990").
        seen = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", "<time>", result.stdout + result.stderr)
        leaked = [value for value in SENSITIVE if value in seen]
        words = " ".join(c for c in call if isinstance(c, str))
        assert not leaked, f"{words} showed {leaked}:\n{seen}"
        assert result.code != 3, f"{words}: {result.stderr}"

    by_call = {" ".join(call): result for call, result in zip([*manager, *sales], results, strict=False)}
    # The manager really got their team's records, without the fields they may not see...
    ann = ok(by_call["mo staff show E2 --json"])
    assert ann["employee"]["name"] == "Ann Test" and ann["contracts"][0]["weekly_hours"] == "40"
    assert not {"national_id", "bank_account", "date_of_birth"} & ann["employee"].keys()
    assert "salary" not in ann["contracts"][0]
    assert ann["leave"] and all("medical_reason" not in r for r in ann["leave"])
    assert {r["reason"] for r in ann["leave"]} == {"unwell"}
    assert "yearly salary" not in by_call["mo staff show E2"].stdout
    assert "medical" not in by_call["mo staff show E2"].stdout
    assert ok(by_call[f"mo staff leave approve {one} --json"])["status"] == "approved"
    assert by_call[f"mo staff leave reject {two}"].code == 0
    assert ok(by_call["mo staff leave request E2 --type annual --from " + day + " --to " + day + " --json"])
    # ...and was refused what is HR's: writing records, medical reasons, costs, purging.
    for refused, why in (("staff department add HR People", "may not write staff"),
                         ("staff leave request E2 --type sick", "may not record medical reasons"),
                         (f"staff costs --year {LAST_YEAR}", "may not see staff costs"),
                         ("staff purge E4 --confirm", "purge-staff")):
        matching = [r for c, r in by_call.items() if c.startswith(f"mo {refused}")]
        assert matching and all(r.code == 2 and why in r.stderr for r in matching), (refused, matching)
    # The sales user gets nothing at all, every time saying why.
    for call, result in by_call.items():
        if call.startswith("sam "):
            assert result.code == 2 and "user 'sam' (roles: sales) may not" in result.stderr, call
            assert result.stdout == "", call
            if "--json" in call.split():   # the refusal itself, as --json prints it on stderr
                refusal = json.loads(result.stderr)
                assert refusal.keys() == {"error", "exit_code", "problems"}, call
                assert refusal["exit_code"] == 2 and "user 'sam' (roles: sales) may not" in refusal["error"], call
                assert [p["code"] for p in refusal["problems"]] == ["permission"], call
    # A role reading all staff without seeing `hr` gets the headcount, not the cost, and no
    # sensitive field of Ann's.
    costs, costs_table, shown, _ = results[len(manager) + len(sales):-1]
    assert all(r.code == 0 for r in (costs, costs_table, shown)), costs.stderr + shown.stderr
    assert ok(costs)["months"] and all(m.keys() == {"department", "month", "headcount"}
                                       for m in ok(costs)["months"])
    assert "total_cost" not in ok(costs) and "cost" not in costs_table.stdout
    assert not {"national_id", "bank_account", "date_of_birth"} & ok(shown)["employee"].keys()
    assert "salary" not in ok(shown)["contracts"][0]
    # No medical reason was read, so none was logged as read.
    assert not [e for e in ok(results[-1]) if e["action"] == "read"]


def test_a_leaver_is_purged_only_after_the_retention_period(staff, together):
    """Refused while the retention period runs; without --confirm it only says what would go;
    with it, the leaver's data goes, the purge is audited and last year's figures stay."""
    keep = {"BACKOFFICE_STAFF__RETENTION_YEARS": "6"}
    done = {"BACKOFFICE_STAFF__RETENTION_YEARS": "0"}
    early, before, unconfirmed = together(("hana", keep, "staff", "purge", "E4", "--confirm"),
                                          ("hana", "staff", "costs", "--year", str(LAST_YEAR), "--json"),
                                          ("hana", done, "staff", "purge", "E4"))
    assert early.code == 1 and f"must be kept until {LAST_YEAR + 6}-06-30 (6 years after they left" in early.stderr
    figures = ok(before)
    assert {"department": "Sales", "month": f"{LAST_YEAR}-03", "headcount": 3, "cost": "5000.0000"} in (
        figures["months"])
    assert unconfirmed.code == 2 and "not purged" in unconfirmed.stderr and "--confirm" in unconfirmed.stderr
    assert "national id" in unconfirmed.stderr and "the salary of 1 contract" in unconfirmed.stderr

    purged = staff("staff", "purge", "E4", "--confirm", user="hana", extra_env=done)
    assert purged.code == 0 and "purged employee E4 (now PURGED-" in purged.stdout, purged.stderr
    after, log, leavers = together(("hana", "staff", "costs", "--year", str(LAST_YEAR), "--json"),
                                   ("hana", "audit", "--table", "employees", "--json"),
                                   ("hana", "staff", "list", "--leavers", "--json"))
    assert ok(after) == figures
    [entry] = [e for e in ok(log) if e["action"] == "purge"]
    assert entry["actor"] == "hana"
    [gone] = ok(leavers)
    assert (gone["employee_number"], gone["name"]) == (f"PURGED-{entry['record_id']}", "(purged)")
    assert "Lou" not in leavers.stdout and "QQ654321A" not in leavers.stdout
