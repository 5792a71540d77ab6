"""What each module brings, declared once and loaded only when used.

Every business module's `engine/<module>/__init__.py` has one function,
`register(registry)`, that declares what it brings: the modules it needs, its command
groups, workbooks, demo steps, mail-merge selections, report contexts, bridges and tables.
Everything is named by a dotted path (``"engine.inventory.commands:stock_app"``), so
declaring a module imports nothing of it: `backoffice --help` lists every command group
from these declarations alone, and a group is imported when it is run.

The composition root (`engine.app`) calls each switched-on module's `register`, checks
what they need, and puts the result in force (`use`). The generic layers (the workbook
round trip, the demo, mail merge's selections, the reports door) read it from here
(`current()`); none of them imports a business module.

    def register(registry: Registry) -> None:
        registry.module("inventory", needs=["contacts"], models="engine.inventory.models")
        registry.commands("stock", "engine.inventory.commands:stock_app", "Stock: receive, issue, ...")
        registry.workbook("inventory", "engine.inventory.sheets:inventory_workbook")
        registry.demo_step("inventory", "engine.inventory.demo:seed_inventory", order=30)
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Every module there is, in the order they register; `modules = [...]` in the settings
# switches them on (default: all). A module's name is its package under engine/.
ALL_MODULES = ("contacts", "inventory", "ledger", "staff", "quality", "crm", "admin", "mailmerge", "reports")


def parse_modules(value: Any) -> list[str]:
    """`modules` as written in the settings file (a list) or the environment (a JSON list,
    or names separated by commas); refuses a name that is no module."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else [n for n in text.replace(" ", ",").split(",") if n]
    if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
        raise ValueError(f"modules must be a list of module names, e.g. [\"contacts\", \"inventory\"]; got {value!r}")
    names = [n.strip() for n in value]
    unknown = [n for n in names if n not in ALL_MODULES]
    if unknown:
        raise ValueError(f"there is no module {', '.join(map(repr, unknown))}; the modules are {', '.join(ALL_MODULES)}")
    return list(dict.fromkeys(names))


def load(target: str) -> Any:
    """The object a dotted path names: ``"package.module:attribute"`` (or a module)."""
    module, _, attribute = target.partition(":")
    loaded = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        loaded = getattr(loaded, part)
    return loaded


@dataclass(frozen=True)
class CommandGroup:
    """A command group (`backoffice stock ...`), or with `single`, one command of the root
    taken from a Typer app (`backoffice sync`)."""

    name: str
    target: str
    help: str
    module: str
    single: bool = False
    extend: tuple[str, ...] = ()   # functions called with the loaded Typer app, to add commands
    # {command after the group's name: the route doing it on the HTTP server}, for a command
    # that works only on the database: run with a server set, it says which route to use.
    server_routes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Workbook:
    name: str
    target: str          # a function returning the WorkbookSpec
    module: str


@dataclass(frozen=True)
class Api:
    """A module's routes on the HTTP server: `target` names its FastAPI APIRouter."""

    target: str
    module: str


@dataclass(frozen=True)
class DemoStep:
    name: str
    target: str          # step(session, summary)
    module: str
    order: int


@dataclass(frozen=True)
class Selection:
    """A mail-merge selection: `target(session, actor, **options)` returns the recipients'
    contact ids in the order the letters go out, each with the context it adds
    ({contact id: {name: value}}), and the contacts left out (a list of mail's Skipped)."""

    name: str
    target: str
    help: str
    module: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """A Word report: `target(session, actor, **options)` gives its context. `options` name
    what it is asked for, from the reports door's list (`engine.reports.options`: period,
    as_of, year, customer, lot, employee); `summary(context)` gives what the door says of a
    report once written (a line, and figures for --json)."""

    name: str
    target: str
    template: str        # relative to the templates folder, e.g. "reports/staff.docx"
    module: str
    options: tuple[str, ...] = ()
    help: str = ""
    summary: str | None = None


@dataclass(frozen=True)
class PackSection:
    """A module's part of the monthly management pack: `target(session, actor, month)` gives
    an `engine.office.report_body.Section`, or None when it has nothing to say. Readers whose
    roles may not read `area` (default: the module's) get a note in its place; `order` places
    it."""

    name: str
    target: str
    title: str
    module: str
    order: int
    area: str | None = None


@dataclass(frozen=True)
class Bridge:
    """Code that needs two modules (perpetual inventory: inventory and the ledger). It is
    installed when every module it needs is on: each (hook, listener) of `listens` is
    connected, the listener imported only when the hook first announces (`engine.hooks`).
    `setting`, a dotted settings name, is the switch that makes it act; when that setting is
    on while a module the bridge needs is off, start-up refuses with a message naming both."""

    name: str
    needs: tuple[str, ...]
    listens: tuple[tuple[str, str], ...]
    module: str
    setting: str | None = None


@dataclass
class Module:
    name: str
    needs: tuple[str, ...] = ()
    models: str | None = None       # the module holding its tables
    help: str = ""
    area: str = ""                  # the area (roles.toml) its tables belong to; default: its name
    # For readers of part of the area only (a manager's `team`, a member of staff's own
    # tasks): a function (session, actor, table) giving the ids of the records of `table` the
    # actor may read (None: all), refusing with PermissionDenied when none (the policy gate
    # asks it for every actor, e.g. for the audit log).
    records: str | None = None


