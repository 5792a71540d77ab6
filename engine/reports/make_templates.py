"""Write the Word report templates (templates/reports/*.docx) from code.

A docxtpl template is an ordinary .docx whose text holds Jinja tags; it is generated here
rather than edited by hand, so every tag can be reviewed in a diff and the file regenerated
(`backoffice report templates`, or `python -m engine.reports.make_templates`). A user may
restyle a copy in Word and pass it with `--template`: it is rendered in the same sandbox.

docxtpl's tags used here: `{%p ... %}` stands for its whole paragraph, `{%tr ... %}` for its
whole table row (row loops), `{%tc ... %}` for its whole cell (column loops: the columns a
reader may see). What a reader may not see is not in the context at all, so the template only
asks whether it is there (`is defined`) and never decides who sees what.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import nsmap, qn
from docx.shared import Cm, Pt

from engine.office.docx import templates_dir
from engine.reports.page_templates import pack_template, standard_template

FIXED_TIME = datetime(2026, 1, 1)   # the file's own metadata: the same template, the same file


def _table(document, rows: list[list[str]], header: bool = True):
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    if header:   # repeated at the top of every page the table runs onto
        repeat = OxmlElement("w:tblHeader")
        repeat.set(qn("w:val"), "true")
        table.rows[0]._tr.get_or_add_trPr().append(repeat)
    for r, values in enumerate(rows):
        for c, text in enumerate(values):
            cell = table.cell(r, c)
            run = cell.paragraphs[0].add_run(text)
            run.bold = header and r == 0
    return table


def _p(document, text: str, bold: bool = False, size: int | None = None):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    return paragraph


def staff_template() -> Document:
    """The staff report: per department its manager, headcount and employees (date of birth
    and salary only in the context of readers who see them), leave taken in the year, and,
    only for readers who see medical data, sick leave with its medical reasons."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))
    props = document.core_properties
    props.title, props.author, props.last_modified_by = "{{ title }}", "Backoffice", "Backoffice"
    props.comments = "Made by Backoffice"
    props.created = props.modified = FIXED_TIME
    props.revision = 1
    section.footer.paragraphs[0].text = "{{ title }} · made on {{ made_on }} for {{ made_for }}"

    document.add_heading("{{ title }}", 0)
    _p(document, "Made on {{ made_on }} for {{ made_for }}. Covers {{ scope }}.")
    _p(document, "{%p if not departments %}")
    _p(document, "Nobody to report on: {{ scope }} has no employees in {{ year }}.")
    _p(document, "{%p endif %}")

    _p(document, "{%p for d in departments %}")
    document.add_heading("{{ d.name }}", 1)
    _p(document, "Manager: {{ d.manager }}. Headcount: {{ d.headcount }}.")
    _p(document, "{%p if d.employees %}")
    _table(document, [
        ["Number", "Name", "Job title", "Start date", "{%tc for h in extra_columns %}", "{{ h }}", "{%tc endfor %}"],
        ["{%tr for e in d.employees %}", "", "", "", "", "", ""],
        ["{{ e.number }}", "{{ e.name }}", "{{ e.job_title }}", "{{ e.start_date }}",
         "{%tc for v in e.extra %}", "{{ v }}", "{%tc endfor %}"],
        ["{%tr endfor %}", "", "", "", "", "", ""],
    ])
    _p(document, "{%p else %}")
    _p(document, "Nobody worked here in {{ year }}.")
    _p(document, "{%p endif %}")
    document.add_heading("Leave taken in {{ year }}", 2)
    _p(document, "{%p if d.leave %}")
    _table(document, [
        ["Employee", "Leave type", "Days taken", "Days waiting for a decision", "Days left"],
        ["{%tr for x in d.leave %}", "", "", "", ""],
        ["{{ x.employee }}", "{{ x.leave_type }}", "{{ x.taken }}", "{{ x.requested }}", "{{ x.left }}"],
        ["{%tr endfor %}", "", "", "", ""],
    ])
    _p(document, "{%p else %}")
    _p(document, "No leave taken or asked for in {{ year }}.")
    _p(document, "{%p endif %}")
    _p(document, "{%p endfor %}")

    _p(document, "{%p if sick_leave is defined %}")
    document.add_heading("Sick leave and medical reasons", 1)
    _p(document, "Confidential medical data. Handing it to you has been recorded in the audit log.", bold=True)
    _p(document, "{%p if sick_leave %}")
    _table(document, [
        ["Employee", "Department", "Leave type", "From", "To", "Days", "Status", "Medical reason"],
        ["{%tr for s in sick_leave %}", "", "", "", "", "", "", ""],
        ["{{ s.employee }}", "{{ s.department }}", "{{ s.leave_type }}", "{{ s.starts_on }}", "{{ s.ends_on }}",
         "{{ s.days }}", "{{ s.status }}", "{{ s.medical_reason }}"],
        ["{%tr endfor %}", "", "", "", "", "", "", ""],
    ])
    _p(document, "{%p else %}")
    _p(document, "No medical reasons were recorded in {{ year }}.")
    _p(document, "{%p endif %}")
    _p(document, "{%p endif %}")
    return document


