"""The templates of reports laid out from a body (`engine.office.report_body`): the monthly
pack (templates/reports/pack.docx) and every other module report (standard.docx).

They give the page, the cover and the running heads; the body, written where the template
says `{{p body }}`, takes its styles from them (Title, Heading 1 and 2, Table Grid). So
restyling a copy in Word (fonts, colours, a logo in the header) restyles the report, and the
figures stay the engine's. Generated from code like every standard template
(`backoffice report templates`).
"""

from __future__ import annotations

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

FIXED_TIME_ISO = "2026-01-01T00:00:00"
ACCENT = RGBColor(0x1F, 0x4E, 0x79)


def _field(paragraph, instruction: str, placeholder: str) -> None:
    """A Word field (PAGE, NUMPAGES) Word and LibreOffice fill in when the page is laid out."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = placeholder
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _page(title: str):
    from datetime import datetime  # here: the file's fixed metadata only

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(1.8)
    props = document.core_properties
    props.title, props.author, props.last_modified_by = title, "Backoffice", "Backoffice"
    props.comments = "Made by Backoffice"
    props.created = props.modified = datetime.fromisoformat(FIXED_TIME_ISO)
    props.revision = 1
    styles = document.styles
    styles["Normal"].font.size = Pt(10)
    styles["Normal"].font.name = "Liberation Sans"
    for name in ("Title", "Heading 1", "Heading 2"):
        styles[name].font.color.rgb = ACCENT
        styles[name].font.name = "Liberation Sans"
    styles["Heading 1"].paragraph_format.page_break_before = False
    return document


def _running_heads(document, header: str, footer: str) -> None:
    section = document.sections[0]
    head = section.header.paragraphs[0]
    head.text = header
    head.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    head.runs[0].font.size = Pt(8)
    foot = section.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = foot.add_run(footer + " · page ")
    run.font.size = Pt(8)
    _field(foot, "PAGE", "1")
    foot.add_run(" of ").font.size = Pt(8)
    _field(foot, "NUMPAGES", "1")


def _p(document, text: str, size: float | None = None, bold: bool = False, italic: bool = False):
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    return paragraph


def pack_template():
    """The monthly management pack: a cover with the organisation, the month, when and for
    whom; the key figures and what was left out on it; then every section."""
    document = _page("Management pack")
    _running_heads(document, "{% if organisation %}{{ organisation }} · {% endif %}Management pack {{ period_name }}",
                   "Management pack {{ period_name }} · made on {{ made_on }} for {{ made_for }}")
    cover = _p(document, "{{ organisation }}", size=14)
    cover.paragraph_format.space_before = Cm(3)
    document.add_heading("Management pack", 0)
    _p(document, "{{ period_name }}", size=20, bold=True)
    _p(document, "Made on {{ made_on }} for {{ made_for }}.", italic=True)
    document.add_heading("Key figures", 1)
    _p(document, "Each month's figure against the month before and the same month a year before.", size=8.5,
       italic=True)
    _p(document, "{{p key_figures }}")
    _p(document, "{%p for note in notes %}")
    _p(document, "{{ note }}", size=8.5, italic=True)
    _p(document, "{%p endfor %}")
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _p(document, "{{p body }}")
    return document


def standard_template():
    """A module's report: its title, what it covers, when and for whom, then its body."""
    document = _page("{{ title }}")
    _running_heads(document, "{% if organisation %}{{ organisation }} · {% endif %}{{ title }}",
                   "{{ title }} · {{ subtitle }}")
    document.add_heading("{{ title }}", 0)
    _p(document, "{{ subtitle }}", size=13, bold=True)
    _p(document, "Made on {{ made_on }} for {{ made_for }}.", italic=True)
    _p(document, "{{p body }}")
    return document
