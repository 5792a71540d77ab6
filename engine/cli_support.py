"""What every command shares: options, opening the database as a user, output and exit codes.

Exit codes: 0 done; 1 data problems or conflicts (nothing applied); 2 unusable input or a
refused request; 3 an internal error (a bug: the message says so).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.text import Text

from engine import app as application
from engine import registry
from engine.cli_flags import flags
from engine.config import Settings, load_settings
from engine.db.engine import connection_lost, failure_text
from engine.db.json_values import plain
from engine.db.session import Database
from engine.errors import BackofficeError
from engine.security.roles import Actor
from engine.security.users import resolve_actor

if TYPE_CHECKING:
    from rich.table import Table
    from sqlalchemy.orm import Session

    from engine.remote import Server  # here: httpx is for remote commands only

# Wide enough for any table or line a command prints; nothing is ever padded to it.
UNBOUNDED = 1_000_000


class Output(Console):
    """Standard output: fitted to a terminal; unbounded when piped or redirected.

    Output read by a program or kept in a file is never cut or wrapped at some guessed
    width (rich assumes 80 columns when it cannot ask a terminal): every table is as wide
    as its widest values and every line is whole. On a terminal tables fit the window, their
    values wrapped (never cut: see `new_table`), and a table wider than the window says so
    on stderr, pointing at `--json`.
    """

    def __init__(self, **options: Any):
        super().__init__(**options)
        if "width" not in options:
            # rich fixes the width from COLUMNS when the console is made (at import); the
            # window's width is asked each time instead, as it may have changed since.
            self._width = None

    @property
    def size(self) -> ConsoleDimensions:
        fitted = super().size
        return fitted if self.is_terminal else ConsoleDimensions(UNBOUNDED, fitted.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)

    def print(self, *objects: Any, **options: Any) -> None:
        super().print(*objects, **options)
        if self.is_terminal and any(self._wider_than_window(o) for o in objects):
            err.print("note: the table is wider than this window, so long values are wrapped; `--json` prints "
                      "every value whole (and so does piping the output).", soft_wrap=True, style="dim")

    def _wider_than_window(self, renderable: Any) -> bool:
        # Only on a terminal: piped output and `--json` never pay for rich's tables.
        from rich.measure import Measurement
        from rich.table import Table

        if not isinstance(renderable, Table):
            return False
        natural = Measurement.get(self, self.options.update_width(UNBOUNDED), renderable).maximum
        return natural > self.width


# Markup off: messages quote what users typed, and "[red]" in a cell must print as typed.
out = Output(highlight=False, markup=False)
err = Console(stderr=True, highlight=False, markup=False)


def say_error(message: str, label: str = "error") -> None:
    err.print(Text.assemble((f"{label}: ", "bold red"), message), soft_wrap=True)


def say_warning(message: str) -> None:
    err.print(Text.assemble(("warning: ", "yellow"), message), soft_wrap=True)

UserOption = Annotated[
    str | None, typer.Option("--user", "-u", help="Act as this user (default: BACKOFFICE_USER).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]


__all__ = ["flags"]   # (set by the root callback in engine.cli)


def settings(**overrides: Any) -> Settings:
    """The effective settings, checked against the modules switched on."""
    config = load_settings(database_url=flags.database_url, server_url=flags.server_url, **overrides)
    if not registry.started():     # a command called without the `backoffice` root (a script)
        application.start()
    application.check_settings(config)
    return config


class NeedsDatabase(BackofficeError):
    """A command that works only on the database, run with a server set (`--server`,
    BACKOFFICE_SERVER_URL): refused, rather than opening a database the person may have
    configured too (and changing it behind the server's back)."""

    code = "needs_database"
    field = "server_url"


def command_name() -> str:
    """The command being run, as typed after `backoffice` (e.g. `stock receive`)."""
    try:        # typer carries its own copy of click (which keeps the current context)
        from typer._click.globals import get_current_context
    except ImportError:     # an older typer, on click itself
        from click import get_current_context  # here: the fallback of the import above

    names, ctx = [], get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def refuse_without_database(config: Settings) -> None:
    """Refuse a command that needs the database when the settings name a server: the one
    place every database-opening command passes, so none can forget it."""
    if not config.server_url:
        return
    name = command_name()
    route = registry.current().server_route(name)
    where = "run it where the database is reachable, without --server and BACKOFFICE_SERVER_URL"
    how = f"{where}; through the server use {route} (from a program)" if route else where
    raise NeedsDatabase(f"`backoffice {name or 'this command'}` works only with a database connection, not "
                        f"through the server, so nothing was changed: {how}")


def open_database(config: Settings | None = None, *, migrate: bool = True, check_all: bool = False,
                  create: bool = False, serving: bool = False) -> Database:
    """The database, once the field policies are checked against the tables the command has
    loaded (`check_all`: every table of the modules switched on). `create`: a SQLite file
    that does not exist is made (only `db upgrade` and `demo`); else it is refused. With a
    server set, refused (`refuse_without_database`) but for `serving` (`backoffice serve`)."""
    config = config or settings()
    if not serving:
        refuse_without_database(config)
    application.check_policies(complete=check_all)
    return Database.open(config, migrate=migrate, create=create)


def who(db: Database, config: Settings) -> Actor:
    """The acting user the settings name (--user, else BACKOFFICE_USER)."""
    with db.reading() as session:
        return resolve_actor(session, config.user)


@contextmanager
def acting_as(user: str | None, source: str = "cli") -> Iterator[tuple[Database, Actor, Any]]:
    """Open the database, resolve the acting user and give a unit of work in their name."""
    config = settings(user=user)
    db = open_database(config)
    try:
        actor = who(db, config)
        with db.unit_of_work(actor, source=source) as session:
            yield db, actor, session
    finally:
        db.dispose()


def remote_server(config: Settings) -> Server | None:
    """The server the command works through (`--server`, BACKOFFICE_SERVER_URL), or None
    when it opens the database itself. Imported only then: httpx is not a local command's."""
    if not config.server_url:
        return None
    from engine.remote import Server  # here: httpx is for remote commands only

    return Server.of(config)


@contextmanager
def through_server(user: str | None) -> Iterator[Server | None]:
    """The server, with the acting user checked against its token (the token is the
    identity: `--user` naming anyone else is refused), or None in local mode. Closed after."""
    config = settings(user=user)
    server = remote_server(config)
    if server is None:
        yield None
        return
    with server:
        server.check_user(config.user)
        yield server


def as_json_values(data: Any) -> Any:
    """`data` in its JSON form (money and dates as exact strings, time stamps ISO 8601 UTC),
    as the server sends it: the local rows rendered through it print what remote ones do."""
    import orjson  # here: only `fetch`'s local rows need the JSON form

    from engine.db.json_values import dump_json  # here: with orjson, as above

    return orjson.loads(dump_json(data))


def fetch(user: str | None, local: Callable[[Session, Actor], Any],
          remote: tuple[str, dict[str, Any] | None], at_most: int | None = None) -> Any:
    """What a read command shows, locally or through the server, in the same JSON form.

    Locally `local(session, actor)` runs in a unit of work as the acting user (a read of an
    audited field writes its audit row); through the server (`--server`,
    BACKOFFICE_SERVER_URL) `remote = (path, params)` is GET, a list followed page by page to
    its end (or `at_most` rows); params that are None are left out. Either way the answer
    comes back in its JSON form (`as_json_values`: Decimal and dates as the strings the
    server sends), so the command renders one kind of value and prints the same text and
    `--json` in both modes. The pattern for a module's read command:

        rows = fetch(user, lambda session, actor: queries.items(session, actor, search=search),
                     ("/inventory/items", {"search": search}))

    with the route answering exactly what the query returns (engine/<module>/api.py).
    """
    with through_server(user) as server:
        if server is not None:
            path, params = remote
            return server.rows(path, params, at_most=at_most)
    with acting_as(user) as (_db, actor, session):
        return as_json_values(local(session, actor))


def new_table(*columns: Any, **options: Any) -> Table:
    """A rich table for a command's human output (`--json` never builds one).

    Every column folds a value too long for its width onto the next line: an e-mail address
    or a date is never cut short with an ellipsis (rich's default) on a narrow terminal."""
    # Imported here: rich's tables cost a simple query's start-up 10 to 20 ms.
    from rich.table import Column, Table

    return Table(*(c if isinstance(c, Column) else Column(c, overflow="fold") for c in columns), **options)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=plain, indent=2, ensure_ascii=False) + "\n")


