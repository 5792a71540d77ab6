"""Settings: `config/backoffice.toml` < environment `BACKOFFICE_*` < command-line flags.

One object, `Settings`, holds everything the engine is configured with. The defaults file is
committed; per-machine choices come from the environment; a flag on one command wins over
both. Secrets are `Secret` fields that only the environment may set, so a password can
never end up committed in a TOML file or printed by `config show`.

The settings are plain dataclasses checked by `_build` below against their type hints (and the
`at_least`/`at_most`/`parse` of a field's metadata), not by a validation library: this module
is on every command's start-up path, and pydantic alone took longer to import and build these
classes than the rest of a simple query's start-up (see benchmarks/bench_startup.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.errors import BackofficeError
from engine.paths import PROJECT_DIR, config_dir
from engine.registry import ALL_MODULES, parse_modules

__all__ = ["PROJECT_DIR", "Secret", "Settings", "SettingsError", "config_dir", "load_settings"]


class SettingsError(BackofficeError, ValueError):
    """A setting that cannot be used: names the setting (as written in the file, or the
    environment variable) and what to write instead. Exit code 2, like any refused input."""

    code = "invalid_setting"

    def __init__(self, message: str, setting: str = ""):
        super().__init__(message)
        self.field = setting


def _refused(setting: str, what: str) -> SettingsError:
    """A setting's value refused, saying where it may be corrected."""
    variable = ENV_PREFIX + setting.replace(".", "__").upper()
    return SettingsError(f"setting {setting}: {what}; correct it in config/backoffice.toml or {variable}.",
                         setting)


class Secret:
    """A password or client secret: shown as '********' wherever it is printed or logged."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _limits(low: float | None = None, high: float | None = None, **more: Any) -> dict[str, Any]:
    """A field's metadata: the range `_build` checks, and any `parse` function."""
    return {"at_least": low, "at_most": high, **more}


@dataclass
class WorkbookLimits:
    """Limits that make a workbook 'hostile': checked before any parsing."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_uncompressed_bytes: int = 1024 * 1024 * 1024
    max_compression_ratio: int = 200
    max_members: int = 2000
    max_rows: int = 1_048_576
    max_columns: int = 200
    allow_macros: bool = False
    # What a workbook may bring once read: the text of all the cells of the sheets read (a
    # short shared string used by a million cells counts a million times), and its base
    # snapshot unpacked. A few kilobytes can claim gigabytes of either.
    max_text_bytes: int = 1024 * 1024 * 1024   # a full 1,048,576-row sheet of ten text columns brings ~270 MB
    max_snapshot_bytes: int = 256 * 1024 * 1024
    # A sheet over this many rows is read, checked and saved this many rows at a time, never
    # held whole in memory (a 1,048,000-row sheet then syncs in bounded memory).
    chunk_rows: int = 50_000


SECRET_FIELDS = ("database_password", "smtp_password", "graph_client_secret", "ews_password", "token")


@dataclass
class LedgerSettings:
    """The books: the one base currency every amount is in, and the account that closing
    entries move each period's result into."""

    base_currency: str = "EUR"
    retained_earnings: str = "3200"
    # Post every stock movement's value to the books (inventory, cost of goods, adjustments).
    perpetual_inventory: bool = False
    # How many years after its year ends the books (invoices, payments, entries) must be kept:
    # a contact named on them keeps their name and address that long (see `contacts erase`).
    retention_years: int = field(default=10, metadata=_limits(0, 100))


@dataclass
class ServerSettings:
    """The HTTP server (`backoffice serve`): what one request may bring, how often a token may
    call, and how long a new token lasts."""

    # A workbook upload is the largest request: its limit plus room for the form around it.
    max_request_bytes: int = field(default=210 * 1024 * 1024, metadata=_limits(1024))
    requests_per_minute: int = field(default=600, metadata=_limits(1, 1_000_000))   # per token, per worker
    token_days: int = field(default=90, metadata=_limits(1, 732))
    page_size: int = field(default=100, metadata=_limits(1, 10_000))
    max_page_size: int = field(default=1000, metadata=_limits(1, 100_000))


@dataclass
class StaffSettings:
    """Staff records: how long a leaver's records are kept before they may be purged."""

    retention_years: int = field(default=6, metadata=_limits(0, 100))


@dataclass
class CrmSettings:
    """CRM: the stages an opportunity moves through, in order, each as "name:probability"
    (the percentage its value is weighted by in the pipeline). `won` and `lost` end it."""

    stages: list[str] = field(default_factory=lambda: [
        "lead:10", "qualified:25", "proposal:50", "negotiation:75", "won:100", "lost:0"])


