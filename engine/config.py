"""Settings: `config/backoffice.toml` < environment `BACKOFFICE_*` < command-line flags.

One object, `Settings`, holds everything the engine is configured with. The defaults file is
committed; per-machine choices come from the environment; a flag on one command wins over
both. Secrets are `SecretStr` fields that only the environment may set, so a password can
never end up committed in a TOML file or printed by `config show`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from engine.paths import PROJECT_DIR, config_dir
from engine.registry import ALL_MODULES, parse_modules

__all__ = ["PROJECT_DIR", "Settings", "config_dir", "load_settings"]


class WorkbookLimits(BaseModel):
    """Limits that make a workbook 'hostile': checked before any parsing."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_compression_ratio: int = 200
    max_members: int = 2000
    max_rows: int = 1_048_576
    max_columns: int = 200
    allow_macros: bool = False


SECRET_FIELDS = ("database_password", "smtp_password", "graph_client_secret", "ews_password")


class LedgerSettings(BaseModel):
    """The books: the one base currency every amount is in, and the account that closing
    entries move each period's result into."""

    base_currency: str = "EUR"
    retained_earnings: str = "3200"
    # Post every stock movement's value to the books (inventory, cost of goods, adjustments).
    perpetual_inventory: bool = False


class StaffSettings(BaseModel):
    """Staff records: how long a leaver's records are kept before they may be purged."""

    retention_years: int = Field(default=6, ge=0, le=100)


class SmtpSettings(BaseModel):
    """An SMTP server: its password comes from BACKOFFICE_SMTP_PASSWORD only."""

    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"   # "none" only for a server on this machine
    username: str = ""
    timeout_seconds: float = 30
    ca_file: str = ""             # PEM file of the certificate authorities to trust instead of the system's (a private CA)


class EwsSettings(BaseModel):
    """On-premises Exchange (EWS): its password comes from BACKOFFICE_EWS_PASSWORD only."""

    url: str = ""                 # https://mail.example.com/EWS/Exchange.asmx
    username: str = ""            # DOMAIN\\user or user@example.com
    mailbox: str = ""             # the mailbox sending (default: mail.sender)
    mode: Literal["drafts", "send"] = "drafts"   # save to Drafts for a person to check, or send
    auth: Literal["ntlm", "basic"] = "ntlm"


class GraphSettings(BaseModel):
    """Exchange Online through Microsoft Graph, app-only (client credentials): its client
    secret comes from BACKOFFICE_GRAPH_CLIENT_SECRET only."""

    tenant_id: str = ""
    client_id: str = ""
    authority: str = "https://login.microsoftonline.com"
    endpoint: str = "https://graph.microsoft.com/v1.0"
    sender: str = ""              # the mailbox sending (default: mail.sender)


class MailSettings(BaseModel):
    """Mail merge: who letters come from, where drafts go, how fast, and each transport."""

    transport: Literal["outbox", "smtp", "ews", "graph"] = "outbox"
    sender: str = ""              # the From address (required to send)
    sender_name: str = ""
    sender_phone: str = ""
    sender_address: list[str] = Field(default_factory=list)   # the lines printed at the top of a letter
    country: str = ""             # the sender's country (ISO code): letters abroad get the country's name
    outbox_dir: Path | None = None  # where the outbox drafts go (default: output_dir/outbox)
    per_minute: int = Field(default=60, ge=1, le=100_000)   # at most this many messages a minute, per transport
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    ews: EwsSettings = Field(default_factory=EwsSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)


class Settings(BaseSettings):
    """Effective settings of one run."""

    model_config = SettingsConfigDict(
        env_prefix="BACKOFFICE_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite:///var/backoffice.db"
    # The modules switched on (engine.app builds the application from them; see registry.ALL_MODULES).
    modules: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(ALL_MODULES))
    user: str = ""
    output_dir: Path = Path("out")
    busy_timeout_seconds: float = 30
    workbook: WorkbookLimits = Field(default_factory=WorkbookLimits)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    mail: MailSettings = Field(default_factory=MailSettings)

    # Secrets: environment only (see `_TomlWithoutSecrets`).
    database_password: SecretStr | None = None
    smtp_password: SecretStr | None = None
    graph_client_secret: SecretStr | None = None
    ews_password: SecretStr | None = None

    @field_validator("modules", mode="before")
    @classmethod
    def _known_modules(cls, value: Any) -> list[str]:
        return parse_modules(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: flags (init kwargs), then environment, then the TOML file.
        return (init_settings, env_settings, _TomlWithoutSecrets(settings_cls))

    def masked(self) -> dict[str, Any]:
        """The settings as plain data, secrets shown as '********' (or null when unset)."""
        data = self.model_dump(mode="json")
        for name in SECRET_FIELDS:
            data[name] = "********" if getattr(self, name) is not None else None
        data["database_url"] = mask_url(self.database_url)
        return data


class _TomlWithoutSecrets(TomlConfigSettingsSource):
    """Reads `config/backoffice.toml`, refusing any secret written into it."""

    def __init__(self, settings_cls: type[BaseSettings]):
        path = config_dir() / "backoffice.toml"
        super().__init__(settings_cls, toml_file=path if path.exists() else None)

    def _read_file(self, file_path: Path) -> dict[str, Any]:
        with open(file_path, "rb") as fh:
            data = tomllib.load(fh)
        leaked = sorted(set(data) & set(SECRET_FIELDS))
        if leaked:
            raise ValueError(
                f"{file_path}: secrets may not be stored in the settings file ({', '.join(leaked)}); "
                "remove them and set BACKOFFICE_<NAME> in the environment instead."
            )
        return data


def mask_url(url: str) -> str:
    """Hide a password embedded in a database URL."""
    from sqlalchemy.engine import make_url  # here: SQLAlchemy is a slow import, needed only to mask

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL we can parse: show it as given
        return url


def load_settings(**overrides: Any) -> Settings:
    """Settings with command-line overrides applied (None means 'flag not given')."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
