"""What a template asks of its data, and whether it is safe: read from the template itself,
before anything is filled in. Nothing of the business: mail merge and reports hand it a
template and the data (or a sample of it), and decide what to refuse.

A template's strictness (an unknown name stops the filling in) only shows when it is filled
in; a misspelt `{{ contact.nmae }}` would fail every letter of a merge, one by one. So a
template's fields are read once from its parsed form (Jinja's syntax tree: `contact.name`,
`row["Region"]`, `i.number` inside `{% for i in invoices %}`; or Word's MERGEFIELDs,
`engine.office.word_fields`) and looked up in the *shape* of the data (the keys of every
mapping, the items of every list). A field the data does not have is named with where it is:
the file, the part (subject, body, header, footer) and, in a Word document, the paragraph's
text.

What a template may not do is named the same way, before the sandbox would stop it halfway:
reaching for a name starting with `_` (`{{ x.__class__ }}`), including, importing or
extending another file (`{% include '../../config/backoffice.toml' %}`: a template is one
file), and calling a method (`{{ name.upper() }}`: values are formatted with filters,
`{{ name | upper }}`).

Only lookups in the data's mappings are checked: an attribute of a value, a name the template
sets itself (`{% set %}`, a macro's argument) and Jinja's own (`loop`, `range`) are left to
Jinja.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, nodes

from engine.formats import long_date, money
from engine.problems import Problem

ITEM = "[]"                       # a step into a list's items
JINJA_OWN = {"loop", "self", "super", "caller", "varargs", "kwargs"}
SHOWN = 70                        # characters of a paragraph's text a message quotes


class Key(str):
    """A step written as a subscript (`row["Region"]`): the same key, shown as written."""

    __slots__ = ()


@dataclass(frozen=True)
class FieldUse:
    path: tuple[str, ...]         # ("contact", "name"), ("invoices", "[]", "number")
    part: str                     # subject | body | letter | header | footer
    source: str                   # the file, as the user knows it (overdue_reminder/body.txt)
    line: int | None
    paragraph: str | None = None  # in a Word document: the paragraph's text
    place: str | None = None      # in a Word document: body | header | footer | footnotes
    written: str | None = None    # a Word merge field's name, as written (`contact.name`)
    note: str = ""                # why it is refused, when it is not a missing field

    @property
    def field(self) -> str:
        return self.written or spelled(self.path)

    @property
    def where(self) -> str:
        """`letters/x.docx, header, in "Dear «contact.nmae»,"`, `x/body.txt line 3`."""
        return located(self.source, self.line, self.place, self.paragraph)


def located(source: str, line: int | None = None, place: str | None = None, paragraph: str | None = None) -> str:
    text = source + (f" line {line}" if line else "") + (f", {place}" if place else "")
    if paragraph is not None:
        shown = " ".join(paragraph.split())
        text += f', in "{shown[:SHOWN]}{"…" if len(shown) > SHOWN else ""}"'
    return text


@dataclass(frozen=True)
class TemplateProblem(Problem):
    """A problem of a template, placed: `field` is the part of the template (subject, body,
    letter, header, footer), `name` the field or construct as the template writes it."""

    name: str = ""
    source: str = ""
    place: str = ""
    paragraph: str = ""

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}


def spelled(path: tuple[str, ...]) -> str:
    """A field as a template writes it: `contact.name`, `invoices[].number`, `row["Region"]`."""
    text = ""
    for step in path:
        if step == ITEM:
            text += ITEM
        elif step.isidentifier() and not isinstance(step, Key):
            text += f".{step}" if text else step
        else:
            text += f"[{step!r}]".replace("'", '"')
    return text


def word_name(path: tuple[str, ...]) -> str | None:
    """A field as a Word merge field names it: its steps joined by dots (`contact.name`,
    `row.Contact ID`); None for a list's items, which a merge field cannot show."""
    return None if ITEM in path else ".".join(path)


