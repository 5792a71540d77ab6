"""User accounts: adding and listing them, and resolving the acting user of a request."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.emails import check_email
from engine.errors import BackofficeError, UnknownUser, ValidationFailed
from engine.security.models import User
from engine.security.roles import Actor, check_role_names, load_roles


def resolve_actor(session: Session, login: str | None) -> Actor:
    """The Actor for `login`, or a clear refusal if nobody or an unknown user is acting."""
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
    session: Session, actor: Actor | None, login: str, name: str, roles: list[str], email: str | None
) -> User:
    """Add a user. With no users yet, the first one may be added by anyone, and must be an admin."""
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
    return user


def list_users(session: Session, actor: Actor) -> list[User]:
    actor.require("read", "users")
    return list(session.scalars(select(User).order_by(User.login)))
