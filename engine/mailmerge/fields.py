"""The merge fields a template uses, checked against what a selection's recipients provide,
before anything is sent or stored.

Templates are strict (an unknown name stops the filling in), but that strictness only shows
when a message is filled in: a misspelt `{{ contact.nmae }}` would fail every message of a
run, one by one. So the templates' fields are read once from their parsed form (Jinja's
syntax tree: `contact.name`, `row["Region"]`, `i.number` inside `{% for i in invoices %}`)
and looked up in the shape of the recipients' data (the keys of every mapping, the items of
every list); a field no recipient has is refused, naming it and where it is (subject, body
or letter), and nothing is sent.

Only lookups in the data's mappings are checked: an attribute of a value (`name.upper()`), a
name the template sets itself (`{% set %}`, a macro's argument) and Jinja's own (`loop`,
`range`) are left to Jinja.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, nodes

from engine.errors import BackofficeError
from engine.mailmerge.templates import MailTemplate, has_letter, letter_path, mail_environment
from engine.problems import Problem

ITEM = "[]"                       # a step into a list's items


class Key(str):
    """A step written as a subscript (`row["Region"]`): the same key, shown as written."""

    __slots__ = ()
JINJA_OWN = {"loop", "self", "super", "caller", "varargs", "kwargs"}


@dataclass(frozen=True)
class FieldUse:
    path: tuple[str, ...]         # ("contact", "name"), ("invoices", "[]", "number")
    part: str                     # subject | body | letter
    source: str                   # the file, as the user knows it (overdue_reminder/body.txt)
    line: int | None

    @property
    def field(self) -> str:
        return spelled(self.path)


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


class UnknownFields(BackofficeError):
    """A template uses fields that no recipient of the selection has: refused before anything
    is sent or stored (exit 2), one problem per field, its `field` the part of the template."""

    code = "unknown_field"

    def __init__(self, template: str, selection: str, unknown: list[FieldUse], known: list[str]):
        self.unknown = unknown
        self._problems = [Problem(u.part, self.code, f"{u.source}{f' line {u.line}' if u.line else ''} uses "
                                                     f"`{u.field}`, which no recipient of `{selection}` has")
                          for u in unknown]
        super().__init__(f"the template {template} uses {len(unknown)} field(s) that the selection `{selection}` "
                         f"does not provide, so nothing was sent: "
                         + "; ".join(p.message for p in self._problems)
                         + f". Correct the template; the fields there are: {', '.join(known)}")

    @property
    def problems(self) -> list[Problem]:
        return self._problems


@dataclass
class Shape:
    """What the recipients' data holds: every path to a value, and which of them are mappings
    (whose keys are checked) and lists (whose items are)."""

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

    def listed(self) -> list[str]:
        """The fields there are, as a template writes them (for the refusal's hint)."""
        return sorted(spelled(p) for p in self.paths if p and ITEM not in p[-1:] and len(p) <= 2)


def uses(source: nodes.Template, part: str, where: str, environment: Environment) -> list[FieldUse]:
    """Every lookup of the data in a parsed template (the longest chain of each)."""
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
                found.append(FieldUse(path, part, where, node.lineno if part != "letter" else None))
                if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
                    visit(node.arg, scope)
                return
        for child in node.iter_child_nodes():
            visit(child, scope)

    visit(source, {})
    return found


def letter_source(path: Path) -> str:
    """A letter template's Jinja text: its body, headers and footers as docxtpl fills them."""
    # docxtpl and python-docx are slow imports: only for a template that has a letter.
    from docx.oxml import parse_xml
    from docxtpl import DocxTemplate

    template = DocxTemplate(path)
    document = template.get_docx()
    text = template.patch_xml(template.xml_to_string(document._element.body))
    for relation in document.part.rels.values():
        if relation.reltype in (template.HEADER_URI, template.FOOTER_URI) and relation.target_part.blob:
            text += template.patch_xml(template.xml_to_string(parse_xml(relation.target_part.blob)))
    return text


def template_uses(mail: MailTemplate) -> list[FieldUse]:
    """The fields of a mail template's subject and bodies, and of its letter if it has one."""
    environment = mail_environment(html=False)
    found = []
    for file, source in mail.sources:
        part = "subject" if file == "subject.txt" else "body"
        found += uses(environment.parse(source), part, f"{mail.name}/{file}", environment)
    if has_letter(mail.name):
        path = letter_path(mail.name)
        found += _letter_uses(str(path), path.stat().st_mtime_ns)
    return found


@functools.lru_cache(maxsize=16)
def _letter_uses(path: str, _modified: int) -> list[FieldUse]:
    """A letter's fields, read once per version of its file (reading a .docx takes a while;
    a merge checks them when it starts and again when it sends)."""
    environment = mail_environment(html=False)
    return uses(environment.parse(letter_source(Path(path))), "letter", f"letters/{Path(path).name}", environment)


def check_fields(template: str, selection: str, used: list[FieldUse], contexts: list[Mapping[str, Any]]) -> None:
    """Refuse (UnknownFields) if the template uses a field none of `contexts` has; with no
    recipient at all there is nothing to check against (and nothing is sent)."""
    if not contexts:
        return
    shape = Shape.of(contexts)
    unknown, seen = [], set()
    for use in used:
        wrong = shape.unknown_part(use.path)
        if wrong is not None and (wrong, use.source) not in seen:
            seen.add((wrong, use.source))
            unknown.append(FieldUse(wrong, use.part, use.source, use.line))
    if unknown:
        raise UnknownFields(template, selection, unknown, shape.listed())
