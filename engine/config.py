"""Settings: `config/backoffice.toml` < environment `BACKOFFICE_*` < command-line flags.

One object, `Settings`, holds everything the engine is configured with. The defaults file is
committed; per-machine choices come from the environment; a flag on one command wins over
both. Secrets are `SecretStr` fields that only the environment may set, so a password can
never end up committed in a TOML file or printed by `config show`.
"""

from __future__ import annotations

import json
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

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


class Settings(BaseModel):
    """Effective settings of one run: keyword arguments (flags) < BACKOFFICE_* environment <
    config/backoffice.toml, merged key by key (`BACKOFFICE_WORKBOOK__MAX_ROWS` changes one
    limit of the file's [workbook] table). Read by `_from_toml` and `_from_environment` below,
    not by a settings library: this is on every command's start-up path."""

    model_config = ConfigDict(extra="ignore")

    database_url: str = "sqlite:///var/backoffice.db"
    # The modules switched on (engine.app builds the application from them; see registry.ALL_MODULES).
    modules: list[str] = Field(default_factory=lambda: list(ALL_MODULES))
    user: str = ""
    output_dir: Path = Path("out")
    busy_timeout_seconds: float = 30
    workbook: WorkbookLimits = Field(default_factory=WorkbookLimits)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    staff: StaffSettings = Field(default_factory=StaffSettings)
    mail: MailSettings = Field(default_factory=MailSettings)

    # Secrets: environment only (`_from_toml` refuses them).
    database_password: SecretStr | None = None
    smtp_password: SecretStr | None = None
    graph_client_secret: SecretStr | None = None
    ews_password: SecretStr | None = None

    def __init__(self, **values: Any):
        super().__init__(**_merged(_from_toml(), _from_environment(type(self)), values))

    @field_validator("modules", mode="before")
    @classmethod
    def _known_modules(cls, value: Any) -> list[str]:
        return parse_modules(value)

    def masked(self) -> dict[str, Any]:
        """The settings as plain data, secrets shown as '********' (or null when unset)."""
        data = self.model_dump(mode="json")
        for name in SECRET_FIELDS:
            data[name] = "********" if getattr(self, name) is not None else None
        data["database_url"] = mask_url(self.database_url)
        return data


ENV_PREFIX = "BACKOFFICE_"
_AS_TYPED = {("modules",)}   # taken from the environment as typed: "contacts,inventory" works too


def _from_toml() -> dict[str, Any]:
    """`config/backoffice.toml` (BACKOFFICE_CONFIG_DIR), refusing any secret written into it."""
    path = config_dir() / "backoffice.toml"
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    leaked = sorted(set(data) & set(SECRET_FIELDS))
    if leaked:
        raise ValueError(
            f"{path}: secrets may not be stored in the settings file ({', '.join(leaked)}); "
            "remove them and set BACKOFFICE_<NAME> in the environment instead."
        )
    return data


def _from_environment(model: type[BaseModel]) -> dict[str, Any]:
    """The BACKOFFICE_* variables naming a setting (any case; `__` between nested names): a
    list, table or whole section is written as JSON, anything else as typed."""
    found: dict[str, Any] = {}
    for name, raw in os.environ.items():
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = tuple(name[len(ENV_PREFIX):].lower().split("__"))
        annotation = _annotation(model, path)
        if annotation is None:
            continue        # not a setting (BACKOFFICE_CONFIG_DIR, BACKOFFICE_DEBUG, ...)
        value: Any = raw
        if path not in _AS_TYPED and _is_structured(annotation):
            try:
                value = json.loads(raw)
            except ValueError as exc:
                raise ValueError(f"{name}: write it as JSON, e.g. [\"a\", \"b\"] ({exc})") from None
        target = found
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return found


def _annotation(model: type[BaseModel], path: tuple[str, ...]) -> Any:
    """The type of the setting at `path`, or None if there is none."""
    field = model.model_fields.get(path[0])
    if field is None:
        return None
    if len(path) == 1:
        return field.annotation
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
        return _annotation(field.annotation, path[1:])
    return None


def _is_structured(annotation: Any) -> bool:
    kinds = [a for a in typing.get_args(annotation) if a is not type(None)] if _is_union(annotation) else [annotation]
    return any(typing.get_origin(k) in (list, dict, tuple, set) or k in (list, dict, tuple, set)
               or (isinstance(k, type) and issubclass(k, BaseModel)) for k in kinds)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win, table by table."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = _merged(merged[key], value)
            else:
                merged[key] = value
    return merged


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
