"""The composition root: the one place the application is put together.

`start()` reads which modules are switched on (`modules = [...]` in config/backoffice.toml,
or BACKOFFICE_MODULES; default: all), calls each module's `register(registry)` (see
`engine.registry`), refuses a module that needs one that is off, installs the bridges whose
modules are all on, and puts the registry in force for the doors and the generic layers.
A module that is off brings nothing: no commands, no workbooks, no demo data, no mail
selections, no reports. Its tables stay in the schema (one schema, one migration history),
unused.

Start-up stays cheap: declaring a module imports only its `__init__.py`, and the settings
file is read with `tomllib`, not the settings library (`backoffice --help` loads neither).
The checks that need the settings or the tables (`check_settings`, `check_policies`) run
when a command opens the database.

    from engine import app
    app.start(["contacts", "inventory"])     # or app.start() for the configured modules
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from engine import registry
from engine.errors import BackofficeError
from engine.paths import config_dir
from engine.registry import ALL_MODULES, Bridge, Registry, load, parse_modules


class ModuleSwitchedOff(BackofficeError):
    """A module, or a setting, needs a module that is switched off."""

    code = "module_off"
    field = "modules"


def configured_modules() -> list[str]:
    """The modules switched on: BACKOFFICE_MODULES, else `modules` in backoffice.toml, else all."""
    try:
        if "BACKOFFICE_MODULES" in os.environ:
            return parse_modules(os.environ["BACKOFFICE_MODULES"])
        path = config_dir() / "backoffice.toml"
        if path.exists():
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
            if "modules" in data:
                return parse_modules(data["modules"])
    except ValueError as exc:   # also a TOML or JSON syntax error
        raise ModuleSwitchedOff(f"modules: {exc}") from None
    return list(ALL_MODULES)


def build(modules: Iterable[str]) -> Registry:
    """The registry of `modules` (refused if one needs a module that is off)."""
    try:
        wanted = parse_modules(list(modules))
    except ValueError as exc:
        raise ModuleSwitchedOff(f"modules: {exc}") from None
    on, off = Registry(), Registry()
    for name in ALL_MODULES:      # each declares into its side; the off side lets doors say "switched off"
        load(f"engine.{name}").register(on if name in wanted else off)
    on.off = off
    for module in on.modules.values():
        missing = [n for n in module.needs if n not in on.modules]
        if missing:
            raise ModuleSwitchedOff(
                f"the {module.name} module needs {' and '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} switched off: add {', '.join(missing)} to `modules` "
                f"(config/backoffice.toml or BACKOFFICE_MODULES), or switch {module.name} off")
    return on


_stop: list[Callable[[], None]] = []     # disconnects the bridges installed by the last start


def start(modules: Iterable[str] | None = None) -> Registry:
    """Build the application from `modules` (default: the configured ones), install its
    bridges and put it in force; the previous one, if any, is stopped."""
    reg = build(configured_modules() if modules is None else modules)
    stop()
    for bridge in installable(reg):
        for hook, listener in bridge.listens:
            _stop.append(load(hook).connect_lazily(listener))
    registry.use(reg)
    return reg


def stop() -> None:
    while _stop:
        _stop.pop()()


@contextmanager
def started(modules: Iterable[str]) -> Iterator[Registry]:
    """The application of `modules` until the block ends; then the previous one again."""
    before = registry.current() if registry.started() else None
    try:
        yield start(modules)
    finally:
        if before is not None:
            start(before.modules)
        else:
            stop()


def installable(reg: Registry) -> list[Bridge]:
    """The bridges whose modules are all switched on."""
    return [b for b in reg.bridges if all(reg.is_on(n) for n in b.needs)]


def check_settings(settings: Any, reg: Registry | None = None) -> None:
    """Refuse a setting that switches on a bridge whose modules are not all on, naming both
    (`ledger.perpetual_inventory` with inventory or the ledger off)."""
    reg = reg or registry.current()
    dormant = [b for b in reg.bridges + (reg.off.bridges if reg.off else []) if b not in installable(reg)]
    for bridge in dormant:
        if bridge.setting and _setting(settings, bridge.setting):
            off = [n for n in bridge.needs if not reg.is_on(n)]
            raise ModuleSwitchedOff(
                f"{bridge.setting} is on, but it needs the modules {' and '.join(bridge.needs)} and "
                f"{', '.join(off)} {'is' if len(off) == 1 else 'are'} switched off: switch {', '.join(off)} on "
                f"in `modules`, or set {bridge.setting} = false")


def _setting(settings: Any, dotted: str) -> Any:
    value = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def module_tables(reg: Registry | None = None, complete: bool = True) -> dict[str, set[str]]:
    """{table: its columns} of the kernel (users, audit log) and of the modules switched on;
    the tables of a module that is off are left out. `complete`: import every switched-on
    module's models first (otherwise: the tables this process has loaded, those it uses)."""
    from engine.db.base import Base  # here: the store (SQLAlchemy) is a slow import

    reg = reg or registry.current()
    for module in reg.modules.values() if complete else ():
        if module.models:
            load(module.models)
    off = {m.models for m in (reg.off.modules.values() if reg.off else ()) if m.models}
    tables: dict[str, set[str]] = {}
    for mapper in Base.registry.mappers:
        if mapper.class_.__module__ not in off and mapper.local_table is not None:
            tables[mapper.local_table.name] = set(mapper.local_table.columns.keys())
    return tables


def check_policies(reg: Registry | None = None, complete: bool = True) -> None:
    """The field policies in force name only fields that exist, in the modules switched on
    (a misspelt field would protect nothing). Every command checks the tables it has loaded
    (`complete=False`: it pays for no other module's tables); `config show`, `db`, `demo`
    and the test suite check them all."""
    from engine.security.policies import (  # here: with module_tables, only when a database is opened
        active_policies,
        check_fields_exist,
    )

    check_fields_exist(active_policies(), module_tables(reg, complete))
