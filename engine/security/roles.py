"""Roles as declared in `config/roles.toml`, and the checks made at every door.

An `Actor` is a logged-in user with their roles resolved; services receive it and call
`actor.require("write", "contacts")` before touching anything, so the CLI, workbook sync,
add-in and API all refuse the same things with the same message.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from engine.errors import BackofficeError, PermissionDenied
from engine.paths import config_dir

# `team`: a manager's own reports (their Team workbook, their leave decisions); `staff`: everyone.
AREAS = ("contacts", "inventory", "ledger", "staff", "team", "quality", "admin", "users", "audit")
ACTIONS = ("read", "write")
# Single acts weightier than writing an area, granted by name (`can` in roles.toml).
CAPABILITIES = {
    "reopen-periods": "reopen a closed fiscal period (its closing entry is reversed)",
    "purge-staff": "purge a leaver's identifying and sensitive data after the retention period",
    "reset-demo": "delete everything in a demo database and build the demo again (`demo --reset`)",
    "data-requests": "answer a person's data-subject request: export everything held about them, or erase it",
}


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    read: frozenset[str]
    write: frozenset[str]
    sees: frozenset[str]
    can: frozenset[str] = frozenset()

    def allows(self, action: str, area: str) -> bool:
        granted = self.write if action == "write" else self.read | self.write
        return "*" in granted or area in granted


@cache
def load_roles(path: Path | None = None) -> dict[str, Role]:
    path = path or config_dir() / "roles.toml"
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    roles = {}
    for name, spec in data.get("roles", {}).items():
        for key in ("read", "write"):
            unknown = set(spec.get(key, [])) - set(AREAS) - {"*"}
            if unknown:
                raise BackofficeError(
                    f"{path}: role {name!r} names unknown areas in {key}: {sorted(unknown)}; "
                    f"use any of {', '.join(AREAS)} or '*'."
                )
        unknown = set(spec.get("can", [])) - set(CAPABILITIES)
        if unknown:
            raise BackofficeError(f"{path}: role {name!r} names unknown capabilities in can: {sorted(unknown)}; "
                                  f"use any of {', '.join(CAPABILITIES)}.")
        roles[name] = Role(
            name=name,
            description=spec.get("description", ""),
            read=frozenset(spec.get("read", [])),
            write=frozenset(spec.get("write", [])),
            sees=frozenset(spec.get("sees", [])),
            can=frozenset(spec.get("can", [])),
        )
    return roles


def check_role_names(names: list[str]) -> None:
    known = load_roles()
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise BackofficeError(
            f"unknown role(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from: {', '.join(sorted(known))}."
        )


@dataclass(frozen=True)
class Actor:
    """The user a request acts for, with their roles resolved."""

    login: str
    roles: tuple[Role, ...]

    @property
    def role_names(self) -> list[str]:
        return [r.name for r in self.roles]

    def may(self, action: str, area: str) -> bool:
        return any(r.allows(action, area) for r in self.roles)

    def require(self, action: str, area: str) -> None:
        if not self.may(action, area):
            raise PermissionDenied(
                f"user {self.login!r} (roles: {', '.join(self.role_names)}) may not {action} "
                f"{area}; ask an administrator for a role that allows it."
            )

    def can(self, capability: str) -> bool:
        return any(capability in r.can for r in self.roles)

    def require_capability(self, capability: str) -> None:
        if not self.can(capability):
            holders = [r.name for r in load_roles().values() if capability in r.can]
            raise PermissionDenied(
                f"user {self.login!r} (roles: {', '.join(self.role_names)}) may not {CAPABILITIES[capability]}; "
                f"it needs a role that can {capability} ({', '.join(holders) or 'none has it'})."
            )

    def sees(self, sensitivity: str | None) -> bool:
        """Whether a field of this sensitivity class is visible (None: not sensitive)."""
        return sensitivity is None or any(sensitivity in r.sees for r in self.roles)


SYSTEM = Actor("system", (Role("system", "the engine itself", frozenset("*"), frozenset("*"),
                               frozenset({"finance", "hr"}), frozenset(CAPABILITIES)),))