TEMPLATES = {"staff.docx": staff_template, "pack.docx": pack_template, "standard.docx": standard_template}


def write_templates(folder: Path | None = None) -> list[Path]:
    """Write every report template into `folder` (default templates/reports)."""
    return _write(TEMPLATES, folder or templates_dir() / "reports")


CORE_PROPERTIES = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"


def _write(builders: dict, folder: Path) -> list[Path]:
    """Build and save each template. python-docx's `cp` prefix is its core properties' while it
    does: docxcompose (imported with docxtpl) repoints it at the custom properties, which
    would write the author and revision into the wrong namespace, and the same template as
    another file, whenever docxtpl was imported first in the process."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = nsmap.get("cp")
    nsmap["cp"] = CORE_PROPERTIES
    try:
        for name, build in builders.items():
            build().save(folder / name)
    finally:
        nsmap["cp"] = kept
    return [folder / name for name in builders]


# -- mail-merge letters (templates/letters/*.docx), for recipients without an e-mail address --------
# The context of a letter is built by engine.mailmerge.recipients: contact, address (lines laid
# out for the country), sender (name, email, phone, address lines), today, and what the
# selection adds (overdue: invoices, total_overdue, currency, as_of). Filters: money, longdate.
# Headers and footers hold no merge fields: a batch of letters shares them.

def _letter_page(title: str) -> Document:
    """An empty A4 letter in 11 pt, its margins leaving room for a window envelope."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin, section.right_margin = Cm(2.5), Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    props = document.core_properties
    props.title, props.author, props.last_modified_by = title, "Backoffice", "Backoffice"
    props.comments = "Made by Backoffice"
    props.created = props.modified = FIXED_TIME
    props.revision = 1
    normal = document.styles["Normal"]
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(0)
    return document


def _letter(title: str) -> Document:
    """An A4 letter: the sender at the top right, the recipient's address block where a
    window envelope shows it, and the date."""
    document = _letter_page(title)
    for text, bold in (("{%p if sender.name %}", False), ("{{ sender.name }}", True), ("{%p endif %}", False),
                       ("{%p if sender.address %}", False), ('{{ sender.address | join("\\n") }}', False),
                       ("{%p endif %}", False),
                       ("{%p if sender.email or sender.phone %}", False),
                       ('{{ sender.email }}{% if sender.email and sender.phone %} · {% endif %}{{ sender.phone }}', False),
                       ("{%p endif %}", False)):
        _p(document, text, bold=bold).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    block = _p(document, '{{ address | join("\\n") }}')
    block.paragraph_format.space_before = Cm(2.0)
    block.paragraph_format.space_after = Cm(1.5)
    dated = _p(document, "{{ today | longdate }}")
    dated.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    dated.paragraph_format.space_after = Pt(18)
    return document


def _gap(paragraph, after: int = 10):
    paragraph.paragraph_format.space_after = Pt(after)
    return paragraph


DEAR = 'Dear {{ contact.name if contact.kind == "person" else "Sir or Madam" }},'


