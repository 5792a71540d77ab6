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
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from engine.reports.render import templates_dir

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


TEMPLATES = {"staff.docx": staff_template}


def write_templates(folder: Path | None = None) -> list[Path]:
    """Write every report template into `folder` (default templates/reports)."""
    folder = folder or templates_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in TEMPLATES.items():
        build().save(folder / name)
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in write_templates(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(f"wrote {path}")
