"""Every module's read commands through a real server (uvicorn on loopback) print exactly what
they print on the database, text and `--json`; a command that only works on the database is
refused through the server (exit 2, naming the route to use) and opens no database, even one
it could reach; `report staff` through the server writes the same file at the same place,
private, and says the same line (SQLite and PostgreSQL).

One test per module runs all of its read commands against one seeded database and one
server: a server and a database per command would take minutes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import docx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.integration.api_client import token_for
from tests.integration.remote_world import NO_DATABASE, run_local, seed

READS = {
    "stock": [["stock", "on-hand"], ["stock", "on-hand", "--item", "BOLT-8"], ["stock", "on-hand", "--location", "MAIN"],
              ["stock", "valuation", "--as-of", "2026-03-31"], ["stock", "valuation", "--as-of", "2026-01-01"],
              ["stock", "reorder"]],
    "ledger": [["ledger", "chart"], ["ledger", "periods", "--list"],
               ["ledger", "trial-balance", "--as-of", "2026-03-31"],
               ["ledger", "account", "1100", "--from", "2026-01-01", "--to", "2026-03-31"],
               ["ledger", "pnl", "--from", "2026-02-01", "--to", "2026-02-28"],
               ["ledger", "balance-sheet", "--as-of", "2026-03-31"],
               ["ledger", "aging", "--as-of", "2026-05-31"], ["ledger", "aging", "--as-of", "2026-05-31", "--payables"],
               ["ledger", "statement", "1", "--from", "2026-01-01", "--to", "2026-05-31"]],
    "staff": [["staff", "departments"], ["staff", "list"], ["staff", "list", "--department", "SAL"],
              ["staff", "list", "--leavers"], ["staff", "show", "E2", "--year", "2026"],
              ["staff", "leave", "types"], ["staff", "leave", "list"],
              ["staff", "leave", "list", "--employee", "E2", "--status", "approved", "--year", "2026"],
              ["staff", "leave", "balance", "E2", "--year", "2026"], ["staff", "costs", "--year", "2026"]],
    "mail": [["mail", "runs"]],
    "quality": [["quality", "plan", "list"], ["quality", "lots"], ["quality", "rates"],
                ["quality", "rates", "--by", "item", "--since", "2026-01-01"], ["quality", "capability", "GLUE"],
                ["quality", "ncr", "list"], ["quality", "ncr", "list", "--open"], ["quality", "ncr", "show", "1"],
                ["quality", "ncr", "overdue", "--as-of", "2026-06-30"]],
    "crm": [["crm", "history", "1"], ["crm", "follow-ups", "--due", "2026-03-31"], ["crm", "opportunity", "list"],
            ["crm", "opportunity", "show", "2"], ["crm", "pipeline", "--by", "owner"],
            ["crm", "won-lost", "--from", "2026-01-01", "--to", "2026-03-31"]],
}


@pytest.fixture
def world(people_db):
    seed(people_db)
    return people_db


def run_remote(server_url: str, token: str, database_url: str = NO_DATABASE, **env: str):
    from engine.cli import app

    environment = {"BACKOFFICE_SERVER_URL": server_url, "BACKOFFICE_TOKEN": token,
                   "BACKOFFICE_DATABASE_URL": database_url, "BACKOFFICE_USER": None, "COLUMNS": "200",
                   "NO_COLOR": "1", **env}
    return lambda *args: CliRunner().invoke(app, list(args), env=environment)


@pytest.mark.parametrize("module", sorted(READS))
def test_every_read_command_prints_through_the_server_what_it_prints_on_the_database(server, world, module):
    far, near = run_remote(server, token_for(world, "ada")), run_local(world)
    for command in READS[module]:
        for args in (command, [*command, "--json"]):
            remote, local = far(*args), near(*args)
            assert remote.exit_code == local.exit_code == 0, (args, remote.output, local.output)
            assert remote.stdout == local.stdout, args
            assert remote.stdout.strip(), args


def test_what_a_read_shows_comes_from_the_records(server, world):
    """The comparison above is not of two empty tables: the seeded values are shown."""
    far = run_remote(server, token_for(world, "ada"))
    assert '"quantity": "2.5"' in far("stock", "on-hand", "--json").stdout
    assert "1,000.50" in far("ledger", "trial-balance", "--as-of", "2026-03-31").stdout
    assert "37.5" in far("staff", "show", "E2", "--year", "2026").stdout
    assert "2.5" in far("staff", "leave", "balance", "E2", "--year", "2026").stdout
    assert "overdue_reminder" in far("mail", "runs").stdout
    assert "Skinned tins" in far("quality", "ncr", "show", "1").stdout
    assert '"cp": "' in far("quality", "capability", "GLUE", "--json").stdout
    assert "G2" in far("quality", "lots").stdout
    assert "asked for a quote" in far("crm", "history", "1").stdout
    assert '"weighted": "600.25"' in far("crm", "opportunity", "list", "--json").stdout


def test_a_refused_read_is_refused_alike(server, world):
    far, near = run_remote(server, token_for(world, "sam")), run_local(world, "sam")
    for args in (["staff", "costs", "--year", "2026"], ["staff", "show", "E9"],
                 ["ledger", "statement", "999", "--from", "2026-01-01", "--to", "2026-01-31"],
                 ["stock", "on-hand", "--item", "NOPE"]):
        remote, local = far(*args), near(*args)
        assert remote.exit_code == local.exit_code == 2, (args, remote.output, local.output)
        assert remote.stderr == local.stderr, args


WRITES = [
    (["stock", "receive", "BOLT-8", "5", "--to", "MAIN", "--unit-cost", "1"], "stock receive",
     "POST /inventory/receipts"),
    (["ledger", "post", "--date", "2026-02-01", "--line", "6200:10:", "--line", "1100::10"], "ledger post",
     "POST /ledger/entries"),
    (["ledger", "chart", "--install"], "ledger chart", "POST /ledger/accounts/install"),
    (["staff", "leave", "approve", "2"], "staff leave approve", "POST /staff/leave/{id}/approve"),
    (["contacts", "add", "--kind", "organisation", "--name", "Nova SA", "--country", "FR"], "contacts add",
     "POST /contacts"),
    (["quality", "ncr", "add", "--title", "Burrs", "--item", "BOLT-8"], "quality ncr add", "POST /quality/ncrs"),
    (["quality", "disposition", "L1", "--release", "--reason", "fine"], "quality disposition",
     "POST /quality/lots/{lot_id}/disposition"),
    (["crm", "opportunity", "win", "1"], "crm opportunity win", "POST /crm/opportunities/{id}/win"),
    (["db", "status"], "db status", None),
]


def test_a_write_command_through_the_server_is_refused_and_opens_no_database(server, world):
    """Even with a database it could reach (BACKOFFICE_DATABASE_URL set too), a command that
    works only on the database is refused, naming the route, and changes nothing."""
    url = world.engine.url.render_as_string(hide_password=False)
    far = run_remote(server, token_for(world, "ada"), database_url=url)
    with world.reading() as session:
        before = session.scalar(sa.text("SELECT count(*) FROM audit_log"))
    for args, name, route in WRITES:
        done = far(*args)
        assert done.exit_code == 2, (args, done.output)
        assert f"`backoffice {name}` works only with a database connection" in done.stderr, done.stderr
        assert (f"through the server use {route}" if route else "without --server") in done.stderr
        assert not done.stdout
    with world.reading() as session:
        assert session.scalar(sa.text("SELECT count(*) FROM audit_log")) == before
        assert session.scalar(sa.text("SELECT count(*) FROM contacts WHERE name = 'Nova SA'")) == 0
        assert session.scalar(sa.text("SELECT status FROM leave_requests WHERE id = 2")) == "requested"


def test_a_write_refused_with_json_prints_its_problem_as_json(server, world):
    done = run_remote(server, token_for(world, "ada"))("stock", "receive", "BOLT-8", "5", "--to", "MAIN",
                                                       "--unit-cost", "1", "--json")
    assert done.exit_code == 2 and not done.stdout
    assert json.loads(done.stderr)["problems"][0]["code"] == "needs_database"


# -- the staff report -------------------------------------------------------------------------------

def texts(path: Path) -> list[str]:
    document = docx.Document(str(path))
    return [p.text for p in document.paragraphs] + [c.text for t in document.tables for row in t.rows
                                                    for c in row.cells]


def test_the_staff_report_through_the_server_is_written_where_and_as_the_local_one_is(server, world, tmp_path):
    far = run_remote(server, token_for(world, "ada"), BACKOFFICE_OUTPUT_DIR=str(tmp_path / "far"))
    near = run_local(world, BACKOFFICE_OUTPUT_DIR=str(tmp_path / "near"))
    for args in (["report", "staff", "--year", "2026"], ["report", "staff", "--year", "2026", "--json"]):
        remote, local = far(*args), near(*args)
        assert remote.exit_code == local.exit_code == 0, (remote.output, local.output)
        assert remote.stdout.replace(str(tmp_path / "far"), "OUT") == local.stdout.replace(str(tmp_path / "near"), "OUT")
    written, model = tmp_path / "far" / "staff-2026-ada.docx", tmp_path / "near" / "staff-2026-ada.docx"
    assert f"wrote {written}" in far("report", "staff", "--year", "2026").stdout
    assert "medical reasons" in remote.stdout or "medical reasons" in far("report", "staff", "--year", "2026").stdout
    assert texts(written) == texts(model)
    if os.name == "posix":
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert sorted(p.name for p in written.parent.iterdir()) == [written.name]    # no temporary file left

    chosen = tmp_path / "mine" / "report.docx"
    done = far("report", "staff", "--year", "2026", "--out", str(chosen))
    assert done.exit_code == 0 and chosen.is_file() and f"wrote {chosen}" in done.stdout


def test_a_report_template_through_the_server_is_refused(server, world, tmp_path):
    far = run_remote(server, token_for(world, "ada"), BACKOFFICE_OUTPUT_DIR=str(tmp_path / "out"))
    template = tmp_path / "mine.docx"
    template.write_bytes(b"PK")
    done = far("report", "staff", "--year", "2026", "--template", str(template))
    assert done.exit_code == 2 and "--template works only with a database connection" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_pdf_of_a_report_through_the_server_is_made_here(server, world, tmp_path, database_url):
    from engine.office.docx import soffice

    if soffice() is None or not database_url.startswith("sqlite"):   # (once is enough: LibreOffice is slow)
        pytest.skip("needs LibreOffice; run once, on SQLite")
    done = run_remote(server, token_for(world, "ada"), BACKOFFICE_OUTPUT_DIR=str(tmp_path / "out"))(
        "report", "staff", "--year", "2026", "--pdf", "--json")
    assert done.exit_code == 0, done.output
    pdf = tmp_path / "out" / "staff-2026-ada.pdf"
    assert json.loads(done.stdout)["pdf"] == str(pdf) and pdf.read_bytes().startswith(b"%PDF")
    if os.name == "posix":
        assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
