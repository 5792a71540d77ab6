"""Nonconformance reports and their actions, each operation inside the caller's unit of work.

A nonconformance moves through open -> investigating -> action -> verification -> closed, one
step at a time, each step needing what it stands on (`rules.check_advance`): containment
before investigating, a root cause before acting, actions before verification, and to close,
every action done and a verifier who is neither its owner nor an owner of an action. The
verifier is whoever closes it: the identity the door acted for, never a name typed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.contacts.models import Contact
from engine.db.base import apply_changes, require_version
from engine.errors import NotFound, ValidationFailed
from engine.inventory.models import Item, Lot
from engine.problems import Problem
from engine.quality import rules
from engine.quality.models import NCR_STATES, Action, Nonconformance
from engine.quality.services import AREA
from engine.security.models import User
from engine.security.roles import Actor

NCR_FIELDS = ("title", "description", "severity", "opened_on", "owner", "lot_id", "item_id", "supplier_id",
              "customer_id", "containment", "root_cause_method", "cause_category", "root_cause")
ACTION_FIELDS = ("ncr_id", "kind", "description", "owner", "due_on", "status", "done_on")


def _references(session: Session, values: Mapping[str, Any]) -> list[Problem]:
    """The records a nonconformance or an action names exist."""
    problems = []
    for field, model, what in (("lot_id", Lot, "lot"), ("item_id", Item, "item"), ("supplier_id", Contact, "contact"),
                               ("customer_id", Contact, "contact"), ("ncr_id", Nonconformance, "nonconformance")):
        if values.get(field) is not None and session.get(model, values[field]) is None:
            problems.append(Problem(field, "reference", f"there is no {what} #{values[field]}"))
    for field in ("owner",):
        login = values.get(field)
        if login and session.scalars(select(User.id).where(User.login == login)).first() is None:
            problems.append(Problem(field, "reference", f"there is no user {login!r}; `backoffice users list` shows "
                                                        "them"))
    return problems


def add_ncr(session: Session, actor: Actor, values: Mapping[str, Any]) -> Nonconformance:
    """Open a nonconformance (it starts open, owned by `owner`, by default whoever opens it)."""
    actor.require("write", AREA)
    row = rules.ncr_defaults({k: values.get(k) for k in NCR_FIELDS})
    row["status"] = "open"
    row["owner"] = row.get("owner") or actor.login
    row["opened_on"] = row.get("opened_on") or date.today()
    if row.get("lot_id") and not row.get("item_id"):
        lot = session.get(Lot, row["lot_id"])
        row["item_id"] = lot.item_id if lot else None
    problems = rules.check_ncr(row) + _references(session, row)
    if problems:
        raise ValidationFailed(problems)
    ncr = Nonconformance(**row, updated_by=actor.login)
    session.add(ncr)
    session.flush()
    return ncr


def get_ncr(session: Session, ncr_id: int) -> Nonconformance:
    ncr = session.get(Nonconformance, ncr_id)
    if ncr is None:
        raise NotFound(f"there is no nonconformance #{ncr_id}; `backoffice quality ncr list` shows them", "ncr_id")
    return ncr


def actions_of(session: Session, ncr_id: int) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.ncr_id == ncr_id).order_by(Action.id)))


def update_ncr(session: Session, actor: Actor, ncr_id: int, expected_version: int | None,
               changes: Mapping[str, Any]) -> Nonconformance:
    """Change a nonconformance's fields; a change of `status` is a step of the workflow."""
    actor.require("write", AREA)
    ncr = get_ncr(session, ncr_id)
    require_version(ncr, expected_version, f"nonconformance #{ncr.id}")
    if ncr.status == "closed":
        raise ValidationFailed([Problem("status", "workflow", f"nonconformance #{ncr.id} is closed: open a new one "
                                                              "if the problem came back")])
    merged = {f: getattr(ncr, f) for f in (*NCR_FIELDS, "status")} | {k: v for k, v in changes.items()
                                                                      if k in (*NCR_FIELDS, "status")}
    row = rules.ncr_defaults(merged)
    problems = rules.check_ncr(row) + _references(session, {k: v for k, v in changes.items() if k in NCR_FIELDS})
    to = row["status"]
    if to != ncr.status:
        actions = [_action_facts(a) for a in actions_of(session, ncr.id)]
        problems += rules.check_advance(row | {"status": ncr.status}, to, actions, actor.login)
    if problems:
        raise ValidationFailed(problems)
    values = {f: row.get(f) for f in (*NCR_FIELDS, "status")}
    if to == "closed" and ncr.status != "closed":
        values |= {"verifier": actor.login, "closed_on": changes.get("closed_on") or date.today()}
    apply_changes(session, ncr, values, actor.login)
    return ncr


def advance_ncr(session: Session, actor: Actor, ncr_id: int, to: str | None = None,
                **changes: Any) -> Nonconformance:
    """Move a nonconformance to its next state (or `to`), with the fields that step needs."""
    actor.require("write", AREA)     # before the record is looked up: who may not gets 403, never 404
    ncr = get_ncr(session, ncr_id)
    following = to or (NCR_STATES[NCR_STATES.index(ncr.status) + 1] if ncr.status != "closed" else "closed")
    return update_ncr(session, actor, ncr_id, None, {**changes, "status": following})


def _action_facts(action: Action) -> dict[str, Any]:
    return {"id": action.id, "description": action.description, "owner": action.owner, "status": action.status}


def add_action(session: Session, actor: Actor, values: Mapping[str, Any]) -> Action:
    actor.require("write", AREA)
    row = rules.action_defaults({k: values.get(k) for k in ACTION_FIELDS})
    if row["status"] == "done" and not row.get("done_on"):
        row["done_on"] = date.today()
    problems = rules.check_action(row) + _references(session, row)
    ncr = session.get(Nonconformance, row["ncr_id"]) if row.get("ncr_id") else None
    if ncr is not None and ncr.status == "closed":
        problems.append(Problem("ncr_id", "workflow", f"nonconformance #{ncr.id} is closed: its actions are final"))
    if problems:
        raise ValidationFailed(problems)
    action = Action(**row, updated_by=actor.login)
    session.add(action)
    session.flush()
    return action


def update_action(session: Session, actor: Actor, action_id: int, expected_version: int | None,
                  changes: Mapping[str, Any]) -> Action:
    """Change an action; marking it done dates it today unless a date is given."""
    actor.require("write", AREA)
    action = session.get(Action, action_id)
    if action is None:
        raise NotFound(f"there is no action #{action_id}", "id")
    require_version(action, expected_version, f"action #{action.id}")
    row = rules.action_defaults({f: getattr(action, f) for f in ACTION_FIELDS} | dict(changes))
    if row["status"] == "done" and not row.get("done_on"):
        row["done_on"] = date.today()
    problems = rules.check_action(row) + _references(session, {k: v for k, v in changes.items() if k != "ncr_id"})
    if get_ncr(session, action.ncr_id).status == "closed":
        problems.append(Problem("status", "workflow", f"nonconformance #{action.ncr_id} is closed: its actions are "
                                                      "final"))
    if "ncr_id" in changes and changes["ncr_id"] != action.ncr_id:
        problems.append(Problem("ncr_id", "not_allowed", "an action stays with its nonconformance"))
    if problems:
        raise ValidationFailed(problems)
    apply_changes(session, action, {f: row.get(f) for f in ACTION_FIELDS}, actor.login)
    return action