@dataclass
class AdminSettings:
    """Office administration: whether the asset register's depreciation is posted to the
    books each month (a bridge to the ledger), and the accounts it posts to."""

    post_depreciation: bool = False
    asset_account: str = "1500"                    # the assets' cost
    accumulated_depreciation_account: str = "1590"  # what has been written off (a contra asset)
    depreciation_expense_account: str = "6600"
    # What an asset's cost is credited to when it is registered, and its sale proceeds
    # debited to when disposed of: the supplier's bill (the buyer's invoice) is posted against
    # it and clears it, as goods received, not invoiced does for stock.
    clearing_account: str = "2160"
    disposal_account: str = "4950"                 # the gain or loss on a disposal


@dataclass
class OrganisationSettings:
    """Who the reports are of, and how they write numbers and dates: `locale` is a language
    and country code such as en_GB, de_DE or fr_CH (1,234.50 and 3 Dec 2026 in en_GB;
    1.234,50 and 03.12.2026 in de_DE)."""

    name: str = ""
    locale: str = "en_GB"


@dataclass
class SmtpSettings:
    """An SMTP server: its password comes from BACKOFFICE_SMTP_PASSWORD only."""

    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"   # "none" only for a server on this machine
    username: str = ""
    timeout_seconds: float = 30.0
    ca_file: str = ""             # PEM file of the certificate authorities to trust instead of the system's (a private CA)


@dataclass
class EwsSettings:
    """On-premises Exchange (EWS): its password comes from BACKOFFICE_EWS_PASSWORD only."""

    url: str = ""                 # https://mail.example.com/EWS/Exchange.asmx
    username: str = ""            # DOMAIN\\user or user@example.com
    mailbox: str = ""             # the mailbox sending (default: mail.sender)
    mode: Literal["drafts", "send"] = "drafts"   # save to Drafts for a person to check, or send
    auth: Literal["ntlm", "basic"] = "ntlm"


@dataclass
class GraphSettings:
    """Exchange Online through Microsoft Graph, app-only (client credentials): its client
    secret comes from BACKOFFICE_GRAPH_CLIENT_SECRET only."""

    tenant_id: str = ""
    client_id: str = ""
    authority: str = "https://login.microsoftonline.com"
    endpoint: str = "https://graph.microsoft.com/v1.0"
    sender: str = ""              # the mailbox sending (default: mail.sender)


@dataclass
class MailSettings:
    """Mail merge: who letters come from, where drafts go, how fast, and each transport."""

    transport: Literal["outbox", "smtp", "ews", "graph"] = "outbox"
    sender: str = ""              # the From address (required to send)
    sender_name: str = ""
    sender_phone: str = ""
    sender_address: list[str] = field(default_factory=list)   # the lines printed at the top of a letter
    country: str = ""             # the sender's country (ISO code): letters abroad get the country's name
    outbox_dir: Path | None = None  # where the outbox drafts go (default: output_dir/outbox)
    per_minute: int = field(default=60, metadata=_limits(1, 100_000))   # at most this many messages a minute, per transport
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    ews: EwsSettings = field(default_factory=EwsSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)