def overdue_reminder_letter() -> Document:
    """A polite payment reminder: the invoices overdue, each with its open amount, and the total."""
    document = _letter("Payment reminder")
    _gap(_p(document, "Payment reminder: overdue invoices", bold=True, size=13), 6)
    _gap(_p(document, "Customer number {{ contact.id }}"), 14)
    _gap(_p(document, DEAR))
    _gap(_p(document, "According to our records, the following invoices were still open on "
                      "{{ as_of | longdate }}, after their due dates:"))
    table = _table(document, [
        ["Invoice", "Invoice date", "Due date", "Days overdue", "Open amount"],
        ["{%tr for i in invoices %}", "", "", "", ""],
        ["{{ i.number }}", "{{ i.issued_on | longdate }}", "{{ i.due_on | longdate }}", "{{ i.days_overdue }}",
         "{{ i.open_amount | money(currency) }}"],
        ["{%tr endfor %}", "", "", "", ""],
        ["Total", "", "", "", "{{ total_overdue | money(currency) }}"],
    ])
    for row in (0, 2, 4):
        for column in (3, 4):
            table.cell(row, column).paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    table.autofit = False
    for n, (column, width) in enumerate(zip(table.columns, (3.4, 3.3, 3.3, 2.1, 4.4), strict=True)):
        table._tbl.tblGrid.gridCol_lst[n].w = Cm(width)     # what LibreOffice goes by
        for cell in column.cells:
            cell.width = Cm(width)                          # what Word goes by
    for cell in (c for row in table.rows for c in row.cells):
        for run in cell.paragraphs[0].runs:
            run.font.size = Pt(10)
    table.cell(4, 0).paragraphs[0].runs[0].bold = True
    table.cell(4, 4).paragraphs[0].runs[0].bold = True
    _gap(_p(document, ""))
    _gap(_p(document, "We would be grateful if you could pay the total of {{ total_overdue | money(currency) }} "
                      "within the next 14 days, quoting the invoice numbers. If you have paid in the meantime, "
                      "thank you, and please disregard this letter. If anything on an invoice is not right, or "
                      "you would like to agree a payment plan, please get in touch with us."))
    _gap(_p(document, "Yours sincerely,"), 36)
    _p(document, "{{ sender.name }}")
    return document


def announcement_letter() -> Document:
    """An example announcement to the contacts with a tag (the `announcement` mail's letter)."""
    document = _letter("Announcement")
    _gap(_p(document, "Our new catalogue", bold=True, size=13), 14)
    _gap(_p(document, DEAR))
    _gap(_p(document, "Our new catalogue is out, with this year's prices and the products we added since "
                      "last year. Ask us for a copy or for a quotation: we will be glad to help."))
    _gap(_p(document, "You receive this letter because you are on our list of contacts for {{ tag }} news. "
                      "If you would rather not receive our mailings, tell us and we will stop sending them."))
    _gap(_p(document, "Yours sincerely,"), 36)
    _p(document, "{{ sender.name }}")
    return document


def details_check_letter() -> Document:
    """The details kept about a contact, for them to check (the `details_check` mail's letter):
    what an office sends to the contacts it selects, e.g. from the Excel add-in."""
    document = _letter("Please check your details")
    _gap(_p(document, "Please check the details we hold for you", bold=True, size=13), 14)
    _gap(_p(document, DEAR))
    _gap(_p(document, "We keep these details for you, and we would like them to be right:"))
    table = _table(document, [
        ["Name", "{{ contact.name }}"],
        ["E-mail", '{{ contact.email or "(none)" }}'],
        ["Phone", '{{ contact.phone or "(none)" }}'],
        ["Postal address", '{{ address | join(", ") }}'],
    ], header=False)
    table.autofit = False
    for n, (column, width) in enumerate(zip(table.columns, (4.0, 12.5), strict=True)):
        table._tbl.tblGrid.gridCol_lst[n].w = Cm(width)     # what LibreOffice goes by
        for cell in column.cells:
            cell.width = Cm(width)                          # what Word goes by
    for cell in (c for row in table.rows for c in row.cells):
        for run in cell.paragraphs[0].runs:
            run.font.size = Pt(10)
    _gap(_p(document, ""))
    _gap(_p(document, "If anything has changed or is wrong, please write to us or call us with the correct "
                      "details. If everything is right, there is nothing to do."))
    _gap(_p(document, "Yours sincerely,"), 36)
    _p(document, "{{ sender.name }}")
    return document