def refusal_json(exc: BackofficeError) -> dict[str, Any]:
    """A refusal as `--json` prints it: the message, the exit code and every problem."""
    return {"error": str(exc), "exit_code": exc.exit_code,
            "problems": [{"field": p.field, "code": p.code, "message": p.message, "line": p.line}
                         for p in exc.problems]}


def refusal_text(exc: BackofficeError) -> str:
    """A refusal for a person: its message, or each of several problems on a line of its own."""
    problems = exc.problems
    if len(problems) < 2:
        return str(exc)
    return f"{len(problems)} problems, nothing was saved:\n" + "\n".join(f"  - {p}" for p in problems)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into a message and exit code; anything else into exit 3.

    With `--json` a refusal is printed on stderr as JSON instead, with its structured
    problems (field, code, message, line), so a script places it without reading the
    message; stdout stays empty, as for any refusal."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except BackofficeError as exc:
            if kwargs.get("as_json"):   # stdout stays empty: a refusal prints no result
                sys.stderr.write(json.dumps(refusal_json(exc), default=plain, indent=2, ensure_ascii=False) + "\n")
            else:
                say_error(refusal_text(exc))
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:  # a bug: say so, show the trace only when asked
            lost = connection_lost(exc)
            if lost is not None:     # the server went away during the command: the setting, not a bug
                say_error(str(lost))
                raise typer.Exit(lost.exit_code) from None
            if os.environ.get("BACKOFFICE_DEBUG"):
                traceback.print_exc()
            say_error(f"{failure_text(exc)}\nNothing was saved. Run again with "
                      "BACKOFFICE_DEBUG=1 for details and report it.", label="internal error")
            raise typer.Exit(3) from None

    return wrapper


def print_check(checked: dict[str, Any], template: object, against: str, as_json: bool) -> None:
    """What a template check found (`mail check`, `report check`): --json prints it whole;
    else no problems, or each problem with its code, `against` saying what it was checked
    against. Exit 1 when there is a problem."""
    if as_json:
        print_json(checked)
    elif checked["ok"]:
        out.print(f"{template}: no problems ({against})", soft_wrap=True)
    else:
        out.print(f"{template}: {len(checked['problems'])} problem(s) ({against}):", soft_wrap=True)
        for p in checked["problems"]:
            say_warning(f"{p['code']}: {p['message']}")
    if not checked["ok"]:
        raise typer.Exit(1)
