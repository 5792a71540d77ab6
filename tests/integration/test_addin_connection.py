"""How the add-in finds its settings and reaches the data (addin/connection.py): the user's
own settings file (the only file that may hold the token) < the workbook's `Backoffice
settings` sheet (a token or password there is refused) < BACKOFFICE_* environment; then the
database opened as the command line opens it, or the server with the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from addin import connection
from addin.connection import (
    SecretInWorkbook,
    addin_settings,
    addin_settings_file,
    connect,
    sheet_settings,
)
from engine.errors import UnknownUser
from engine.remote import ServerUnavailable


class SettingsSheetBook:
    """What the connection reads of an xw.Book: its sheets' names and one sheet's used range.
    (A stand-in until the headless xlwings engine lands; the rows are what xlwings hands out:
    numbers as doubles, blanks as None.)"""

    class Sheet:
        def __init__(self, name: str, rows: list[list]):
            self.name, self.used_range = name, type("UsedRange", (), {"value": rows})()

    def __init__(self, rows: list[list] | None, name: str = "Backoffice settings"):
        self._sheets = [self.Sheet("Stock", [["SKU"]])] + ([self.Sheet(name, rows)] if rows is not None else [])

    @property
    def sheets(self):
        book = self

        class Sheets(list):
            def __getitem__(self, key):
                return next(s for s in book._sheets if s.name == key) if isinstance(key, str) else list.__getitem__(
                    self, key)

        return Sheets(self._sheets)


@pytest.fixture
def user_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "mine" / "backoffice-addin.toml"
    path.parent.mkdir()
    monkeypatch.setenv("BACKOFFICE_ADDIN_SETTINGS", str(path))
    for name in ("BACKOFFICE_USER", "BACKOFFICE_SERVER_URL", "BACKOFFICE_TOKEN", "BACKOFFICE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_the_user_settings_file_lives_in_the_persons_config_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKOFFICE_ADDIN_SETTINGS", raising=False)
    monkeypatch.setattr(connection.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert addin_settings_file() == tmp_path / "Roaming" / "Backoffice" / "backoffice-addin.toml"
    monkeypatch.setattr(connection.sys, "platform", "darwin")
    assert addin_settings_file().parts[-4:] == ("Library", "Application Support", "Backoffice",
                                                "backoffice-addin.toml")
    monkeypatch.setattr(connection.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert addin_settings_file() == tmp_path / "xdg" / "backoffice" / "backoffice-addin.toml"
    monkeypatch.setenv("BACKOFFICE_ADDIN_SETTINGS", str(tmp_path / "elsewhere.toml"))
    assert addin_settings_file() == tmp_path / "elsewhere.toml"


def test_the_token_and_server_come_from_the_users_own_file(user_file):
    user_file.write_text('server_url = "https://office.example"\ntoken = "t0ken"\n[ledger]\nbase_currency = "GBP"\n')
    settings = addin_settings()
    assert settings.server_url == "https://office.example"
    assert settings.token.get_secret_value() == "t0ken"
    assert settings.ledger.base_currency == "GBP"
    assert addin_settings().masked()["token"] == "********"


def test_the_workbook_sheet_wins_over_the_file_and_the_environment_over_both(user_file, monkeypatch):
    user_file.write_text('user = "ada"\nserver_url = "https://office.example"\n[server]\npage_size = 50\n')
    book = SettingsSheetBook([["Setting", "Value"], ["user", "sam"], [None, None], ["server.page_size", 200.0],
                              ["ledger.base_currency", "CHF"]])
    settings = addin_settings(book)
    assert (settings.user, settings.server.page_size, settings.ledger.base_currency) == ("sam", 200, "CHF")
    assert settings.server_url == "https://office.example"          # from the file, the sheet is silent
    monkeypatch.setenv("BACKOFFICE_USER", "wes")
    monkeypatch.setenv("BACKOFFICE_SERVER__PAGE_SIZE", "7")
    settings = addin_settings(book)
    assert (settings.user, settings.server.page_size) == ("wes", 7)
    assert addin_settings(SettingsSheetBook(None)).user == "wes"    # a workbook without the sheet


@pytest.mark.parametrize("row", [["token", "abc123"], ["TOKEN", "abc"], ["database_password", "pw"],
                                 ["mail.smtp_password", "pw"], ["token", None],
                                 ["database_url", "postgresql+psycopg://ada:secret@db.example/books"]])
def test_a_secret_in_the_workbook_is_refused_pointing_at_the_users_file(user_file, row):
    with pytest.raises(SecretInWorkbook) as refused:
        addin_settings(SettingsSheetBook([["user", "ada"], row]))
    assert str(user_file) in str(refused.value)
    assert "workbook" in str(refused.value) and refused.value.exit_code == 2


def test_a_plain_database_address_in_the_workbook_is_accepted():
    assert sheet_settings([["database_url", "postgresql+psycopg://db.example/books"]]) == {
        "database_url": "postgresql+psycopg://db.example/books"}


def test_an_unreadable_settings_file_is_refused_naming_it(user_file):
    user_file.write_text("server_url = \n")
    with pytest.raises(connection.SettingsError, match="not a valid TOML file"):
        addin_settings()


def test_connect_opens_the_database_the_workbook_names_as_the_files_user(people_db, user_file):
    url = people_db.engine.url.render_as_string(hide_password=False)
    user_file.write_text('user = "wes"\n')
    with connect(SettingsSheetBook([["database_url", url]])) as made:
        assert not made.remote and made.user == "wes" and made.roles == ["warehouse"]
        assert made.describe()["mode"] == "local" and made.describe()["settings_file"] == str(user_file)
    user_file.write_text("")
    with pytest.raises(UnknownUser, match="set `user"):
        connect(SettingsSheetBook([["database_url", url]]))


def test_connect_through_a_server_needs_the_token(user_file, server, people_db):
    from tests.integration.api_client import token_for

    user_file.write_text(f'server_url = "{server}"\n')
    with pytest.raises(ServerUnavailable, match="needs your API token"):
        connect()
    user_file.write_text(f'server_url = "{server}"\ntoken = "{token_for(people_db, "sam")}"\n')
    with connect() as made:
        assert made.remote and made.user == "sam" and made.describe()["server"] == server
    user_file.write_text(f'server_url = "{server}"\ntoken = "{token_for(people_db, "sam")}"\nuser = "ada"\n')
    with pytest.raises(connection.BackofficeError, match="your token is your identity"):
        connect()
