"""`backoffice contacts ...`: add, list and show contacts from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli_support import (
    JsonOption,
    UserOption,
    acting_as,
    fetch,
    handles_errors,
    new_table,
    out,
    print_json,
    say_warning,
    settings,
)
from engine.contacts import channels, erasure, export, queries, services
from engine.contacts.models import EMAIL_KINDS, PHONE_KINDS
from engine.db.json_values import dump_json
from engine.office.files import write_private

contacts_app = typer.Typer(help="The shared contacts: organisations and people.", no_args_is_help=True)

Text = Annotated[str | None, typer.Option()]


@contacts_app.command("add")
@handles_errors
def add(
    kind: Annotated[str, typer.Option(help="organisation or person")],
    country: Annotated[str, typer.Option(help="ISO country code, e.g. GB")],
    name: Annotated[str | None, typer.Option(help="Organisation name.")] = None,
    first_name: Text = None,
    last_name: Text = None,
    organisation: Annotated[int | None, typer.Option(help="Id of the organisation a person belongs to.")] = None,
    job_title: Text = None,
    email: Text = None,
    phone: Text = None,
    website: Text = None,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags.")] = None,
    opt_out: Annotated[bool, typer.Option("--opt-out", help="Never send mailings.")] = False,
    line1: Annotated[str | None, typer.Option(help="Billing address: street.")] = None,
    city: Text = None,
    postcode: Text = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Add an organisation or a person (warns about possible duplicates)."""
    data = {
        "kind": kind, "name": name, "first_name": first_name, "last_name": last_name,
        "organisation_id": organisation, "job_title": job_title, "email": email, "phone": phone,
        "website": website, "country": country, "tags": tags, "opt_out": opt_out,
    }
    addresses = []
    if line1 or city or postcode:
        addresses.append({"kind": "billing", "line1": line1, "city": city, "postcode": postcode,
                          "country": country})
    with acting_as(user) as (_db, actor, session):
        contact, duplicates = services.add_contact(session, actor, data, addresses)
        result = services.as_dict(contact)
    result["possible_duplicates"] = [d.__dict__ for d in duplicates]
    if as_json:
        print_json(result)
        return
    out.print(f"added contact #{result['id']}: {result['name']}")
    for d in duplicates:
        say_warning(f"looks like #{d.contact_id} {d.name} ({d.reason})")


