"""Word files to check and fill in (docxtpl: Jinja tags; merge_fields: Word merge fields) for test_template_checks.py and test_report_templates.py."""

from __future__ import annotations

from pathlib import Path

import docx

from engine.reports.make_templates import _word_field


def docxtpl(path: Path, *paragraphs: str, footer: str = "") -> Path:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if footer:
        document.sections[0].footer.paragraphs[0].text = footer
    document.save(path)
    return path


def merge_fields(path: Path, *names: str, header: str = "") -> Path:
    document = docx.Document()
    for name in names:
        paragraph = document.add_paragraph(f"{name}: ")
        _word_field(paragraph, f"MERGEFIELD {name} \\* MERGEFORMAT", f"«{name}»")
    if header:
        _word_field(document.sections[0].header.paragraphs[0], f"MERGEFIELD {header}", f"«{header}»")
    document.save(path)
    return path
