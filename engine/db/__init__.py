"""The central database: tables' common columns, sessions, migrations and the audit log."""