@contacts_app.command("list")
@handles_errors
def list_(
    kind: Annotated[str | None, typer.Option(help="organisation or person")] = None,
    search: Annotated[str | None, typer.Option(help="Part of a name or e-mail.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only contacts with this tag.")] = None,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """List contacts."""
    found = fetch(user, lambda session, actor: queries.contacts(session, actor, kind=kind, search=search, tag=tag),
                  ("/contacts", {"kind": kind, "search": search, "tag": tag}))
    rows = [{k: c.get(k) for k in ("id", "kind", "name", "email", "country", "organisation_id", "tags", "opt_out")}
            for c in found]
    if as_json:
        print_json(rows)
        return
    table = new_table("id", "kind", "name", "e-mail", "country", "tags")
    for r in rows:
        table.add_row(str(r["id"]), r["kind"], r["name"], r["email"] or "", r["country"] or "", r["tags"] or "")
    out.print(table)
    out.print(f"{len(rows)} contacts")


@contacts_app.command("show")
@handles_errors
def show(contact_id: int, as_json: JsonOption = False, user: UserOption = None) -> None:
    """Show one contact with its addresses, e-mail addresses and phone numbers."""
    data = fetch(user, lambda session, actor: queries.contact(session, actor, contact_id),
                 (f"/contacts/{contact_id}", None))
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key not in ("addresses", "emails", "phones") and value not in (None, ""):
            out.print(f"{key:>16}: {value}")
    for a in data["addresses"]:
        out.print(f"{a['kind']:>16}: {a['line1']}, {a['postcode'] or ''} {a['city']}, {a['country']}")
    for key, field in (("emails", "address"), ("phones", "number")):
        for n, entry in enumerate(data.get(key) or (), 1):
            label = key[:-1].replace("email", "e-mail") if n == 1 else ""
            mark = ", primary" if entry["primary"] else ""
            out.print(f"{label:>16}{':' if label else ' '} {entry[field]} ({entry['kind']}{mark})")


@contacts_app.command("export")
@handles_errors
def export_(
    contact_id: int,
    out_file: Annotated[Path, typer.Option("--out", help="The JSON file to write (readable by you only).")],
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Everything held about a person, across modules, in one JSON file (a data-subject request).

    Needs a role that can data-requests; the export is recorded in the audit log.
    """
    with acting_as(user) as (_db, actor, session):
        document = export.export_contact(session, actor, contact_id)
    write_private(out_file, dump_json(document).encode())
    result = {"contact_id": contact_id, "file": str(out_file),
              "tables": {table: len(rows) for table, rows in document["tables"].items()},
              "audit_entries": len(document["audit_log"])}
    if as_json:
        print_json(result)
        return
    out.print(f"exported contact #{contact_id} to {out_file}: "
              + ", ".join(f"{n} {table}" for table, n in result["tables"].items())
              + f", {result['audit_entries']} audit entries", soft_wrap=True)


@contacts_app.command("erase")
@handles_errors
def erase(
    contact_id: int,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed and kept; change nothing.")]
    = False,
    as_json: JsonOption = False,
    user: UserOption = None,
) -> None:
    """Erase a person's data once nothing holds it, and say what is kept and why.

    Refused while an invoice, payment, employee record or opportunity of theirs is open. Their name and
    billing address stay while the books naming them are within ledger.retention_years. Needs a role
    that can data-requests; the erasure is recorded in the audit log.
    """
    years = settings().ledger.retention_years
    with acting_as(user) as (_db, actor, session):
        result = erasure.erase_contact(session, actor, contact_id, years, dry_run=dry_run)
    if as_json:
        print_json(result)
        return
    done = "removed" if result["erased"] else "would remove"
    out.print(f"contact #{contact_id} erased, now {result['now']}" if result["erased"] else
              f"dry run, nothing changed: contact #{contact_id} would become {result['now']}")
    for r in result["removed" if result["erased"] else "would_remove"]:
        out.print(f"  {done}: {r['what']} ({r['records']} in {r['table']}, {r['action']})", soft_wrap=True)
    for k in result["kept"]:
        out.print(f"  kept: {k['what']} ({k['table']}): {k['reason']}", soft_wrap=True)


# -- a contact's lists: `contacts email ...` and `contacts phone ...` -----------------------

ContactArg = Annotated[int, typer.Argument(metavar="CONTACT", help="The contact's id.")]
ValueArg = Annotated[str, typer.Argument(metavar="VALUE", help="The e-mail address or phone number.")]


KindOption = Annotated[str, typer.Option(help=f"E-mail: {', '.join(EMAIL_KINDS)}; phone: {', '.join(PHONE_KINDS)}.")]
PrimaryFlag = Annotated[bool, typer.Option("--primary", help="Make it the primary one.")]


def _list_app(which: str, value: str) -> typer.Typer:
    """The commands of one list (`contacts email` or `contacts phone`): add, remove, primary."""
    app = typer.Typer(help=f"A contact's {value}s (one is primary: the contact's {which}).", no_args_is_help=True)

    def report(entry: dict, what: str, as_json: bool) -> None:
        if as_json:
            print_json(entry)
            return
        mark = ", primary" if entry["primary"] else ""
        out.print(f"{what} {entry[channels.channel(which).value]} ({entry['kind']}{mark}) "
                  f"of contact #{entry['contact_id']}")

    @app.command("add")
    @handles_errors
    def add(contact: ContactArg, text: ValueArg,
            kind: KindOption = channels.DEFAULT_KIND, primary: PrimaryFlag = False,
            as_json: JsonOption = False, user: UserOption = None) -> None:
        """Add an entry to a contact's list (the first one is primary)."""
        with acting_as(user) as (_db, actor, session):
            entry = channels.add_entry(session, actor, which, contact, text, kind, primary)
            result = channels.entry_dict(channels.channel(which), entry)
        report(result, "added", as_json)

    @app.command("remove")
    @handles_errors
    def remove(contact: ContactArg, text: ValueArg, as_json: JsonOption = False, user: UserOption = None) -> None:
        """Remove an entry (if it was primary, the oldest remaining one becomes primary)."""
        with acting_as(user) as (_db, actor, session):
            entry = channels.find_entry(session, actor, which, contact, text)
            result = channels.entry_dict(channels.channel(which), entry)
            left = channels.remove_entry(session, actor, which, entry.id)
            result["now_primary"] = getattr(left, which)
        if as_json:
            print_json(result)
            return
        report(result, "removed", False)
        out.print(f"primary {value}: {result['now_primary'] or '(none)'}")

    @app.command("primary")
    @handles_errors
    def primary_(contact: ContactArg, text: ValueArg, as_json: JsonOption = False, user: UserOption = None) -> None:
        """Make an entry the contact's primary one (the one letters and e-mails use)."""
        with acting_as(user) as (_db, actor, session):
            entry = channels.make_primary(session, actor, which,
                                          channels.find_entry(session, actor, which, contact, text).id)
            result = channels.entry_dict(channels.channel(which), entry)
        report(result, "primary:", as_json)

    return app


contacts_app.add_typer(_list_app("email", "e-mail address"), name="email")
contacts_app.add_typer(_list_app("phone", "phone number"), name="phone")
