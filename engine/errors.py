"""Errors the engine raises on purpose, each with a message an office worker can act on.

Each carries the exit code the CLI uses: 1 for data problems and conflicts (nothing was
applied), 2 for unusable input or a refused request, 3 is left for the unexpected.
"""

from __future__ import annotations

from engine.problems import Problem


class BackofficeError(Exception):
    """Base of every expected failure; `str(err)` is the message shown to the user.

    `problems` gives the failure as structured problems (field, code, message), so every
    door places it without reading the text: a refusal of one field names that field.
    """

    exit_code = 2
    code = "refused"
    field = ""

    @property
    def problems(self) -> list[Problem]:
        return [Problem(self.field, self.code, str(self))]


class NotFound(BackofficeError):
    """A record asked for by id or key does not exist."""

    code = "not_found"

    def __init__(self, message: str, field: str = ""):
        self.field = field
        super().__init__(message)


class StaleRecordError(BackofficeError):
    """An update was based on an old version of a record that someone else has changed."""

    exit_code = 1
    code = "stale"

    def __init__(self, record: str, expected: int | None, actual: int | None):
        self.record, self.expected, self.actual = record, expected, actual
        now = f" (it is at version {actual}, you had version {expected})" if actual else ""
        super().__init__(
            f"{record} was changed by someone else since you loaded it{now}; "
            "nothing was saved: reload it and make your change again."
        )


class ValidationFailed(BackofficeError):
    """One or more business rules failed; `problems` lists every one of them, each with its
    field and code (a plain message stands for a problem of the record as a whole)."""

    exit_code = 1

    def __init__(self, problems: list[Problem | str]):
        self._problems = [p if isinstance(p, Problem) else Problem("", "invalid", p) for p in problems]
        super().__init__("; ".join(str(p) for p in self._problems))

    @property
    def problems(self) -> list[Problem]:
        return self._problems

    @property
    def messages(self) -> list[str]:
        return [str(p) for p in self._problems]


class UnknownUser(BackofficeError):
    """The acting user is not in the users table."""


class PermissionDenied(BackofficeError):
    """The acting user's roles do not allow the action."""

    code = "permission"

    def __init__(self, message: str, field: str = ""):
        self.field = field
        super().__init__(message)


class SchemaMismatch(BackofficeError):
    """The database schema and the code disagree (newer, older or not ours)."""


class UnusableInput(BackofficeError):
    """A file that cannot be used at all: unreadable, hostile, or not one of our workbooks.

    Nothing is read from it and nothing is written anywhere; exit code 2.
    """

    def __init__(self, path: object, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


class DatabaseUnavailable(BackofficeError):
    """The database the settings name cannot be used: a SQLite file that does not exist, a
    server that cannot be reached, a wrong role, password or database name, or an address
    that is not a database URL. Exit code 2: the setting needs correcting, not the code."""

    code = "database_unavailable"
    field = "database_url"
