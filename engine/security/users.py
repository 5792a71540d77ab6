"""User accounts: adding and listing them, and resolving the acting user of a request."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.emails import check_email
from engine.errors import BackofficeError, UnknownUser, ValidationFailed
from engine.security.identity import claimed_login
from engine.security.models import User
from engine.security.roles import Actor, check_role_names, load_roles


def resolve_actor(session: Session, login: str | None) -> Actor:
    """The Actor for `login`, or a clear refusal if nobody or an unknown user is acting. On
    PostgreSQL a person's own database login decides who acts (`engine.security.identity`)."""
    login = claimed_login(session, login)
    if not login:
        raise UnknownUser(
            "no user given: pass --user LOGIN or set BACKOFFICE_USER "
            "(`backoffice users list` shows the logins)."
        )
    user = session.scalar(select(User).where(User.login == login))
    if user is None or not user.active:
        state = "is deactivated" if user else "is not known"
        raise UnknownUser(
            f"user {login!r} {state}; ask an administrator to run `backoffice users add {login} ...`."
        )
    roles = load_roles()
    return Actor(login=user.login, roles=tuple(roles[r] for r in user.role_names if r in roles))


def adding_actor(session: Session, login: str | None) -> Actor | None:
    """Who adds a user: nobody (None) while there are no users yet (the first one, an admin,
    may be added by anyone), else the acting user."""
    return None if user_count(session) == 0 else resolve_actor(session, login)


def user_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def add_user(
    session: Session, actor: Actor | None, login: str, name: str, roles: list[str], email: str | None,
    *, database_role: bool | None = False, password: str | None = None,
) -> User:
    """Add a user. With no users yet, the first one may be added by anyone, and must be an admin.

    `database_role` (PostgreSQL): also create their login role with grants matching their
    roles (`engine.security.db_roles`); None: when connected as the owner role. `password`:
    the role's password (else none: .pgpass, or a server that trusts the host)."""
    if actor is None:
        if user_count(session) > 0:
            raise UnknownUser("users exist already: pass --user with an administrator's login.")
        if "admin" not in roles:
            raise BackofficeError("the first user must have the admin role (--role admin).")
    else:
        actor.require("write", "users")
    check_role_names(roles)
    problems = []
    if not login or not login.replace(".", "").replace("-", "").replace("_", "").isalnum():
        problems.append(f"login {login!r}: use letters, digits, '.', '-' or '_'")
    if (bad_email := check_email(email)) is not None:
        problems.append(f"email: {bad_email}")
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        problems.append(f"login {login!r} is taken")
    if problems:
        raise ValidationFailed(problems)
    user = User(login=login, name=name, email=email, roles=" ".join(roles),
                updated_by=actor.login if actor else login)
    session.add(user)
    session.flush()
    if database_role is not False:
        # here: psycopg's SQL quoting, which only PostgreSQL needs
        from engine.security import db_roles

        if db_roles.wants_login_role(session, database_role):
            db_roles.provision_login(session, login, roles, password)
    return user


def refresh_grants(session: Session, actor: Actor, login: str) -> list[dict]:
    """Re-apply `login`'s database grants from their current Backoffice roles (after a role
    change, or a new module's tables); returns the grants as rows (table, privilege, columns)."""
    # here: psycopg's SQL quoting, which only PostgreSQL needs
    from engine.security import db_roles

    actor.require("write", "users")
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise UnknownUser(f"user {login!r} is not known; `backoffice users list` shows the logins.")
    if db_roles.database_login(session) is None:
        raise BackofficeError("a SQLite database has no logins to grant to; its file's permissions decide who "
                              "may use it")
    if not user.active:
        return db_roles.describe(db_roles.revoke_all(session, login))
    return db_roles.describe(db_roles.apply_grants(session, login, user.role_names))


def list_users(session: Session, actor: Actor) -> list[User]:
    actor.require("read", "users")
    return list(session.scalars(select(User).order_by(User.login)))
