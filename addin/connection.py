"""How the add-in reaches the data: locally (the engine and a database on this PC, for a
single office) or remotely (the server's address and the person's token).

Settings come in layers, each winning over the one before:

1. the engine's own defaults (`config/backoffice.toml`);
2. the add-in's user settings file, `backoffice-addin.toml` in the person's own config folder
   (`addin_settings_file()`; BACKOFFICE_ADDIN_SETTINGS names another). It is the only place
   besides the environment that may hold the token: the person's file, never a workbook;
3. the `Backoffice settings` sheet of the calling workbook, if it has one: rows of setting and
   value (`server_url`, `database_url`, `user`, `ledger.base_currency`, ...). A token or any
   other secret there is refused: a workbook is mailed around and copied to shares;
4. the BACKOFFICE_* environment, as for every command.

The connection is made the way the command line makes its own (engine.cli_support: the
database opened and the acting user resolved; or engine.remote.Server with the token, whose
`/me` is the identity), so the add-in acts as the same person with the same refusals.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import ENV_PREFIX, SECRET_FIELDS, Settings, SettingsError, mask_url
from engine.errors import BackofficeError, UnknownUser

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.db.session import Database
    from engine.remote import Server
    from engine.security.roles import Actor

SETTINGS_FILE_NAME = "backoffice-addin.toml"
SETTINGS_FILE_VARIABLE = "BACKOFFICE_ADDIN_SETTINGS"
SETTINGS_SHEET = "Backoffice settings"


class SecretInWorkbook(SettingsError):
    """A token, password or other secret typed into a workbook's settings sheet: refused,
    because a workbook travels (mail, shares, copies) and the secret would go with it."""

    code = "secret_in_workbook"


def addin_settings_file() -> Path:
    """The person's add-in settings file: BACKOFFICE_ADDIN_SETTINGS if set; else
    `backoffice-addin.toml` in their config folder (Windows: %APPDATA%\\Backoffice; macOS:
    ~/Library/Application Support/Backoffice; elsewhere: $XDG_CONFIG_HOME/backoffice or
    ~/.config/backoffice)."""
    named = os.environ.get(SETTINGS_FILE_VARIABLE)
    if named:
        return Path(named).expanduser()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / "Backoffice"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "Backoffice"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "backoffice"
    return base / SETTINGS_FILE_NAME


def user_file_settings(path: Path | None = None) -> dict[str, Any]:
    """The user settings file as a table of settings ({} when there is none)."""
    path = path or addin_settings_file()
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not a valid TOML file ({exc}); correct it and try again.",
                            SETTINGS_FILE_VARIABLE) from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror}).", SETTINGS_FILE_VARIABLE) from None


def sheet_settings(rows: list[list[Any]] | None) -> dict[str, Any]:
    """The settings of a `Backoffice settings` sheet: one setting a row, its name in the first
    column (dotted for a section: `ledger.base_currency`) and its value in the second; blank
    rows and a heading row (`setting`) are skipped. A secret is refused (SecretInWorkbook)."""
    found: dict[str, Any] = {}
    for row in rows or ():
        cells = list(row) if isinstance(row, list | tuple) else [row]
        key = str(cells[0] or "").strip() if cells else ""
        if not key or key.lower() in ("setting", "key", "name"):
            continue
        value = cells[1] if len(cells) > 1 else None
        _refuse_secret(key, value)
        if value is None or value == "":
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)        # Excel keeps every number as a double: 100 arrives as 100.0
        target = found
        *sections, name = key.lower().split(".")
        for section in sections:
            target = target.setdefault(section, {})
        target[name] = value
    return found


def _refuse_secret(key: str, value: Any) -> None:
    name = key.lower().replace(".", "_")
    if name in SECRET_FIELDS or any(word in name for word in ("token", "password", "secret")):
        raise SecretInWorkbook(
            f"the workbook's {SETTINGS_SHEET!r} sheet holds {key!r}: a token or password may not be kept in a "
            f"workbook (it travels with the file); delete that row and put it in your own settings file "
            f"{addin_settings_file()} instead", key)
    if name == "database_url" and isinstance(value, str) and mask_url(value) != value:
        raise SecretInWorkbook(
            f"the workbook's {SETTINGS_SHEET!r} sheet holds a database address with a password in it; write it "
            f"without the password there and put `database_password` in your own settings file "
            f"{addin_settings_file()}", key)


def workbook_rows(book: Any) -> list[list[Any]] | None:
    """The rows of `book`'s settings sheet (an xw.Book), or None when it has none."""
    if book is None:
        return None
    names = [sheet.name for sheet in book.sheets]
    if SETTINGS_SHEET not in names:
        return None
    value = book.sheets[SETTINGS_SHEET].used_range.value
    if value is None:
        return []
    if not isinstance(value, list):
        return [[value]]
    return value if value and isinstance(value[0], list) else [value]


