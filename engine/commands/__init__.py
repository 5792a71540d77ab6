"""The command groups of the `backoffice` root that belong to no business module: settings,
the database, users, the audit log, the demo and the workbook round trip. Doors, like every
`commands.py`: parse, call a service or query with the actor, render. Each is imported only
when it is run (see `engine.cli`)."""
