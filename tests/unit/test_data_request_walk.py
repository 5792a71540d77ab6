"""What a data-subject request walks: the tables of the modules switched on, found from the schema."""

from engine import app
from engine.contacts import references


def test_a_request_walks_only_the_tables_of_the_modules_switched_on():
    with app.started(["contacts", "ledger"]):
        tables = {t.name for t in references.switched_on_tables()}
        referring = {f"{c.table.name}.{c.name}" for c in references.referring_columns(references.switched_on_tables())}
    assert {"contacts", "contact_emails", "invoices", "journal_lines"} <= tables
    assert not tables & {"employees", "interactions", "tasks", "mail_messages", "stock_movements"}
    assert referring == {"contacts.organisation_id", "addresses.contact_id", "contact_emails.contact_id",
                         "contact_phones.contact_id", "invoices.contact_id", "payments.contact_id",
                         "journal_lines.contact_id"}


def test_the_parts_of_a_record_are_its_rows_that_cannot_exist_without_it():
    tables = references.switched_on_tables()
    by_name = {t.name: t for t in tables}
    parts = {f"{c.table.name}.{c.name}" for c in references.parts_of(tables, by_name["employees"])}
    assert {"contracts.employee_id", "leave_requests.employee_id", "asset_assignments.employee_id"} <= parts
    # A link is not a part: the manager of others, the approver of their leave, a task about them.
    assert not parts & {"employees.manager_id", "leave_requests.approver_id", "tasks.employee_id"}
