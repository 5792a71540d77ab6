"""Word's own merge fields: a template an office worker writes in Word (Mailings > Insert
Merge Field, or Insert > Quick Parts > Field > MergeField), filled in by docx-mailmerge2.

A merge field is named by the data's field with its steps joined by dots, as
`backoffice mail fields` lists them: `contact.name`, `sender.email`, `total_overdue`,
`row.Region` (a name holding a space is quoted in the field code, as Word does:
`MERGEFIELD "row.Contact ID"`). docx-mailmerge2 takes the name as the field code's second
word, dots and all. A merge field shows one value; a list of lines (an address) is shown one
line under the other; a list's items (`invoices[].number`) need a docxtpl template.

What Word could do with a document besides showing values is refused before anything is
filled in, naming the field and its paragraph:

- a field that reaches outside the document or runs something when Word updates it
  (`INCLUDETEXT`, `INCLUDEPICTURE`, `LINK`, `DDE`, `DDEAUTO`, `IMPORT`, `MACROBUTTON`, ...):
  only merge fields and the page, date and cross-reference fields of `SAFE` may be used;
- a merge field inside another field's code (`{ IF { MERGEFIELD x } ... }`,
  `{ HYPERLINK "{ MERGEFIELD x }" }`): its value would become part of that field's code;
- Jinja tags beside merge fields: a template is either a Word merge-field template or a
  docxtpl one.

Values go in as text (docx-mailmerge2 writes each into a `w:t` element, so `<w:p>` or
`{ MERGEFIELD x }` in a value is printed as typed), without the characters XML cannot hold.
Word's own formatting switches `\\@` (dates) and `\\#` (numbers) do not apply: values come
formatted as the Jinja filters format them (`template_fields.shown`); `\\* Upper` and the
text before and after (`\\b`, `\\f`) do.
"""

from __future__ import annotations

import functools
import re
import shlex
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from engine.office.docx import ReportTemplateError, xml_safe
from engine.office.files import write_private
from engine.office.template_fields import TemplateProblem, located

MERGEFIELD = "MERGEFIELD"
# Fields that show the document's own pages, dates and cross-references: nothing from outside.
SAFE = frozenset({MERGEFIELD, "PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION", "DATE", "TIME", "CREATEDATE",
                  "SAVEDATE", "PRINTDATE", "REF", "PAGEREF", "NOTEREF", "SEQ", "STYLEREF", "TOC", "HYPERLINK",
                  "FILENAME", "TITLE", "AUTHOR", "SUBJECT"})
PLACES = {"document": "body", "header": "header", "footer": "footer", "footnotes": "footnotes",
          "endnotes": "endnotes"}
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass
class WordField:
    """A field of a Word document, as its field code says."""

    code: str                     # the field code: ` MERGEFIELD contact.name \* MERGEFORMAT `
    place: str                    # body | header | footer | footnotes | endnotes
    paragraph: str                # the text of its paragraph («contact.name» placeholders and all)
    inside: WordField | None = None           # the field whose code it is part of
    holds: list[WordField] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        """The field code's words, as docx-mailmerge2 reads them (quotes group words)."""
        lexer = shlex.shlex(self.code, posix=True)
        lexer.whitespace_split, lexer.commenters, lexer.escape = True, "", ""
        try:
            return list(lexer)
        except ValueError:          # an unclosed quote
            return self.code.split()

    @property
    def kind(self) -> str:
        return (self.words or [""])[0]

    @property
    def name(self) -> str:
        """A merge field's name ("" for another field)."""
        words = self.words
        return words[1] if self.kind.upper() == MERGEFIELD and len(words) > 1 else ""


def read_fields(path: Path) -> list[WordField]:
    """Every field of the document's body, headers, footers and notes, simple
    (`w:fldSimple`) or complex (`w:fldChar` begin, `w:instrText`, separate, end), in order."""
    from docx import Document  # here: python-docx is a slow import
    from docx.oxml import parse_xml  # here: (with python-docx)

    found: list[WordField] = []
    try:
        package = Document(str(path)).part.package
    except Exception as exc:   # noqa: BLE001 (python-docx raises what its zip and XML readers raise)
        raise ReportTemplateError(f"{Path(path).name} is not a Word document that can be read: {exc}") from exc
    for part in package.iter_parts():
        place = _place(part)
        if place is None:
            continue
        found += _fields_of(parse_xml(part.blob), place)
    return found


def _place(part) -> str | None:
    """body, header, footer, footnotes or endnotes for a part of those; None for another."""
    if not str(part.content_type).endswith("+xml"):
        return None
    return PLACES.get(re.sub(r"\d*\.xml$", "", str(part.partname).rsplit("/", 1)[-1]))


