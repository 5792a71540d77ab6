"""`backoffice users add|list|grants` and `backoffice users token create|list|revoke`."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    handles_errors,
    new_table,
    open_database,
    out,
    print_json,
    settings,
)
from engine.errors import BackofficeError
from engine.security import tokens
from engine.security.roles import SYSTEM
from engine.security.users import add_user, adding_actor, list_users, refresh_grants

users_app = typer.Typer(help="User accounts and their roles.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: a person's identity on the HTTP server.", no_args_is_help=True)
users_app.add_typer(token_app, name="token")


@users_app.command("add")
@handles_errors
def users_add(
    login: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[list[str], typer.Option("--role", "-r", help="A role (repeatable).")],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    database_role: Annotated[bool | None, typer.Option(
        "--database-role/--no-database-role",
        help="PostgreSQL: also create their login role, with grants matching their roles "
             "(default: when connected as the owner role).")] = None,
    password_env: Annotated[str | None, typer.Option(
        metavar="VARIABLE", help="The environment variable holding their database login's password.")] = None,
    user: UserOption = None,
) -> None:
    """Add a user. The very first user needs no --user and must be an admin."""
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise BackofficeError(f"--password-env: the environment variable {password_env} is not set")
    config = settings(user=user)
    db = open_database(config)
    with db.reading() as session:
        actor = adding_actor(session, config.user)
    with db.unit_of_work(actor or SYSTEM) as session:
        added = add_user(session, actor, login, name, role, email, database_role=database_role, password=password)
    out.print(f"added user {added.login} ({', '.join(added.role_names)})")


@users_app.command("grants")
@handles_errors
def users_grants(login: str, as_json: JsonOption = False, user: UserOption = None) -> None:
    """PostgreSQL: re-apply LOGIN's database grants from their current roles (run as the owner role)."""
    with acting_as(user) as (_db, actor, session):
        grants = refresh_grants(session, actor, login)
    if as_json:
        print_json(grants)
        return
    table = new_table("table", "privilege", "columns")
    for g in grants:
        table.add_row(g["table"], g["privilege"], "all" if g["columns"] is None else ", ".join(g["columns"]))
    out.print(table)


@users_app.command("list")
@handles_errors
def users_list(as_json: JsonOption = False, user: UserOption = None) -> None:
    """List users and their roles."""
    with acting_as(user) as (_db, actor, session):
        users = list_users(session, actor)
        rows = [{"login": u.login, "name": u.name, "email": u.email, "roles": u.role_names,
                 "active": u.active} for u in users]
    if as_json:
        print_json(rows)
        return
    table = new_table("login", "name", "e-mail", "roles", "active")
    for r in rows:
        table.add_row(r["login"], r["name"], r["email"] or "", " ".join(r["roles"]), "yes" if r["active"] else "no")
    out.print(table)


def _token_row(view: tokens.TokenView) -> dict:
    return {"id": view.id, "login": view.login, "name": view.name, "prefix": view.prefix,
            "created_at": view.created_at, "expires_at": view.expires_at, "revoked_at": view.revoked_at,
            "state": view.state}


@token_app.command("create")
@handles_errors
def token_create(
    name: Annotated[str, typer.Option(help="What it is for, e.g. the office or computer.")],
    login: Annotated[str | None, typer.Option("--for", help="Whose token (default: your own).")] = None,
    days: Annotated[int | None, typer.Option(help="How long it lasts (default: setting server.token_days).")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Make an API token. It is shown once: keep it in BACKOFFICE_TOKEN on the person's computer."""
    with acting_as(user) as (db, actor, session):
        config = settings(user=user)
        view, secret = tokens.create_token(session, actor, login or actor.login, name,
                                           days or config.server.token_days)
    if as_json:
        print_json({**_token_row(view), "token": secret})
        return
    out.print(f"token #{view.id} for {view.login} ({view.name}), valid until {view.expires_at:%Y-%m-%d %H:%M} UTC:")
    out.print(secret)
    out.print("It is shown only now: give it to its owner to set as BACKOFFICE_TOKEN.")


@token_app.command("list")
@handles_errors
def token_list(
    login: Annotated[str | None, typer.Option("--for", help="Whose tokens (default: your own; * for everyone's).")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """List API tokens (never their secrets)."""
    with acting_as(user) as (_db, actor, session):
        rows = [_token_row(v) for v in tokens.list_tokens(session, actor, login)]
    if as_json:
        print_json(rows)
        return
    table = new_table("id", "login", "name", "starts", "expires (UTC)", "state")
    for r in rows:
        table.add_row(str(r["id"]), r["login"], r["name"], r["prefix"] + "…", f"{r['expires_at']:%Y-%m-%d %H:%M}",
                      r["state"])
    out.print(table)


@token_app.command("revoke")
@handles_errors
def token_revoke(token_id: int, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Revoke an API token: the server refuses it from now on."""
    with acting_as(user) as (_db, actor, session):
        view = tokens.revoke_token(session, actor, token_id)
    if as_json:
        print_json(_token_row(view))
        return
    out.print(f"token #{view.id} of {view.login} ({view.name}) is revoked")
