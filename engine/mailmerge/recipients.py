"""Who a mail merge goes to, and what each letter or e-mail may say about them.

`select(session, actor, selection, **options)` gives the recipients of a named selection and
the contacts left out, each with the reason. Selections are registered by the modules
switched on (`engine.registry`): mail brings `tag` and `sheet`, the ledger `overdue`:

    overdue        customers with posted sales invoices more than `days` days past due on
                   `as_of` (default today): one recipient per customer, with those invoices
                   (`engine.ledger.selections`; absent when the ledger is switched off)
    tag            contacts whose tags include `tag`
    sheet          the contacts listed in a workbook sheet (`path`, `sheet`): the "ID" column
                   of the Organisations or People sheet of a Contacts workbook, otherwise a
                   "Contact ID" column, or in a Backoffice workbook the "Contact" column
                   (contacts by name, as its drop-down offers them); each row's cells are in
                   the context as `row`
    suppliers-with-nonconformances   needs the quality module, which is not built yet

Contacts who opted out of mailings are left out and listed ("opted out"). A contact without
an e-mail address is still a recipient, with `email` None: they get a printed letter. A
contact with neither an e-mail address nor a postal address cannot be reached and is listed.

Every recipient's context holds:

    contact   id, kind, name, first_name, last_name, organisation (a person's organisation;
              an organisation's own name), job_title, email, phone, country (ISO code),
              country_name: as the reader's roles may see them (field policies)
    address   the postal address block, lines laid out for the address's country
              (billing address first, then shipping, then a person's organisation's)
    sender    name, email, phone, address (lines): who the letters come from (`sender=`)
    today     the date of the merge
    plus, for `overdue`: invoices (number, issued_on, due_on, gross, open_amount [Decimal],
    days_overdue), total_overdue (Decimal), currency, as_of, days; for `tag`: tag; for
    `sheet`: row ({column header: cell value}) and sheet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session, selectinload

from engine import registry
from engine.config import Settings, WorkbookLimits
from engine.contacts.models import Contact
from engine.contacts.sheets import contact_choices
from engine.errors import BackofficeError, UnusableInput, ValidationFailed
from engine.mailmerge.addresses import address_block, country_name
from engine.office.xlsx_guard import check_package, open_calamine, read_rows, too_large
from engine.office.xlsx_text import TextBudget
from engine.problems import Problem
from engine.security import gate
from engine.security.roles import Actor
from engine.sheets.labels import LabelError, Labels
from engine.sheets.meta import ID, MAGIC, META_SHEET

NOT_BUILT = "suppliers-with-nonconformances"
OPTED_OUT = "opted out"
UNREACHABLE = "no e-mail address and no postal address"
CONTACT_SHEETS = ("Organisations", "People")
CONTACT_ID = "Contact ID"
CONTACT = "Contact"          # a Backoffice workbook's column of contacts by name


@dataclass
class Recipient:
    contact_id: int
    name: str
    email: str | None            # None: gets a printed letter
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    contact_id: int | None       # None: a sheet row naming no contact that exists
    name: str
    reason: str


def select(session: Session, actor: Actor, selection: str, **options: Any) -> tuple[list[Recipient], list[Skipped]]:
    """The recipients of `selection` (see the module's docstring) and the contacts left out.

    Options for every selection: `today` (date, default today), `sender` (a mapping with
    name, email, phone and address lines), `from_country` (the sender's ISO country: an
    address abroad gets its country's name as last line; None: every address does).
    `overdue`: `days` (default 0), `as_of` (default today), `currency` (default "EUR").
    `tag`: `tag`. `sheet`: `path`, `sheet`, `limits` (WorkbookLimits for hostile files).
    """
    actor.require("read", "contacts")
    common = {k: options.pop(k, None) for k in ("today", "sender", "from_country")}
    if selection == NOT_BUILT:
        raise BackofficeError("the selection 'suppliers-with-nonconformances' needs the quality module "
                              f"(nonconformances), which is not built yet; choose from {_choices()}")
    chosen = registry.current().selection_named(selection)
    if chosen is None:
        off = registry.current().switched_off("selections", selection)
        why = f" (the {off} module, which brings it, is switched off)" if off else ""
        raise BackofficeError(f"there is no selection {selection!r}{why}; choose from {_choices()}")
    unknown = sorted(set(options) - set(chosen.options))
    if unknown:
        raise BackofficeError(f"the selection {selection!r} has no option {', '.join(unknown)}; "
                              f"it takes {', '.join(chosen.options)}")
    picked, left_out = registry.load(chosen.target)(session, actor, **options)
    contacts = {c.id: c for c in _contacts(session, [contact_id for contact_id, _ in picked])}
    found = [(contacts[contact_id], extra) for contact_id, extra in picked if contact_id in contacts]
    return _recipients(actor, (found, [Skipped(*s) for s in left_out]), **common)


def selections() -> list[str]:
    """The selections of the modules switched on."""
    return [s.name for s in registry.current().selections]


def options_of(selection: str) -> tuple[str, ...]:
    """The options a selection takes (none for a selection that is not there)."""
    chosen = registry.current().selection_named(selection)
    return chosen.options if chosen else ()


def _choices() -> str:
    names = selections()
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names) or "none"


# -- mail's own selections: (contact id, the context it adds) in the order the letters go out ------
# (A selection of another module, such as the ledger's `overdue`, has the same signature.)

Picked = list[tuple[int, dict[str, Any]]]
LeftOut = list[tuple[int | None, str, str]]          # (contact id, name, reason)
# What a letter needs: the contact's addresses, and a person's organisation with its addresses.
_WITH_ADDRESSES = (selectinload(Contact.addresses),
                   selectinload(Contact.organisation).selectinload(Contact.addresses))


def tagged(session: Session, actor: Actor, tag: str | None = None) -> tuple[Picked, LeftOut]:
    wanted = (tag or "").strip().lower()
    if not wanted or "," in wanted or ";" in wanted:
        raise BackofficeError(f"tag {tag!r}: name one tag, e.g. tag=vip")
    query = (sql_select(Contact.id, Contact.tags).where(Contact.tags.contains(wanted, autoescape=True))
             .order_by(Contact.name, Contact.id))
    picked = [(contact_id, {"tag": wanted}) for contact_id, tags in session.execute(query)
              if wanted in {t.strip() for t in (tags or "").split(",")}]    # a whole tag, not part of one
    return picked, []


MAX_CHOSEN = 5000   # contacts named one by one (the add-in's selected rows)


def chosen(session: Session, actor: Actor, ids: list[int] | None = None) -> tuple[Picked, LeftOut]:
    """The contacts named by id, in the order given (the rows selected in a workbook): each
    once, and an id naming no contact left out with the reason."""
    if not ids:
        raise BackofficeError("the selection 'contacts' needs contact ids, e.g. contacts:12,15")
    if len(ids) > MAX_CHOSEN:
        raise BackofficeError(f"{len(ids)} contacts named one by one, over {MAX_CHOSEN}: choose them by tag instead")
    wanted = list(dict.fromkeys(ids))
    known: set[int] = set()
    for start in range(0, len(wanted), 500):           # (a database takes only so many parameters)
        known.update(session.scalars(sql_select(Contact.id).where(Contact.id.in_(wanted[start:start + 500]))))
    return ([(contact_id, {}) for contact_id in wanted if contact_id in known],
            [(contact_id, f"contact {contact_id}", f"there is no contact {contact_id}")
             for contact_id in wanted if contact_id not in known])


def from_sheet(session: Session, actor: Actor, path: str | Path | None = None, sheet: str | None = None,
               limits: WorkbookLimits | None = None) -> tuple[Picked, LeftOut]:
    if not path or not sheet:
        raise BackofficeError("the selection 'sheet' needs a workbook and a sheet name, e.g. path=list.xlsx "
                              "sheet=People")
    path = Path(path)
    rows, column = _sheet_rows(path, sheet, limits or WorkbookLimits())
    headers = [_header(v) for v in rows[0]]
    # a Backoffice workbook's Contact column names contacts by their labels (engine.sheets.labels)
    labels = Labels(contact_choices(session)) if headers[column] == CONTACT else None
    wanted: dict[int, tuple[int, dict[str, Any]]] = {}     # contact id -> (Excel row, the row's cells)
    rejected: LeftOut = []
    for number, row in enumerate(rows[1:], start=2):
        raw = row[column] if column < len(row) else None
        if raw in (None, ""):
            continue                                      # a blank row
        if labels is not None:
            try:
                contact_id = labels.resolve(str(raw).strip(), CONTACT)
            except LabelError as exc:
                rejected.append((None, f"row {number}", f"{sheet} row {number}: {exc}"))
                continue
        else:
            contact_id = _contact_id(raw)
        if contact_id is None:
            rejected.append((None, f"row {number}", f"{sheet} row {number}: {raw!r} is not a contact ID"))
            continue
        if contact_id in wanted:
            rejected.append((contact_id, f"row {number}",
                             f"{sheet} row {number}: contact {contact_id} is listed already in row "
                             f"{wanted[contact_id][0]}; they get one letter"))
            continue
        cells = {h: _cell(v) for h, v in zip(headers, row, strict=False) if h}
        wanted[contact_id] = (number, cells)
    known = set()
    ids = list(wanted)
    for start in range(0, len(ids), 500):           # (a database takes only so many parameters)
        known.update(session.scalars(sql_select(Contact.id).where(Contact.id.in_(ids[start:start + 500]))))
    picked: Picked = []
    for contact_id, (number, cells) in wanted.items():     # in the sheet's order
        if contact_id not in known:
            rejected.append((contact_id, f"row {number}", f"{sheet} row {number}: there is no contact {contact_id}"))
            continue
        picked.append((contact_id, {"row": cells, "sheet": sheet}))
    return picked, rejected


def _sheet_rows(path: Path, sheet: str, limits: WorkbookLimits) -> tuple[list[list[Any]], int]:
    """The sheet's rows (through the guard that refuses hostile files) and the index of the
    column holding contact IDs."""
    package = check_package(path, limits)
    if sheet not in package.sheet_names:
        shown = [n for n in package.sheet_names if not n.startswith("_")]
        raise UnusableInput(path, f"it has no sheet {sheet!r}; its sheets are {', '.join(shown)}")
    with TextBudget(path, limits.max_text_bytes) as budget:
        for counted in (META_SHEET, sheet):
            if counted in package.sheet_parts:
                budget.charge(counted, package.sheet_parts[counted])
    book = open_calamine(path, package)
    try:
        module = None
        if META_SHEET in package.sheet_names:
            meta = read_rows(path, book, META_SHEET, skip_empty_area=False)
            if meta and meta[0] and meta[0][0] == MAGIC:
                module = next((r[1] for r in meta if len(r) > 1 and r[0] == "module"), None)
        rows = read_rows(path, book, sheet, skip_empty_area=False, limits=limits)
    finally:
        book.close()
    if len(rows) > limits.max_rows:
        raise UnusableInput(path, too_large(sheet, f"{len(rows)} rows", limits, rows=len(rows)))
    headers = [_header(v) for v in (rows[0] if rows else [])]
    label = ID if module == "contacts" and sheet in CONTACT_SHEETS else CONTACT_ID
    if label == CONTACT_ID and label not in headers and module is not None and CONTACT in headers:
        label = CONTACT
    if label not in headers:
        where = "" if label == ID else (" (the ID column of a Contacts workbook's Organisations or People "
                                        "sheet also works)")
        raise UnusableInput(path, f"sheet {sheet!r} has no {label!r} column in its first row: "
                                  f"add one holding the contact IDs{where}")
    return rows, headers.index(label)


def _header(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _cell(value: Any) -> Any:
    """A cell as a template shows it: whole numbers without ".0", dates without a time of 0:00."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _contact_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value > 0 else None
    text = str(value).strip().lstrip("#")
    return int(text) if text.isdigit() and int(text) > 0 else None


def _contacts(session: Session, ids: Iterable[int]) -> list[Contact]:
    """The contacts with these ids, with their addresses and organisation."""
    ids = list(ids)
    contacts: list[Contact] = []
    for start in range(0, len(ids), 500):           # (a database takes only so many parameters)
        contacts += session.scalars(
            sql_select(Contact).where(Contact.id.in_(ids[start:start + 500])).options(*_WITH_ADDRESSES))
    return contacts


# -- from contacts to recipients -------------------------------------------------------------------

def _recipients(actor: Actor, found: tuple[list[tuple[Contact, dict[str, Any]]], list[Skipped]], today: date | None = None,
                sender: Mapping[str, Any] | None = None,
                from_country: str | None = None) -> tuple[list[Recipient], list[Skipped]]:
    contacts, skipped = found
    skipped = list(skipped)
    today = today or date.today()
    sender_context = sender_fields(**dict(sender or {}))
    recipients = []
    for contact, extra in contacts:
        if contact.opt_out:
            skipped.append(Skipped(contact.id, contact.name, OPTED_OUT))
            continue
        address = postal_address(contact)
        if not contact.email and address is None:
            skipped.append(Skipped(contact.id, contact.name, UNREACHABLE))
            continue
        context = {
            "contact": contact_fields(actor, contact),
            "address": address_block(contact, address, from_country),
            "sender": sender_context,
            "today": today,
            **extra,
        }
        recipients.append(Recipient(contact.id, contact.name, contact.email or None, context))
    return recipients, skipped


def postal_address(contact: Contact):
    """Where a letter to `contact` goes: their billing address, else their shipping address,
    else (a person) their organisation's billing or shipping address."""
    for owner in (contact, contact.organisation if contact.kind == "person" else None):
        if owner is None:
            continue
        for kind in ("billing", "shipping"):
            for address in owner.addresses:
                if address.kind == kind:
                    return address
    return None


def contact_fields(actor: Actor, contact: Contact) -> dict[str, Any]:
    """The merge fields of a contact, without those the actor's roles may not see."""
    organisation = contact.organisation.name if contact.kind == "person" and contact.organisation else None
    values = {
        "id": contact.id, "kind": contact.kind, "name": contact.name, "first_name": contact.first_name,
        "last_name": contact.last_name, "job_title": contact.job_title, "email": contact.email,
        "phone": contact.phone, "country": contact.country, "tags": contact.tags,
    }
    values = {k: v for k, v in values.items() if k not in gate.hidden_fields(actor, "contacts")}
    values["organisation"] = organisation if contact.kind == "person" else contact.name
    if "country" in values:
        values["country_name"] = country_name(contact.country)
    return values


def sender_fields(name: str = "", email: str = "", phone: str = "", address: Iterable[str] = (),
                  **other: Any) -> dict[str, Any]:
    """Who the letters come from, as templates use it (`sender.name`, `sender.address`, ...)."""
    return {"name": name or "", "email": email or "", "phone": phone or "",
            "address": [line for line in address if line], **other}


TRANSPORTS = ("outbox", "smtp", "ews", "graph")


def transport_of(settings: Settings, via: str | None) -> str:
    """The transport asked for (`--via`; default: the `mail.transport` setting), if it is one."""
    transport = via or settings.mail.transport
    if transport not in TRANSPORTS:
        raise BackofficeError(f"--via {transport!r}: choose one of {', '.join(TRANSPORTS)}")
    return transport


def selection_of(to: str, days: int, as_of: str | None, files: bool = True) -> tuple[str, dict[str, Any]]:
    """`--to` as typed -> (selection name, its options). `files`: whether a workbook on this
    computer may be named (`sheet:FILE.xlsx#SHEET`); over HTTP it may not, as the file would
    be the server's."""
    name, _, rest = to.partition(":")
    if name == "overdue":
        return name, {"days": days, **({"as_of": as_of} if as_of else {})}
    if name == "tag" and rest:
        return name, {"tag": rest}
    if name == "contacts" and rest:
        try:
            return name, {"ids": [int(part) for part in rest.replace(";", ",").split(",") if part.strip()]}
        except ValueError:
            raise BackofficeError(f"--to {to!r}: name contacts by their ids, e.g. contacts:12,15") from None
    if name == "sheet" and rest and not files:
        raise ValidationFailed([Problem("to", "invalid", "a selection from a workbook names a file on the "
                                        "computer that runs the merge, which over HTTP is the server: choose "
                                        "overdue, tag:TAG or another selection")])
    if name == "sheet" and rest:
        path, _, sheet = rest.partition("#")
        return name, {"path": str(Path(path).resolve()), **({"sheet": sheet} if sheet else {})}
    if not rest:            # recipients.select says whether there is such a selection
        declared = registry.current().selection_named(name)     # (admin's overdue-tasks takes --days too)
        taken = declared.options if declared else ()
        return name, {k: v for k, v in (("days", days), ("as_of", as_of)) if k in taken and v is not None}
    raise BackofficeError(f"--to {to!r} is not a selection; use overdue (with --days), tag:TAG, "
                          f"contacts:ID,ID, sheet:FILE.xlsx#SHEET, or one of: {', '.join(selections())}")
