"""The field check of mail templates (engine.mailmerge.fields): which lookups of the data a
template makes, and which of them no recipient has. And the header check of messages: every
character a mail program may take for a line break is refused, each naming its header."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import ValidationFailed
from engine.mailmerge.fields import UnknownFields, check_fields, template_uses, uses
from engine.mailmerge.message import Outgoing, build_message, header_problems, visible
from engine.mailmerge.templates import MailTemplate, mail_environment

CONTEXT = {"contact": {"name": "Ann", "kind": "person", "organisation": None},
           "invoices": [{"number": "INV-1", "open_amount": Decimal("5.00")}],
           "sender": {"name": "Widget Works", "address": ["9 Mill Lane", "YORK"]},
           "row": {"Region": "North"}, "today": date(2026, 3, 4), "currency": "EUR"}


def unknown(source: str, contexts=(CONTEXT,)) -> list[str]:
    environment = mail_environment(html=False)
    used = uses(environment.parse(source), "body", "t/body.txt", environment)
    try:
        check_fields("t", "tag", used, list(contexts))
    except UnknownFields as refused:
        return [u.field for u in refused.unknown]
    return []


@pytest.mark.parametrize("source", [
    "{{ contact.name }} {{ contact.organisation }} {{ today | longdate }} {{ total | default(0) if total is defined }}",
    "{% for i in invoices %}{{ i.number }} {{ i.open_amount | money(currency) }} {{ loop.index }}{% endfor %}",
    "{% for line in sender.address %}{{ line.upper() }}{% endfor %}{{ invoices | length }}",
    '{{ row["Region"] }} {% set x = contact.name %}{{ x.title() }} {{ range(3) | list }}',
    "{% for k, v in row.items() %}{{ k }}={{ v }}{% endfor %}{{ contact.name.upper() }}",
    "{% macro greet(who) %}Dear {{ who.name }}{% endmacro %}{{ greet(contact) }}",
])
def test_fields_the_recipients_have_pass(source):
    assert unknown(source) == []


@pytest.mark.parametrize(("source", "wrong"), [
    ("{{ contact.nmae }}", ["contact.nmae"]),
    ("{% for i in invoices %}{{ i.numbr }}{% endfor %}", ["invoices[].numbr"]),
    ('{{ row["Regoin"] }}', ['row["Regoin"]']),
    ("{{ totl | money(currency) }} {{ contact.name if contact.knd == 'person' }}", ["totl", "contact.knd"]),
    ("{{ sender.addres[0] }}", ["sender.addres"]),
])
def test_a_field_no_recipient_has_is_named(source, wrong):
    assert unknown(source) == wrong


def test_a_field_any_recipient_has_passes_and_with_no_recipients_there_is_nothing_to_check():
    assert unknown("{{ contact.email }}", [CONTEXT, {**CONTEXT, "contact": {"email": "a@b.example"}}]) == []
    assert unknown("{{ anything.at.all }}", []) == []


def test_the_standard_templates_use_only_fields_their_selection_provides():
    reminder = template_uses(MailTemplate.load("overdue_reminder"))
    assert {u.part for u in reminder} == {"subject", "body", "letter"}
    assert ("invoices", "[]", "number") in {u.path for u in reminder}
    where = {(u.source, u.line) for u in reminder if u.path == ("total_overdue",)}
    assert ("overdue_reminder/subject.txt", 1) in where and ("letters/overdue_reminder.docx", None) in where


def outgoing(**change) -> Outgoing:
    return Outgoing(**({"sender": "a@widget.example", "sender_name": "Widget Works", "to": "ann@example.org",
                        "to_name": "Ann", "subject": "Hello", "text": "Hi", "message_id": "<m.1@widget.example>"}
                       | change))


@pytest.mark.parametrize("bad", ["\u2028", "\u2029", "\r", "\n", "\x85", "\x0b", "\x1b", "\x7f"])
@pytest.mark.parametrize("header", ["to_name", "subject", "sender_name"])
def test_every_kind_of_line_break_in_a_header_is_refused_naming_the_header(bad, header):
    value = f"Ann{bad}Bcc: all@example.net"
    [problem] = header_problems(outgoing(**{header: value}))
    assert (problem.field, problem.code) == (header, "line_break")
    assert f"U+{ord(bad):04X}" in problem.message
    with pytest.raises(ValidationFailed):
        build_message(outgoing(**{header: value}))
    assert visible(value) == f"Ann\\u{ord(bad):04x}Bcc: all@example.net"


def test_other_unicode_in_headers_is_kept():
    message = build_message(outgoing(to_name="Zoë Ø’Brien\u200b", subject="Grüße, 5 €"))
    assert message["To"].addresses[0].display_name == "Zoë Ø’Brien\u200b"
    assert str(message["Subject"]) == "Grüße, 5 €"