def task_reminder_letter() -> Document:
    """The items the office owes a contact, overdue (the `task_reminder` mail's letter, sent
    to the contacts of the `overdue-tasks` selection)."""
    document = _letter("Following up")
    _gap(_p(document, "Following up: items open with us", bold=True, size=13), 14)
    _gap(_p(document, DEAR))
    _gap(_p(document, "We are sorry to be late: the following items we agreed to handle for {{ contact.name }} "
                      "were still open on {{ as_of | longdate }}, after their due dates:"))
    _p(document, "{%p for t in tasks %}")
    _p(document, "{{ t.title }}, due {{ t.due_on | longdate }} ({{ t.days_overdue }} days overdue)")
    _p(document, "{%p endfor %}")
    _gap(_p(document, ""))
    _gap(_p(document, "We are on it and will come back to you shortly. If any of them is no longer needed, or "
                      "you would like to talk it over, please get in touch with us."))
    _gap(_p(document, "Yours sincerely,"), 36)
    _p(document, "{{ sender.name }}")
    return document


# -- a letter written with Word's own merge fields (engine.office.word_fields), as an office
# worker writes one in Word: no Jinja, each field `{ MERGEFIELD name \* MERGEFORMAT }` showing
# «name» until it is filled in, named as `backoffice mail fields` lists the fields.

def _word_field(paragraph, code: str, shown: str):
    """A field as Word writes it: begin, its code (instrText), separate, what it shows, end."""
    def char(kind: str) -> None:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(element)

    char("begin")
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = f" {code} "
    paragraph.add_run()._r.append(instruction)
    char("separate")
    paragraph.add_run(shown)
    char("end")
    return paragraph


def _merged(document, *pieces: str, bold: bool = False, size: int | None = None):
    """A paragraph of text and merge fields: a piece `«name»` is the merge field `name`."""
    paragraph = document.add_paragraph()
    for piece in pieces:
        if piece.startswith("«") and piece.endswith("»"):
            name = piece[1:-1]
            _word_field(paragraph, f"MERGEFIELD {name} \\* MERGEFORMAT", piece)
        else:
            paragraph.add_run(piece)
    for run in paragraph.runs:
        run.bold = bold
        if size:
            run.font.size = Pt(size)
    return paragraph


def welcome_letter() -> Document:
    """A welcome to new contacts (the `welcome` mail's letter, e.g. `--to tag:new`), written
    with Word's merge fields: the example an office worker copies to write a letter in Word."""
    document = _letter_page("Welcome")
    for pieces, bold in ((("«sender.name»",), True), (("«sender.address»",), False),
                         (("«sender.email»", "  ", "«sender.phone»"), False)):
        _merged(document, *pieces, bold=bold).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    block = _merged(document, "«address»")
    block.paragraph_format.space_before = Cm(2.0)
    block.paragraph_format.space_after = Cm(1.5)
    dated = _merged(document, "«today»")
    dated.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    dated.paragraph_format.space_after = Pt(18)
    _gap(_merged(document, "Welcome to ", "«sender.name»", bold=True, size=13), 14)
    _gap(_merged(document, "Dear ", "«contact.name»", ","))
    _gap(_merged(document, "Thank you for choosing us. Your customer number is ", "«contact.id»",
                 ": please quote it when you write to us or call us."))
    _gap(_merged(document, "If you have a question, or anything we hold about you is not right, call us on ",
                 "«sender.phone»", " or write to ", "«sender.email»", ". We look forward to working with you."))
    _gap(_p(document, "Yours sincerely,"), 36)
    _merged(document, "«sender.name»")
    footer = document.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Page ")
    _word_field(footer, "PAGE", "1")
    return document


LETTER_TEMPLATES = {"overdue_reminder.docx": overdue_reminder_letter, "announcement.docx": announcement_letter,
                    "details_check.docx": details_check_letter, "task_reminder.docx": task_reminder_letter,
                    "welcome.docx": welcome_letter}


def write_letter_templates(folder: Path | None = None) -> list[Path]:
    """Write every mail-merge letter template into `folder` (default templates/letters)."""
    return _write(LETTER_TEMPLATES, folder or templates_dir() / "letters")



if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else templates_dir()
    for path in [*write_templates(root / "reports"), *write_letter_templates(root / "letters")]:
        print(f"wrote {path}")
