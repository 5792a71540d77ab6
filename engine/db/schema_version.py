"""The start-up schema check's fast path: is the database at the revision this code ships?

Every command checks the schema before it reads or writes. Alembic answers that, but
importing it takes longer than most commands run; so the shipped head revision is read from
the migration files' `revision = ...` lines, and the database's from its `alembic_version`
table. Only when they differ (an empty database, an upgrade due, a newer database) does
`engine.db.migrate` (Alembic) take over, with its messages.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)\s*$", re.M)


@cache
def shipped_head() -> str | None:
    """The head revision of the shipped migrations, or None if the files do not say it plainly
    (then Alembic decides)."""
    revisions, parents = set(), set()
    for path in VERSIONS.glob("*.py"):
        found = dict((m.group(1), m.group(2)) for m in _REVISION.finditer(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    """True when the database is at the shipped head revision (False: ask Alembic)."""
    head = shipped_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:        # no such table: an empty database, or not ours
        return False
    return found == [head]