@dataclass
class Registry:
    """The declarations of the modules switched on (and, in `off`, of those switched off,
    so a door can say "switched off" rather than "unknown")."""

    modules: dict[str, Module] = field(default_factory=dict)
    groups: list[CommandGroup] = field(default_factory=list)
    workbooks: list[Workbook] = field(default_factory=list)
    apis: list[Api] = field(default_factory=list)
    demo_steps: list[DemoStep] = field(default_factory=list)
    selections: list[Selection] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    pack_sections: list[PackSection] = field(default_factory=list)
    bridges: list[Bridge] = field(default_factory=list)
    off: Registry | None = None
    _declaring: str = ""

    # -- what a module's register() calls ----------------------------------------------------

    def module(self, name: str, *, needs: Iterable[str] = (), models: str | None = None, help: str = "",
               area: str | None = None, records: str | None = None) -> None:
        """Declare the module itself: call first in `register`. `area`: the area of roles.toml
        whose readers may read its tables (default: the module's name); `records`: see Module."""
        self.modules[name] = Module(name, tuple(needs), models, help, area or name, records)
        self._declaring = name

    def commands(self, name: str, target: str, help: str, extend: Iterable[str] = (),
                 server_routes: dict[str, str] | None = None) -> None:
        """A command group: `target` names its Typer app; each of `extend` names a function
        called with that app to add more commands to it (imported only when it is run);
        `server_routes`: {command: "METHOD /path"} of its commands that change records and work
        only on the database, so that one run with a server set names the route doing it."""
        self.groups.append(CommandGroup(name, target, help, self._declaring, extend=tuple(extend),
                                        server_routes=tuple((server_routes or {}).items())))

    def command(self, name: str, target: str, help: str) -> None:
        """One command of the root (`backoffice sync`) out of the Typer app `target`."""
        self.groups.append(CommandGroup(name, target, help, self._declaring, single=True))

    def workbook(self, name: str, target: str) -> None:
        self.workbooks.append(Workbook(name, target, self._declaring))

    def api(self, target: str) -> None:
        """The module's routes on the HTTP server (`engine.<module>.api:router`)."""
        self.apis.append(Api(target, self._declaring))

    def demo_step(self, name: str, target: str, order: int) -> None:
        self.demo_steps.append(DemoStep(name, target, self._declaring, order))

    def selection(self, name: str, target: str, help: str, options: Iterable[str] = ()) -> None:
        self.selections.append(Selection(name, target, help, self._declaring, tuple(options)))

    def report(self, name: str, target: str, template: str, *, options: Iterable[str] = (), help: str = "",
               summary: str | None = None) -> None:
        self.reports.append(Report(name, target, template, self._declaring, tuple(options), help, summary))

    def pack_section(self, name: str, target: str, title: str, order: int, area: str | None = None) -> None:
        self.pack_sections.append(PackSection(name, target, title, self._declaring, order, area))

    def bridge(self, name: str, needs: Iterable[str], listens: Iterable[tuple[str, str]],
               setting: str | None = None) -> None:
        """A bridge: `listens` pairs a hook ("engine.inventory.hooks:stock_moved") with the
        bridge's listener ("engine.bridges.perpetual_inventory:post_stock_value")."""
        self.bridges.append(Bridge(name, tuple(needs), tuple(tuple(pair) for pair in listens), self._declaring,
                                   setting))

    # -- what the doors and generic layers ask -----------------------------------------------

    def server_route(self, command: str) -> str | None:
        """The route doing through the server what `command` ("stock receive") does on the
        database, if its module declares one."""
        for group in self.groups:
            for name, route in group.server_routes:
                if command == f"{group.name} {name}":
                    return route
        return None

    def is_on(self, module: str) -> bool:
        return module in self.modules

    def group(self, name: str) -> CommandGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    def selection_named(self, name: str) -> Selection | None:
        return next((s for s in self.selections if s.name == name), None)

    def report_named(self, name: str) -> Report | None:
        return next((r for r in self.reports if r.name == name), None)

    def switched_off(self, kind: str, name: str) -> str | None:
        """The module that would bring `name` (a group, workbook, selection or report) when it
        is switched off; None if no module brings it."""
        if self.off is None:
            return None
        for entry in getattr(self.off, kind):
            if entry.name == name:
                return entry.module
        return None


_current: list[Registry] = []


def current() -> Registry:
    """The registry in force: put there by the composition root (`engine.app.start`)."""
    if not _current:
        raise RuntimeError("no application is started: call engine.app.start() first (the `backoffice` "
                           "command and the test suite's conftest do)")
    return _current[-1]


def started() -> bool:
    return bool(_current)


def use(registry: Registry) -> None:
    """Put `registry` in force (the composition root's job)."""
    _current[:] = [registry]


@contextmanager
def using(registry: Registry) -> Iterator[Registry]:
    """Put `registry` in force until the block ends."""
    _current.append(registry)
    try:
        yield registry
    finally:
        _current.remove(registry)