@dataclass(init=False)
class Settings:
    """Effective settings of one run: keyword arguments (flags) < BACKOFFICE_* environment <
    config/backoffice.toml, merged key by key (`BACKOFFICE_WORKBOOK__MAX_ROWS` changes one
    limit of the file's [workbook] table). Unknown keys are ignored. Read by `_from_toml` and
    `_from_environment` and checked by `_build` below, not by a settings library: this is on
    every command's start-up path."""

    database_url: str = "sqlite:///var/backoffice.db"
    # The modules switched on (engine.app builds the application from them; see registry.ALL_MODULES).
    modules: list[str] = field(default_factory=lambda: list(ALL_MODULES), metadata=_limits(parse=parse_modules))
    user: str = ""
    output_dir: Path = Path("out")
    busy_timeout_seconds: float = 30.0
    workbook: WorkbookLimits = field(default_factory=WorkbookLimits)
    ledger: LedgerSettings = field(default_factory=LedgerSettings)
    staff: StaffSettings = field(default_factory=StaffSettings)
    crm: CrmSettings = field(default_factory=CrmSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    organisation: OrganisationSettings = field(default_factory=OrganisationSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    # Set on a branch office's computer: the commands work through this server (with `token`)
    # instead of opening a database.
    server_url: str = ""

    # Secrets: environment only (`_from_toml` refuses them).
    database_password: Secret | None = None
    smtp_password: Secret | None = None
    graph_client_secret: Secret | None = None
    ews_password: Secret | None = None
    token: Secret | None = None            # the person's API token, for `server_url`

    def __init__(self, **values: Any):
        built = _build(type(self), _merged(_from_toml(), _from_environment(type(self)), values))
        self.__dict__.update(built.__dict__)

    def masked(self) -> dict[str, Any]:
        """The settings as plain data, secrets shown as '********' (or null when unset)."""
        data = as_data(self)
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
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not a valid TOML file ({exc}); correct it and run again.") from None
    leaked = sorted(set(data) & set(SECRET_FIELDS))
    if leaked:
        raise SettingsError(
            f"{path}: secrets may not be stored in the settings file ({', '.join(leaked)}); "
            "remove them and set BACKOFFICE_<NAME> in the environment instead."
        )
    return data


def _from_environment(model: type) -> dict[str, Any]:
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
                raise SettingsError(f"{name}: write it as JSON, e.g. [\"a\", \"b\"] ({exc})") from None
        target = found
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return found


def setting_types(model: type) -> dict[str, Any]:
    """{name: type} of a settings class's fields (its string annotations resolved)."""
    cached = _TYPES.get(model)
    if cached is None:
        hints = typing.get_type_hints(model)
        cached = _TYPES[model] = {f.name: hints[f.name] for f in dataclasses.fields(model)}
    return cached


_TYPES: dict[type, dict[str, Any]] = {}


def _annotation(model: type, path: tuple[str, ...]) -> Any:
    """The type of the setting at `path`, or None if there is none."""
    kind = setting_types(model).get(path[0])
    if kind is None or len(path) == 1:
        return kind
    return _annotation(kind, path[1:]) if dataclasses.is_dataclass(kind) else None


def _is_structured(annotation: Any) -> bool:
    kinds = [a for a in typing.get_args(annotation) if a is not type(None)] if _is_union(annotation) else [annotation]
    return any(typing.get_origin(k) in (list, dict, tuple, set) or k in (list, dict, tuple, set)
               or dataclasses.is_dataclass(k) for k in kinds)


def _build(model: type, data: Any, where: str = "") -> Any:
    """An instance of the settings class `model` from plain data (TOML, environment text,
    keyword arguments), each value checked against its field's type and limits; unknown keys
    are ignored. Raises SettingsError naming the setting (`mail.smtp.port`)."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise _refused(where.rstrip(".") or model.__name__, f"expected a table of settings, got {data!r}")
    kinds, values = setting_types(model), {}
    for spec in dataclasses.fields(model):
        if spec.name in data:
            values[spec.name] = _value(kinds[spec.name], data[spec.name], spec.metadata, where + spec.name)
    instance = object.__new__(model)
    for spec in dataclasses.fields(model):      # the defaults, then what was given
        if spec.name in values:
            value = values[spec.name]
        elif spec.default is not dataclasses.MISSING:
            value = spec.default
        else:
            value = spec.default_factory()  # type: ignore[misc]
        object.__setattr__(instance, spec.name, value)
    return instance


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _value(kind: Any, raw: Any, rules: Any, name: str) -> Any:
    """One setting's value as its type, or SettingsError saying what is expected."""
    def wrong(expected: str) -> SettingsError:
        return _refused(name, f"expected {expected}, got {raw!r}")

    if rules.get("parse"):
        try:
            return rules["parse"](raw)
        except ValueError as exc:
            raise _refused(name, str(exc)) from None
    if _is_union(kind):                                     # X | None: only ever optional here
        if raw is None:
            return None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    origin = typing.get_origin(kind)
    if origin is Literal:
        choices = typing.get_args(kind)
        if raw not in choices:
            raise wrong("one of " + ", ".join(map(repr, choices)))
        return raw
    if origin is list:
        (item,) = typing.get_args(kind)
        if not isinstance(raw, list | tuple):
            raise wrong("a list")
        return [_value(item, v, {}, name) for v in raw]
    if dataclasses.is_dataclass(kind):
        return _build(kind, raw, name + ".")
    if kind is Secret:
        if isinstance(raw, Secret):
            return raw
        if not isinstance(raw, str):
            raise wrong("text")
        return Secret(raw)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise wrong("true or false")
    if kind is str:
        if not isinstance(raw, str):
            raise wrong("text")
        return raw
    if kind is Path:
        if not isinstance(raw, str | Path):
            raise wrong("a path")
        return Path(raw)
    if kind in (int, float):
        return _checked_number(kind, raw, rules, wrong, name)
    raise TypeError(f"setting {name}: no reader for {kind!r}")   # a settings class's mistake


def _checked_number(kind: type, raw: Any, rules: Any, wrong: Any, name: str) -> int | float:
    if isinstance(raw, bool):
        raise wrong("a number")
    try:
        number = kind(raw.strip()) if isinstance(raw, str) else raw
    except ValueError:
        raise wrong("a whole number" if kind is int else "a number") from None
    if kind is int and not isinstance(number, int) or not isinstance(number, int | float):
        raise wrong("a whole number" if kind is int else "a number")
    number = kind(number)
    low, high = rules.get("at_least"), rules.get("at_most")
    if low is not None and number < low or high is not None and number > high:
        raise _refused(name, f"must be between {low} and {high}, got {raw!r}")
    return number


def as_data(settings: Any) -> dict[str, Any]:
    """A settings object as JSON-ready data (paths as text; secrets as they are: see masked)."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value

    return plain(settings)


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