def environment_paths(environ: dict[str, str] | None = None) -> set[tuple[str, ...]]:
    """The settings (as paths: ("mail", "smtp", "host")) the BACKOFFICE_* environment sets."""
    return {tuple(name[len(ENV_PREFIX):].lower().split("__"))
            for name in (environ if environ is not None else os.environ) if name.upper().startswith(ENV_PREFIX)}


def _without(layer: dict[str, Any], paths: set[tuple[str, ...]], where: tuple[str, ...] = ()) -> dict[str, Any]:
    """`layer` without the settings the environment sets (it wins over the file and sheet)."""
    kept: dict[str, Any] = {}
    for key, value in layer.items():
        path = (*where, key)
        if path in paths:
            continue
        kept[key] = _without(value, paths, path) if isinstance(value, dict) else value
    return kept


def _merged(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    merged = dict(low)
    for key, value in high.items():
        merged[key] = _merged(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


def addin_settings(book: Any = None, settings_file: Path | None = None) -> Settings:
    """The effective settings: engine defaults < user settings file < the workbook's settings
    sheet < BACKOFFICE_* environment."""
    layers = _merged(user_file_settings(settings_file), sheet_settings(workbook_rows(book)))
    return Settings(**_without(layers, environment_paths()))


class Connection:
    """The add-in's way to the data, as one person: the database (local) or the server
    (remote). A context manager: closing disposes what it opened."""

    def __init__(self, settings: Settings, *, database: Database | None = None, actor: Actor | None = None,
                 server: Server | None = None, user: str = "", roles: list[str] | None = None):
        self.settings = settings
        self.database, self.actor, self.server = database, actor, server
        self.remote = server is not None
        self.user = user
        self.roles = roles or []

    @contextmanager
    def unit_of_work(self, source: str = "addin") -> Iterator[Session]:
        """A unit of work in the acting user's name (local only: remotely the server has its own)."""
        if self.database is None or self.actor is None:
            raise BackofficeError("this add-in works through the server: there is no database here to open")
        with self.database.unit_of_work(self.actor, source=source) as session:
            yield session

    def describe(self) -> dict[str, Any]:
        """What Settings / who am I shows: how the data is reached, and as whom."""
        where = {"server": self.settings.server_url} if self.remote else \
            {"database": mask_url(self.settings.database_url)}
        return {"mode": "remote" if self.remote else "local", **where, "user": self.user, "roles": self.roles,
                "settings_file": str(addin_settings_file())}

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.database is not None:
            self.database.dispose()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()


@contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """Environment variables set (None: unset) for the block, then put back as they were: how
    a caller outside Excel (`backoffice addin run`, the tests) hands the add-in settings that
    win over its file and the workbook's sheet, as BACKOFFICE_* variables do in Excel."""
    before = {name: os.environ.get(name) for name in values}
    try:
        _set_environment(values)
        yield
    finally:
        _set_environment(before)


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def connect(book: Any = None, settings: Settings | None = None) -> Connection:
    """A connection for the person using the add-in on `book` (an xw.Book, or None: the user
    settings file and the environment only). With `server_url` set it goes through the
    server with the token (refused without one), else it opens the database as the command
    line does."""
    settings = settings or addin_settings(book)
    if settings.server_url:
        return _remote(settings)
    return _local(settings)


def _local(settings: Settings) -> Connection:
    from engine import cli_support  # here: opening a database loads the engine (and SQLAlchemy)

    if not cli_support.registry.started():      # the add-in's Python starts without the `backoffice` root
        cli_support.application.start()
    cli_support.application.check_settings(settings)
    database = cli_support.open_database(settings)
    try:
        actor = cli_support.who(database, settings)
    except UnknownUser as unknown:
        database.dispose()
        raise UnknownUser(f"{unknown} In the add-in, set `user = \"LOGIN\"` in your settings file "
                          f"{addin_settings_file()} (or BACKOFFICE_USER).") from None
    except BaseException:
        database.dispose()
        raise
    return Connection(settings, database=database, actor=actor, user=actor.login, roles=actor.role_names)


def _remote(settings: Settings) -> Connection:
    from engine.remote import Server  # here: httpx is for remote mode only

    server = Server.of(settings)
    try:
        me = server.me()
        server.check_user(settings.user)
    except BaseException:
        server.close()
        raise
    return Connection(settings, server=server, user=me["login"], roles=list(me.get("roles") or []))
