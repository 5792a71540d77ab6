"""The monthly management pack: every module's part of the month, for one reader.

Each module that has something to say about a month registers a section
(`registry.pack_section`) built from its own queries; the pack puts them in order behind a
cover and the key figures they bring. What the reader may not read is left out with a note
in its place (the module's area in roles.toml, or the module's own refusal), and so is a
section whose module is switched off: the pack of an accountant has no salaries, because
the staff section shows aggregates only and the policy gate decides the rest.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine import registry
from engine.errors import PermissionDenied
from engine.office.locale import Formatter
from engine.office.report_body import Body, Month, Section, reader_name
from engine.reports.render import organisation
from engine.security.roles import Actor


def sections_for(session: Session, actor: Actor, period: Month) -> tuple[list[Section], list[str]]:
    """The sections of the pack `actor` may read, in order, and a note for each left out."""
    found: list[Section] = []
    notes: list[str] = []
    current = registry.current()
    for part in sorted(current.pack_sections, key=lambda p: p.order):
        area = part.area or current.modules[part.module].area
        if not actor.may("read", area):
            notes.append(f"{part.title} is left out: your roles do not let you read {area}.")
            continue
        try:
            section = registry.load(part.target)(session, actor, period)
        except PermissionDenied as refused:
            notes.append(f"{part.title} is left out: {str(refused).rstrip('.')}.")
            continue
        if section is not None:
            found.append(section)
    off = current.off.pack_sections if current.off is not None else []
    notes += [f"{part.title} is left out: the {part.module} module is switched off."
              for part in sorted(off, key=lambda p: p.order)]
    return found, notes


def pack_context(session: Session, actor: Actor, period: Month) -> dict[str, Any]:
    """The pack for `period`: its cover (organisation, month, made on and for), the key
    figures of every section, the notes of what was left out, and the sections."""
    fmt = Formatter(organisation(session).locale)
    sections, notes = sections_for(session, actor, period)
    body = Body(sections)
    return {"title": "Management pack", "period": str(period), "period_name": fmt.month(period.year, period.month),
            "made_on": fmt.date(date.today()), "made_for": reader_name(session, actor.login),
            "key_figures": body.key_figures, "notes": notes, "body": body,
            "sections": [s.title for s in sections]}


def pack_summary(context: dict[str, Any]) -> dict[str, Any]:
    """What the doors say of a pack written: its month, its sections, and what was left out."""
    left_out, count = len(context["notes"]), len(context["sections"])
    return {"line": f"management pack {context['period']}, {count} section{'' if count == 1 else 's'}"
                    + (f" ({left_out} left out: see its first page)" if left_out else ""),
            "sections": context["sections"], "left_out": context["notes"]}
