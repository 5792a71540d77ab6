"""`/contacts`: the shared contacts over HTTP (the example a module's routes follow).

Each route parses, calls the contact services or queries with the caller, and renders; the
rules are the services', the field policy the gate's. Bodies are typed loosely (text where the
command line takes text) so that a value the rules refuse is refused by the rules, with the
same problem codes as at every other door.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from engine.api.support import (
    CallerDep,
    Cursor,
    Digest,
    ExactNumbers,
    IdempotencyKey,
    IfMatch,
    Limit,
    RecordId,
    Sort,
    Text,
    create,
    expected_version,
    page,
    update,
    with_etag,
)
from engine.contacts import channels, queries, services

router = APIRouter(prefix="/contacts", tags=["contacts"], route_class=ExactNumbers)

Words = Annotated[Text | None, Field(default=None, max_length=2000)]


class AddressIn(BaseModel):
    kind: Words = "billing"
    line1: Words = None
    line2: Words = None
    city: Words = None
    postcode: Words = None
    region: Words = None
    country: Words = None


class ContactChange(BaseModel):
    """The fields of a contact; in an update, only those sent are changed."""

    kind: Words = None
    name: Words = None
    first_name: Words = None
    last_name: Words = None
    organisation_id: int | None = None
    job_title: Words = None
    email: Words = None
    phone: Words = None
    website: Words = None
    country: Words = None
    tags: Words = None
    opt_out: bool | None = None
    notes: Words = None


class ContactIn(ContactChange):
    opt_out: bool = False
    addresses: list[AddressIn] = Field(default_factory=list, max_length=50)


@router.get("", summary="Contacts, filtered, sorted and a page at a time")
def list_contacts(request: Request, who: CallerDep,
                  kind: Annotated[Literal["organisation", "person"] | None, Query()] = None,
                  search: Annotated[Text | None, Query(max_length=200, description="Part of a name or e-mail.")] = None,
                  tag: Annotated[Text | None, Query(max_length=100)] = None,
                  sort: Sort = None, cursor: Cursor = None, limit: Limit = None) -> Response:
    with who.work() as session:
        rows = queries.contacts(session, who.actor, kind=kind, search=search, tag=tag)
    return page(rows, request, sort, cursor, limit)


@router.get("/{contact_id}", summary="One contact with its addresses; its ETag is its version")
def read_contact(who: CallerDep, contact_id: RecordId) -> Response:
    with who.work() as session:
        return with_etag(queries.contact(session, who.actor, contact_id))


@router.post("", status_code=201, summary="Add a contact (the answer lists possible duplicates)")
def add_contact(request: Request, who: CallerDep, body: ContactIn, key: IdempotencyKey = None,
                digest: Digest = "") -> Response:
    def make(session: Any) -> dict[str, Any]:
        data = body.model_dump(exclude={"addresses"})
        contact, duplicates = services.add_contact(session, who.actor, data,
                                                   [a.model_dump() for a in body.addresses])
        session.flush()
        return {**queries.contact(session, who.actor, contact.id),
                "possible_duplicates": [d.__dict__ for d in duplicates]}

    return create(request, who, key, digest, make)


@router.patch("/{contact_id}", summary="Change a contact's fields (needs If-Match)")
def change_contact(request: Request, who: CallerDep, contact_id: RecordId, body: ContactChange,
                   if_match: IfMatch = None) -> Response:
    return update(request, who, if_match,
                  lambda session, version: services.update_contact(
                      session, who.actor, contact_id, version, body.model_dump(exclude_unset=True)),
                  lambda session: queries.contact(session, who.actor, contact_id))


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact (needs If-Match)")
def delete_contact(who: CallerDep, contact_id: RecordId, if_match: IfMatch = None) -> Response:
    version = expected_version(if_match)
    with who.work() as session:
        services.delete_contact(session, who.actor, contact_id, version)
    return Response(status_code=204)


# -- a contact's lists of e-mail addresses and phone numbers --------------------------------

class EmailIn(BaseModel):
    address: Words = None
    kind: Words = None
    primary: bool = Field(default=False, description="Make it the contact's primary address (its `email`).")


class PhoneIn(BaseModel):
    number: Words = None
    kind: Words = None
    primary: bool = Field(default=False, description="Make it the contact's primary number (its `phone`).")


class EmailChange(BaseModel):
    """Only the fields sent are changed; `primary` true makes it the primary one."""

    address: Words = None
    kind: Words = None
    primary: bool | None = None


class PhoneChange(BaseModel):
    """Only the fields sent are changed; `primary` true makes it the primary one."""

    number: Words = None
    kind: Words = None
    primary: bool | None = None


def _add(request: Request, who: Any, which: str, contact_id: int, body: BaseModel, key: str | None,
         digest: str) -> Response:
    data = body.model_dump()
    value = data.pop("address" if which == "email" else "number")

    def make(session: Any) -> dict[str, Any]:
        entry = channels.add_entry(session, who.actor, which, contact_id, value, data["kind"], data["primary"])
        return queries.entry(session, who.actor, which, entry.id)

    return create(request, who, key, digest, make)


def _change(request: Request, who: Any, which: str, contact_id: int, entry_id: int, changes: dict[str, Any],
            if_match: str | None) -> Response:
    if "primary" in changes:
        changes["is_primary"] = changes.pop("primary")
    return update(request, who, if_match,
                  lambda session, version: channels.change_entry(session, who.actor, which, entry_id, version,
                                                                 changes, of_contact=contact_id),
                  lambda session: queries.entry(session, who.actor, which, entry_id, contact_id))


def _remove(who: Any, which: str, contact_id: int, entry_id: int, if_match: str | None) -> Response:
    version = expected_version(if_match)
    with who.work() as session:
        channels.remove_entry(session, who.actor, which, entry_id, version, of_contact=contact_id)
    return Response(status_code=204)


def _list_routes(which: str, plural: str, what: str, many: str, body_in: type[BaseModel], body_change: type[BaseModel]) -> None:
    """The routes of one of a contact's lists (`/contacts/{id}/emails`, `/contacts/{id}/phones`)."""
    def add(request: Request, who: CallerDep, contact_id: RecordId, body: BaseModel, key: IdempotencyKey = None,
            digest: Digest = "") -> Response:
        return _add(request, who, which, contact_id, body, key, digest)

    def change(request: Request, who: CallerDep, contact_id: RecordId, entry_id: RecordId, body: BaseModel,
               if_match: IfMatch = None) -> Response:
        return _change(request, who, which, contact_id, entry_id, body.model_dump(exclude_unset=True), if_match)

    def primary(request: Request, who: CallerDep, contact_id: RecordId, entry_id: RecordId,
                if_match: IfMatch = None) -> Response:
        return _change(request, who, which, contact_id, entry_id, {"primary": True}, if_match)

    def remove(who: CallerDep, contact_id: RecordId, entry_id: RecordId, if_match: IfMatch = None) -> Response:
        return _remove(who, which, contact_id, entry_id, if_match)

    add.__annotations__["body"], change.__annotations__["body"] = body_in, body_change   # each list's own body
    field = "email" if which == "email" else "phone"
    router.post(f"/{{contact_id}}/{plural}", status_code=201, name=f"add_{which}",
                summary=f"Add {what} to a contact (the first one, or with primary, is its `{field}`)")(add)
    router.patch(f"/{{contact_id}}/{plural}/{{entry_id}}", name=f"change_{which}",
                 summary=f"Change one of a contact's {many} (needs If-Match)")(change)
    router.post(f"/{{contact_id}}/{plural}/{{entry_id}}/primary", name=f"primary_{which}",
                summary=f"Make {what} the contact's primary one (needs If-Match)")(primary)
    router.delete(f"/{{contact_id}}/{plural}/{{entry_id}}", status_code=204, name=f"remove_{which}",
                  summary=f"Remove {what} from a contact's list (needs If-Match)")(remove)


_list_routes("email", "emails", "an e-mail address", "e-mail addresses", EmailIn, EmailChange)
_list_routes("phone", "phones", "a phone number", "phone numbers", PhoneIn, PhoneChange)
