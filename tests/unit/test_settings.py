"""Settings precedence: config file < BACKOFFICE_* environment < command-line flags."""

import dataclasses
import pickle
from pathlib import Path

import pytest

from engine.config import Settings, SettingsError, load_settings


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_CONFIG_DIR", str(tmp_path))
    for name in ("BACKOFFICE_DATABASE_URL", "BACKOFFICE_USER", "BACKOFFICE_OUTPUT_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "backoffice.toml").write_text(
        'database_url = "sqlite:///from-file.db"\nuser = "filey"\noutput_dir = "file-out"\n'
        "[workbook]\nmax_rows = 10\n"
    )
    return tmp_path


def test_file_values_are_used_when_nothing_overrides_them(config_dir):
    s = load_settings()
    assert (s.database_url, s.user, s.workbook.max_rows) == ("sqlite:///from-file.db", "filey", 10)


def test_environment_overrides_the_file(config_dir, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_USER", "envy")
    monkeypatch.setenv("BACKOFFICE_WORKBOOK__MAX_ROWS", "20")
    s = load_settings()
    assert (s.user, s.workbook.max_rows, s.database_url) == ("envy", 20, "sqlite:///from-file.db")


def test_flags_override_environment_and_file(config_dir, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_USER", "envy")
    s = load_settings(user="flaggy", database_url=None)
    assert s.user == "flaggy"
    assert s.database_url == "sqlite:///from-file.db"  # a flag not given changes nothing


def test_a_secret_in_the_settings_file_is_refused(config_dir):
    (config_dir / "backoffice.toml").write_text('smtp_password = "hunter2"\n')
    with pytest.raises(ValueError, match="secrets may not be stored"):
        Settings()


def test_secrets_from_the_environment_are_masked_when_shown(config_dir, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", "postgresql+psycopg://bo:s3cret@db.example/bo")
    shown = str(load_settings().masked())
    assert "hunter2" not in shown and "s3cret" not in shown
    assert load_settings().smtp_password.get_secret_value() == "hunter2"


def test_the_environment_sets_nested_values_lists_as_json_and_ignores_what_is_no_setting(config_dir, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_MAIL__SENDER_ADDRESS", '["1 High Street", "Leeds"]')
    monkeypatch.setenv("BACKOFFICE_MAIL__SMTP__PORT", "2525")
    monkeypatch.setenv("backoffice_ledger__perpetual_inventory", "true")
    monkeypatch.setenv("BACKOFFICE_NOT_A_SETTING", "whatever")
    s = load_settings()
    assert s.mail.sender_address == ["1 High Street", "Leeds"] and s.mail.smtp.port == 2525
    assert s.ledger.perpetual_inventory is True and s.workbook.max_rows == 10   # the file's, kept
    monkeypatch.setenv("BACKOFFICE_MAIL__SENDER_ADDRESS", "1 High Street")
    with pytest.raises(ValueError, match="BACKOFFICE_MAIL__SENDER_ADDRESS: write it as JSON"):
        load_settings()


def test_modules_come_from_the_file_or_the_environment_and_unknown_ones_are_refused(config_dir, monkeypatch):
    (config_dir / "backoffice.toml").write_text('modules = ["contacts", "staff"]\n')
    monkeypatch.delenv("BACKOFFICE_MODULES", raising=False)
    assert load_settings().modules == ["contacts", "staff"]
    monkeypatch.setenv("BACKOFFICE_MODULES", "contacts,inventory")
    assert load_settings().modules == ["contacts", "inventory"]
    monkeypatch.setenv("BACKOFFICE_MODULES", "contacts,payroll")
    with pytest.raises(ValueError, match="there is no module 'payroll'"):
        load_settings()


@pytest.mark.parametrize("variable, value, expected", [
    ("BACKOFFICE_MAIL__SMTP__PORT", "abc", "setting mail.smtp.port: expected a whole number, got 'abc'"),
    ("BACKOFFICE_MAIL__SMTP__PORT", "25.5", "setting mail.smtp.port: expected a whole number"),
    ("BACKOFFICE_MAIL__PER_MINUTE", "0", "setting mail.per_minute: must be between 1 and 100000, got '0'"),
    ("BACKOFFICE_STAFF__RETENTION_YEARS", "101", "setting staff.retention_years: must be between 0 and 100"),
    ("BACKOFFICE_MAIL__TRANSPORT", "pigeon", "setting mail.transport: expected one of 'outbox', 'smtp'"),
    ("BACKOFFICE_LEDGER__PERPETUAL_INVENTORY", "maybe", "setting ledger.perpetual_inventory: expected true or false"),
    ("BACKOFFICE_MAIL__SENDER_ADDRESS", "[1, 2]", "setting mail.sender_address: expected text, got 1"),
    ("BACKOFFICE_MAIL__SMTP", '"smtp.example.com"', "setting mail.smtp: expected a table of settings"),
])
def test_a_setting_of_the_wrong_kind_is_refused_naming_it_and_where_to_correct_it(
        config_dir, monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=expected) as refused:
        load_settings()
    assert variable in str(refused.value) and "config/backoffice.toml" in str(refused.value)
    assert refused.value.exit_code == 2 and refused.value.problems[0].code == "invalid_setting"
    assert refused.value.problems[0].field == variable[len("BACKOFFICE_"):].lower().replace("__", ".")


def test_values_are_read_as_their_kind_and_a_wrong_type_in_the_file_is_refused(config_dir, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_LEDGER__PERPETUAL_INVENTORY", "Yes")
    monkeypatch.setenv("BACKOFFICE_MAIL__SMTP__TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("BACKOFFICE_MAIL__OUTBOX_DIR", "drafts")
    s = load_settings()
    assert s.ledger.perpetual_inventory is True and s.mail.smtp.timeout_seconds == 2.5
    assert s.mail.outbox_dir == Path("drafts") and s.output_dir == Path("file-out")
    (config_dir / "backoffice.toml").write_text("[workbook]\nmax_rows = \"ten\"\n")
    with pytest.raises(SettingsError, match="setting workbook.max_rows: expected a whole number, got 'ten'"):
        load_settings()
    (config_dir / "backoffice.toml").write_text("[workbook\n")
    with pytest.raises(SettingsError, match="backoffice.toml: not a valid TOML file"):
        load_settings()


def test_settings_copy_and_travel_to_worker_processes_with_their_secrets_hidden(config_dir, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_SMTP_PASSWORD", "hunter2")
    s = load_settings()
    again = pickle.loads(pickle.dumps(s))      # a mail run's worker processes get them this way
    assert again == s and again.smtp_password.get_secret_value() == "hunter2"
    changed = dataclasses.replace(s, mail=dataclasses.replace(s.mail, sender="office@example.com"))
    assert changed.mail.sender == "office@example.com" and changed.user == s.user and s.mail.sender == ""
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.masked())
