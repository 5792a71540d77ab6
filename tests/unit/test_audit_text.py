"""How `backoffice audit` prints a row's changes for people."""

from engine.db.audit_query import describe_changes


def test_the_audit_table_shows_changes_and_reads_without_values():
    assert describe_changes({"city": ["Leeds", "York"], "salary": ["(hidden)", "(hidden)"]}) == (
        "city: 'Leeds' -> 'York'; salary: '(hidden)' -> '(hidden)'")
    assert describe_changes({"fields_read": ["medical_reason"]}) == "read: medical_reason"