def _fields_of(root, place: str) -> list[WordField]:
    found: list[WordField] = []
    open_: list[tuple[WordField, bool]] = []     # (field, its code is over: `separate` seen)

    def start(code: str, element) -> WordField:
        paragraph = next((a for a in element.iterancestors(f"{_W}p")), None)
        text = "".join(t.text or "" for t in paragraph.iter(f"{_W}t")) if paragraph is not None else ""
        made = WordField(code, place, text)
        if open_ and not open_[-1][1]:           # part of the code of the field still open
            made.inside = open_[-1][0]
            open_[-1][0].holds.append(made)
        found.append(made)
        return made

    for element in root.iter(f"{_W}fldSimple", f"{_W}fldChar", f"{_W}instrText"):
        if element.tag == f"{_W}fldSimple":
            start(element.get(f"{_W}instr") or "", element)
        elif element.tag == f"{_W}instrText":
            if open_ and not open_[-1][1]:
                open_[-1][0].code += element.text or ""
        else:
            kind = element.get(f"{_W}fldCharType")
            if kind == "begin":
                open_.append((start("", element), False))
            elif kind == "separate" and open_:
                open_[-1] = (open_[-1][0], True)
            elif kind == "end" and open_:
                open_.pop()
    return found


def has_merge_fields(path: Path) -> bool:
    """Whether the .docx holds a Word merge field (read once per version of the file)."""
    path = Path(path)
    return _has_merge_fields(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _has_merge_fields(path: str, _modified: int) -> bool:
    return any(f.kind.upper() == MERGEFIELD for f in read_fields(Path(path)))


def field_problems(path: Path, source: str, part: str = "letter") -> list[TemplateProblem]:
    """What a merge-field template may not hold, each placed (see the module's docstring)."""
    problems = []

    def refuse(f: WordField, code: str, name: str, why: str) -> None:
        problems.append(TemplateProblem(part, code, f"{located(source, None, f.place, f.paragraph)}: {why}", None,
                                        name, source, f.place, f.paragraph))

    fields = read_fields(path)
    for f in fields:
        kind = f.kind.upper()
        if kind not in SAFE:
            refuse(f, "unsafe_field", kind or "(empty field)",
                   f"the field {{ {' '.join(f.code.split())} }} is not allowed in a template: only merge fields and the "
                   f"page, date and cross-reference fields ({', '.join(sorted(SAFE - {MERGEFIELD}))}) may be used")
        elif kind == MERGEFIELD and f.kind != MERGEFIELD:
            refuse(f, "unsafe_field", f.code.strip(), f"write {f.kind} as MERGEFIELD (Word writes it in capitals)")
        elif kind == MERGEFIELD and not f.name:
            refuse(f, "unnamed_field", MERGEFIELD, "a merge field without a field name: give it one of the names "
                                                   "`backoffice mail fields` lists")
        elif kind == MERGEFIELD and f.inside is not None:
            refuse(f, "nested_field", f.name, f"the merge field {f.name} is inside the code of a {f.inside.kind} "
                   "field, where its value would become part of that field's code: put it in the text itself")
    if any(f.kind.upper() == MERGEFIELD for f in fields):
        for place, paragraph in _jinja_paragraphs(path):
            problems.append(TemplateProblem(part, "mixed_template", f"{located(source, None, place, paragraph)}: "
                                            "Jinja tags ({{ }} or {% %}) in a template with Word merge fields; a "
                                            "template is either one or the other: use merge fields only", None,
                                            "{{ }}", source, place, paragraph))
    return problems


def _jinja_paragraphs(path: Path) -> list[tuple[str, str]]:
    from docx import Document  # here: python-docx is a slow import
    from docx.oxml import parse_xml  # here: (with python-docx)

    found = []
    for part in Document(str(path)).part.package.iter_parts():
        place = _place(part)
        if place is None:
            continue
        for paragraph in parse_xml(part.blob).iter(f"{_W}p"):
            text = "".join(t.text or "" for t in paragraph.iter(f"{_W}t"))
            if "{{" in text or "{%" in text:
                found.append((place, text))
    return found


def fill(template: Path, values: Mapping[str, str], source: str | None = None) -> bytes:
    """The merge-field template filled in with `values` ({merge field name: text}): the
    .docx's bytes. Refused (ReportTemplateError) if it holds what `field_problems` refuses,
    or a merge field `values` has no value for (the callers check the names first, with
    where each is; this is the last guard)."""
    from mailmerge import MailMerge  # here: docx-mailmerge2 (with lxml) is a slow import

    template = Path(template)
    source = source or template.name
    if not template.is_file():
        raise ReportTemplateError(f"there is no template {template}")
    problems = field_problems(template, source)
    if problems:
        raise ReportTemplateError(f"the template {source} cannot be filled in: "
                                  + "; ".join(p.message for p in problems))
    with warnings.catch_warnings():          # (docx-mailmerge2 warns of a switch it cannot apply)
        warnings.simplefilter("ignore")
        with MailMerge(str(template)) as merge:
            names = merge.get_merge_fields()
            missing = sorted(names - set(values))
            if missing:
                raise ReportTemplateError(f"the template {source} uses the merge field(s) {', '.join(missing)}, "
                                          "which have no value here")
            merge.merge(**{name: xml_safe(str(values[name])) for name in names})
            buffer = BytesIO()
            merge.write(buffer)
    return buffer.getvalue()


def render_merge_fields(template: Path, values: Mapping[str, str], target: Path) -> Path:
    """Fill a merge-field template in and write it to `target`, readable by its owner only and
    put in place at once (`engine.office.files.write_private`), as `render_docx` does."""
    return write_private(Path(target), fill(template, values))