@dataclass
class Shape:
    """What the data holds: every path to a value, and which of them are mappings (whose keys
    are checked) and lists (whose items are)."""

    paths: set[tuple[str, ...]]
    mappings: set[tuple[str, ...]]
    lists: set[tuple[str, ...]]

    @classmethod
    def of(cls, contexts: Iterable[Mapping[str, Any]]) -> Shape:
        shape = cls(set(), set(), set())
        for context in contexts:
            shape._add((), context)
        return shape

    def _add(self, path: tuple[str, ...], value: Any) -> None:
        self.paths.add(path)
        if isinstance(value, Mapping):
            self.mappings.add(path)
            for key, inner in value.items():
                self._add((*path, str(key)), inner)
        elif isinstance(value, list | tuple):
            self.lists.add(path)
            for inner in value:
                self._add((*path, ITEM), inner)

    def unknown_part(self, path: tuple[str, ...]) -> tuple[str, ...] | None:
        """The first step of `path` that looks up a key a mapping of the data does not have."""
        for n in range(1, len(path) + 1):
            parent, step = path[:n - 1], path[n - 1]
            if parent in self.lists and step == ITEM:
                continue
            if parent not in self.mappings:
                return None            # a value's own attribute, a list's item: Jinja's business
            if path[:n] not in self.paths and not (parent and hasattr(dict, step)):
                return path[:n]
        return None

    def single(self, path: tuple[str, ...]) -> bool:
        """Whether `path` holds one value a merge field can show: not a mapping, nor a list of
        mappings (a list of lines, such as an address, is shown one line under the other)."""
        return path not in self.mappings and (*path, ITEM) not in self.mappings and (*path, ITEM, ITEM) not in self.paths

    def word_names(self) -> dict[str, tuple[str, ...]]:
        """{merge field name: path} for every value a Word merge field can show."""
        return {word_name(p): p for p in self.paths if p and ITEM not in p and self.single(p)}

    def listed(self) -> list[str]:
        """The fields there are, as a template writes them (for the refusal's hint)."""
        return sorted(spelled(p) for p in self.paths if p and ITEM not in p[-1:] and len(p) <= 2)


# -- the values, as templates show them ---------------------------------------------------------

def shown(value: Any) -> str:
    """A value as a merge field prints it, as the Jinja filters would: an amount (Decimal)
    with thousands separators and two decimals (`money`), a date as `31 March 2026`
    (`longdate`), yes/no, nothing for no value, a list one item a line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, date):
        return long_date(value)
    if isinstance(value, list | tuple):
        return "\n".join(shown(v) for v in value if v is not None and v != "")
    return str(value)


def word_values(context: Mapping[str, Any]) -> dict[str, str]:
    """Every value of `context` a Word merge field can show, by its merge field name, as it
    is printed (`shown`)."""
    values: dict[str, str] = {}

    def add(path: tuple[str, ...], value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                add((*path, str(key)), inner)
        elif not (isinstance(value, list | tuple) and any(isinstance(v, Mapping | list | tuple) for v in value)):
            values[".".join(path)] = shown(value)

    add((), context)
    return values


def fields_with_samples(contexts: Iterable[Mapping[str, Any]]) -> list[tuple[tuple[str, ...], str]]:
    """Every field the data offers (a value, a list of lines, or a value of a list's items:
    `invoices[].number`), in the order the data holds them, each with a sample value: the
    first one that is not empty, as it is printed."""
    found: dict[tuple[str, ...], str] = {}

    def add(path: tuple[str, ...], value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                add((*path, str(key)), inner)
        elif isinstance(value, list | tuple) and any(isinstance(v, Mapping | list | tuple) for v in value):
            for inner in value:
                add((*path, ITEM), inner)
        elif path:
            sample = shown(value).replace("\n", " / ")
            if not found.get(path):
                found[path] = sample

    for context in contexts:
        add((), context)
    return list(found.items())


# -- Jinja templates ----------------------------------------------------------------------------

def uses(source: nodes.Template, part: str, where: str, environment: Environment,
         paragraphs: Sequence[str] | None = None, place: str | None = None) -> list[FieldUse]:
    """Every lookup of the data in a parsed template (the longest chain of each). With
    `paragraphs` (a Word document's, one a line of its source), each use says its paragraph."""
    local = {n.name for n in source.find_all(nodes.Name) if n.ctx in ("store", "param")}
    local |= {n.name for n in source.find_all(nodes.Macro)}
    local |= {n.target for n in source.find_all(nodes.Import)}
    local |= {name if isinstance(name, str) else name[-1] for n in source.find_all(nodes.FromImport) for name in n.names}
    local |= JINJA_OWN | set(environment.globals)
    found: list[FieldUse] = []

    def path_of(node: nodes.Node, scope: dict[str, tuple[str, ...] | None]) -> tuple[str, ...] | None:
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            return None if node.name in local else (node.name,)
        if isinstance(node, nodes.Getattr):
            base = path_of(node.node, scope)
            return (*base, node.attr) if base is not None else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            base = path_of(node.node, scope)
            key = node.arg.value
            if base is None or not isinstance(key, str | int):
                return None
            return (*base, Key(key) if isinstance(key, str) else ITEM)
        return None

    def use(path: tuple[str, ...], lineno: int) -> FieldUse:
        if paragraphs is None:
            return FieldUse(path, part, where, lineno)
        return FieldUse(path, part, where, None, paragraph_at(paragraphs, lineno), place)

    def visit(node: nodes.Node, scope: dict[str, tuple[str, ...] | None]) -> None:
        if isinstance(node, nodes.For):
            visit(node.iter, scope)
            items = path_of(node.iter, scope)
            inner = dict(scope)
            for target in node.target.find_all(nodes.Name) if not isinstance(node.target, nodes.Name) else ():
                inner[target.name] = None
            if isinstance(node.target, nodes.Name):
                inner[node.target.name] = (*items, ITEM) if items is not None else None
            for child in (*node.body, *([node.test] if node.test else [])):
                visit(child, inner)
            for child in node.else_:
                visit(child, scope)
            return
        if isinstance(node, nodes.Test) and node.name in ("defined", "undefined"):
            return                     # `x is defined`: asking is allowed
        if isinstance(node, nodes.Filter) and node.name in ("default", "d") and node.node is not None:
            for child in (*node.args, *(k.value for k in node.kwargs)):   # `x | default(...)`: x may be missing
                visit(child, scope)
            return
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem) and getattr(node, "ctx", "load") == "load":
            path = path_of(node, scope)
            if path is not None:
                found.append(use(path, node.lineno))
                if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
                    visit(node.arg, scope)
                return
        for child in node.iter_child_nodes():
            visit(child, scope)

    visit(source, {})
    return found


