"""Roles as read from roles.toml: what is shipped, and a mistyped file refused with a message
that names the file, the role and what may be written instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import BackofficeError, PermissionDenied
from engine.security.roles import Actor, load_roles


def test_the_shipped_roles_let_accountants_and_admins_reopen_periods_and_no_one_else():
    roles = load_roles()
    assert sorted(name for name, role in roles.items() if "reopen-periods" in role.can) == ["accountant", "admin"]
    Actor("alex", (roles["accountant"],)).require_capability("reopen-periods")
    with pytest.raises(PermissionDenied, match="roles: manager.*needs a role that can reopen-periods"):
        Actor("mia", (roles["manager"],)).require_capability("reopen-periods")


@pytest.mark.parametrize("line, refusal", [
    ('can = ["reopen-period"]', r"role 'clerk' names unknown capabilities in can: \['reopen-period'\]"),
    ('write = ["ledgers"]', r"role 'clerk' names unknown areas in write: \['ledgers'\]"),
])
def test_a_mistyped_roles_file_is_refused_naming_the_role_and_the_word(tmp_path: Path, line, refusal):
    path = tmp_path / "roles.toml"
    path.write_text(f'[roles.clerk]\nread = ["ledger"]\n{line}\n')
    with pytest.raises(BackofficeError, match=refusal):
        load_roles(path)


def test_every_field_the_shipped_policy_names_exists_in_the_schema():
    """A misspelt field would protect nothing."""
    from engine.models import Base
    from engine.security.policies import check_fields_exist, load_policies

    tables = {name: set(table.c.keys()) for name, table in Base.metadata.tables.items()}
    check_fields_exist(load_policies(), tables)
    assert load_policies().by_table, "the shipped policy declares sensitive fields"


def test_a_misspelt_policy_field_is_refused_by_name(tmp_path):
    from engine.errors import BackofficeError
    from engine.security.policies import check_fields_exist, load_policies

    path = tmp_path / "policies.toml"
    path.write_text('[contracts]\nsalry = "hr"\n')
    with pytest.raises(BackofficeError, match="there is no field contracts.salry"):
        check_fields_exist(load_policies(path), {"contracts": {"salary", "id"}})
