"""The `settings_for` fixture (mail settings writing to an outbox in tmp_path) of test_mail_runs.py and test_mail_merge_fields.py."""

from __future__ import annotations

import pytest

from engine.config import Settings


@pytest.fixture
def settings_for(tmp_path, database_url):
    def make(**mail) -> Settings:
        return Settings(database_url=database_url, output_dir=tmp_path / "out",
                        mail={"sender": "accounts@widget.example", "sender_name": "Widget Works",
                              "outbox_dir": str(tmp_path / "outbox"), **mail})
    return make