def unsafe(source: nodes.Template, part: str, where: str, paragraphs: Sequence[str] | None = None,
           place: str | None = None) -> list[TemplateProblem]:
    """What a template may not do, each placed: a name starting with `_` (Python's internals),
    another file included, imported or extended, a method called."""
    found: list[TemplateProblem] = []

    def refuse(node: nodes.Node, code: str, name: str, why: str) -> None:
        line = node.lineno if paragraphs is None else None
        paragraph = paragraph_at(paragraphs, node.lineno) if paragraphs is not None else None
        found.append(TemplateProblem(part, code, f"{located(where, line, place, paragraph)}: {why}", line, name, where,
                                     place or "", paragraph or ""))

    for node in source.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        tag = {nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from … import",
               nodes.Extends: "extends"}[type(node)]
        asked = node.template.value if isinstance(node.template, nodes.Const) else "…"
        refuse(node, "includes_file", f"{{% {tag} %}}",
               f"`{{% {tag} {asked!r} %}}` asks for another file; a template may not include, import or extend "
               "other files: put what you need into this template")
    def internal(node: nodes.Node) -> str | None:
        if not isinstance(node, nodes.Getattr | nodes.Getitem):
            return None
        step = node.attr if isinstance(node, nodes.Getattr) else (
            node.arg.value if isinstance(node.arg, nodes.Const) else None)
        return step if isinstance(step, str) and step.startswith("_") else None

    for node in source.find_all((nodes.Getattr, nodes.Getitem)):
        step = internal(node)
        if step is not None and internal(node.node) is None:     # the first step of a chain into internals
            refuse(node, "internals", step, f"`{step}` reaches into Python's internals (a name starting with _), "
                                            "which a template may not")
    for node in source.find_all(nodes.Call):
        if isinstance(node.node, nodes.Getattr) and not node.node.attr.startswith("_"):
            refuse(node, "method_call", f"{node.node.attr}()",
                   f"`.{node.node.attr}(…)` calls a method; a template shows fields and formats them with filters "
                   f"(`| money`, `| longdate`, `| upper`), it calls nothing")
    return found


def paragraph_at(paragraphs: Sequence[str], lineno: int) -> str:
    return paragraphs[lineno - 1] if 0 < lineno <= len(paragraphs) else ""


_PARAGRAPH = re.compile(r"(?=<w:p[ >])")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class DocxPart:
    """One part of a docxtpl template as docxtpl fills it in: its Jinja source (one paragraph
    a line, so a node's line number is its paragraph) and each paragraph's text."""

    place: str                    # body | header | footer
    source: str
    paragraphs: tuple[str, ...]


def docx_parts(path: Path) -> list[DocxPart]:
    """The body, headers and footers of a docxtpl .docx as Jinja sources."""
    # docxtpl and python-docx are slow imports: only for a template that is a .docx.
    from docx.oxml import parse_xml
    from docxtpl import DocxTemplate

    template = DocxTemplate(path)
    document = template.get_docx()
    xml = [("body", template.xml_to_string(document._element.body))]
    for relation in document.part.rels.values():
        if relation.reltype in (template.HEADER_URI, template.FOOTER_URI) and relation.target_part.blob:
            place = "header" if relation.reltype == template.HEADER_URI else "footer"
            xml.append((place, template.xml_to_string(parse_xml(relation.target_part.blob))))
    parts = []
    for place, text in xml:
        source = _PARAGRAPH.sub("\n", template.patch_xml(text))
        parts.append(DocxPart(place, source, tuple(html.unescape(_TAG.sub("", line)) for line in source.split("\n"))))
    return parts
