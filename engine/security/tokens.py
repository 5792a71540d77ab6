"""API tokens: made, listed and revoked by people; presented by every request to the server.

In server mode the token is the identity: a request acts as the user the token was made for,
with that user's roles as they are now (a role taken away takes effect on the next request).
`--user` is not consulted. A token is refused when it is unknown, expired, revoked, or its
user is deactivated; the refusal does not say which, so a guesser learns nothing.

A person may make and revoke their own tokens; making or revoking anyone else's needs a role
that writes users (an administrator handing a branch office its tokens).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.base import utcnow
from engine.errors import BackofficeError, NotFound, ValidationFailed
from engine.problems import Problem
from engine.security.models import ApiToken, User
from engine.security.roles import Actor, load_roles

PREFIX = "bo_"
MAX_DAYS = 366 * 2


class NotAuthenticated(BackofficeError):
    """A request without a usable token (HTTP 401)."""

    code = "unauthenticated"
    field = "authorization"


@dataclass(frozen=True)
class TokenView:
    """A token as listed: never its secret, nor its digest."""

    id: int
    login: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= utcnow() else "active"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(session: Session, login: str) -> User:
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound(f"there is no user {login!r}; `backoffice users list` shows them.", field="login")
    return user


def _may_manage(actor: Actor, login: str) -> None:
    if login != actor.login:
        actor.require("write", "users")


def create_token(session: Session, actor: Actor, login: str, name: str, days: int = 90) -> tuple[TokenView, str]:
    """Make a token for `login` valid for `days`; returns it with its secret (shown once)."""
    _may_manage(actor, login)
    problems = []
    if not name or not name.strip() or len(name) > 100:
        problems.append(Problem("name", "invalid", "give the token a name of 1 to 100 characters, "
                                "e.g. the office or computer it is for"))
    if not 1 <= days <= MAX_DAYS:
        problems.append(Problem("days", "invalid", f"a token lasts 1 to {MAX_DAYS} days"))
    if problems:
        raise ValidationFailed(problems)
    user = _user(session, login)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip(), digest=digest(secret), prefix=secret[:10],
                     expires_at=utcnow() + timedelta(days=days), updated_by=actor.login)
    session.add(token)
    session.flush()
    return _view(token, login), secret


def list_tokens(session: Session, actor: Actor, login: str | None = None) -> list[TokenView]:
    """The tokens of `login` (default: the actor's own; everyone's with login "*")."""
    login = login or actor.login
    _may_manage(actor, login if login != "*" else "")
    query = select(ApiToken, User.login).join(User, User.id == ApiToken.user_id).order_by(User.login, ApiToken.id)
    if login != "*":
        query = query.where(User.login == login)
    return [_view(token, owner) for token, owner in session.execute(query)]


def revoke_token(session: Session, actor: Actor, token_id: int) -> TokenView:
    row = session.execute(select(ApiToken, User.login).join(User, User.id == ApiToken.user_id)
                          .where(ApiToken.id == token_id)).first()
    if row is None:
        raise NotFound(f"there is no token #{token_id}; `backoffice users token list` shows them.", field="token")
    token, owner = row
    _may_manage(actor, owner)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.updated_by = actor.login
        session.flush()
    return _view(token, owner)


def actor_for_token(session: Session, token: str | None) -> Actor:
    """The user a presented token acts for, or NotAuthenticated."""
    refused = NotAuthenticated("a valid API token is needed: send `Authorization: Bearer TOKEN` "
                               "(`backoffice users token create` makes one)")
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        raise refused
    row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                          .where(ApiToken.digest == digest(token))).first()
    if row is None:
        raise refused
    found, user = row
    if found.revoked_at is not None or found.expires_at <= utcnow() or not user.active:
        raise refused
    roles = load_roles()
    return Actor(login=user.login, roles=tuple(roles[r] for r in user.role_names if r in roles))


def _view(token: ApiToken, login: str) -> TokenView:
    return TokenView(token.id, login, token.name, token.prefix, token.created_at, token.expires_at,
                     token.revoked_at)
