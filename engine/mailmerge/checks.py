"""What `backoffice mail fields` and `mail check` tell, before anything is merged: the fields a
template may use, each with a sample value, and every problem of a template at once (a field
the recipients do not have, with where it is; what no template may do).

The fields and samples come from the selection's recipients on the current database, as a
merge would fill them in for the acting user (a field their roles may not see is not there).
With no selection named, or a selection nobody is in now, they come from `SAMPLE`: the
fields every recipient has (contact, address, sender, today) and, with no selection named,
those of every standard selection (overdue, tag, sheet, overdue-tasks), so a template is
checked against any of them; name the selection to check against it alone.

TEMPLATE is a mail template (templates/mail/NAME/ and its letter templates/letters/NAME.docx)
or a letter being edited, given as a path to its .docx (checked alone, before it is put in
place).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config import Settings
from engine.db.session import Database
from engine.errors import BackofficeError
from engine.mailmerge import recipients as chosen
from engine.mailmerge.fields import (
    letter_reading,
    template_problems,
    template_uses,
    unsafe_constructs,
)
from engine.mailmerge.runs import select_recipients
from engine.mailmerge.templates import MailTemplate, MailTemplateError, has_letter, letter_path
from engine.office.template_fields import TemplateProblem, fields_with_samples, spelled, word_name
from engine.office.word_fields import has_merge_fields
from engine.security.roles import Actor

SAMPLE: dict[str, Any] = {
    "contact": {"id": 12, "kind": "person", "name": "Ann Smith", "first_name": "Ann", "last_name": "Smith",
                "organisation": "Acme Ltd", "job_title": "Buyer", "email": "ann@acme.example",
                "phone": "+44 20 7946 0000", "country": "GB", "country_name": "United Kingdom"},
    "address": ["Ann Smith", "Acme Ltd", "1 High Street", "YORK", "YO1 7HH"],
    "sender": {"name": "Widget Works", "email": "office@widget.example", "phone": "+44 20 7946 0999",
               "address": ["9 Mill Lane", "LEEDS", "LS1 4AB"]},
    "today": date(2026, 3, 31),
}
SELECTION_SAMPLES: dict[str, dict[str, Any]] = {
    "overdue": {"invoices": [{"number": "INV-2026-0042", "issued_on": date(2026, 1, 15), "due_on": date(2026, 2, 14),
                              "gross": Decimal("1234.50"), "open_amount": Decimal("1234.50"), "days_overdue": 45}],
                "total_overdue": Decimal("1234.50"), "currency": "EUR", "as_of": date(2026, 3, 31), "days": 30},
    "tag": {"tag": "customers"},
    "sheet": {"row": {"Region": "North"}, "sheet": "Contacts"},
    "overdue-tasks": {"tasks": [{"title": "Send the signed contract", "due_on": date(2026, 3, 20),
                                 "days_overdue": 11, "priority": "high", "owner": "mia"}],
                      "as_of": date(2026, 3, 31), "days": 3},
}


def sample(settings: Settings, selection: str | None) -> dict[str, Any]:
    """The documented sample recipient: the settings' sender if one is set."""
    context = dict(SAMPLE)
    mail = settings.mail
    if mail.sender or mail.sender_name:
        context["sender"] = chosen.sender_fields(mail.sender_name, mail.sender, mail.sender_phone, mail.sender_address)
    extras = SELECTION_SAMPLES.values() if selection is None else [SELECTION_SAMPLES.get(selection, {})]
    for extra in extras:
        context.update(extra)
    return context


def _contexts(db: Database, settings: Settings, actor: Actor, selection: str | None,
              options: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The contexts to list and check against, and where they come from (said to the user)."""
    if selection is None:
        return [sample(settings, None)], "the sample (no selection named: the fields of every selection)"
    with db.reading() as session:
        recipients, _skipped = select_recipients(session, actor, settings, selection, options)
    if recipients:
        return [r.context for r in recipients], f"the {len(recipients)} recipient(s) of {selection} now"
    return [sample(settings, selection)], f"the sample of {selection} (nobody is in it now)"


def _letter_kind(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return "word merge fields" if has_merge_fields(path) else "docxtpl"


def _letter_file(template: str) -> Path | None:
    """A letter being edited, named by its path (TEMPLATE ending in .docx); None for a mail template."""
    if not template.lower().endswith(".docx"):
        return None
    path = Path(template).expanduser()
    if not path.is_file():
        raise BackofficeError(f"there is no file {path}; name a mail template (templates/mail/NAME) or a letter's "
                              ".docx file")
    return path


def template_fields(db: Database, settings: Settings, actor: Actor, template: str, selection: str | None = None,
                    options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields a template may use: as a Jinja template writes each (`field`), as a Word
    merge field names it (`word`; None for a list's items, which a merge field cannot show),
    and a sample value."""
    actor.require("read", "contacts")
    letter = _letter_file(template)
    if letter is None:
        MailTemplate.load(template)              # a misspelt template is named here
        letter = letter_path(template) if has_letter(template) else None
    contexts, origin = _contexts(db, settings, actor, selection, options or {})
    return {"template": template, "selection": selection, "from": origin, "letter": _letter_kind(letter),
            "fields": [{"field": spelled(path), "word": word_name(path), "sample": value}
                       for path, value in fields_with_samples(contexts)]}


def check(db: Database, settings: Settings, actor: Actor, template: str, selection: str | None = None,
          options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every problem of a template, each placed: a field the recipients (or the sample) do not
    have, what no template may do, a syntax error. `ok` when there is none."""
    actor.require("read", "contacts")
    contexts, origin = _contexts(db, settings, actor, selection, options or {})
    letter = _letter_file(template)
    if letter is not None:
        used, refused = letter_reading(letter, letter.name)
    else:
        try:
            mail = MailTemplate.load(template)
        except MailTemplateError as exc:
            if "there is no mail template" in str(exc):
                raise
            return _checked(template, selection, origin, None, [TemplateProblem("", "syntax", str(exc))])
        letter = letter_path(template) if has_letter(template) else None
        used, refused = template_uses(mail), unsafe_constructs(mail)
    problems = template_problems(used, refused, selection or "the sample", contexts)
    return _checked(template, selection, origin, _letter_kind(letter), problems)


def _checked(template: str, selection: str | None, origin: str, letter: str | None,
             problems: list[TemplateProblem]) -> dict[str, Any]:
    return {"template": template, "selection": selection, "from": origin, "letter": letter, "ok": not problems,
            "problems": [p.as_json() for p in problems]}
