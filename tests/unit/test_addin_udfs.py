"""Every worksheet function is registered the way Excel's function wizard shows it: `@xw.func`,
an `@xw.arg(..., doc=...)` for each argument and a docstring. Read from the source, as
xlwings' registration exists only on Windows (elsewhere its decorators do nothing); and only
the open-source part of xlwings is used."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "addin" / "functions.py"
EXPECTED = {"BO_ONHAND": ["sku", "location"], "BO_VALUE": ["sku", "as_of"], "BO_BALANCE": ["account", "as_of"],
            "BO_CONTACT": ["id", "field"], "BO_OWING": ["contact", "as_of"]}


def _decorators(function: ast.FunctionDef) -> tuple[bool, dict[str, str]]:
    registered, docs = False, {}
    for decorator in function.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        name = ast.unparse(target)
        if name == "xw.func":
            registered = True
        elif name == "xw.arg" and call:
            argument = call.args[0].value
            docs[argument] = next((k.value.value for k in call.keywords if k.arg == "doc"), "")
    return registered, docs


def test_every_worksheet_function_has_help_for_itself_and_each_argument():
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            registered, docs = _decorators(node)
            if registered:
                found[node.name] = [a.arg for a in node.args.args]
                assert ast.get_docstring(node), node.name
                assert set(docs) == set(found[node.name]), (node.name, docs)
                assert all(len(doc) > 10 for doc in docs.values()), (node.name, docs)
                assert node.args.args and not any(a.annotation for a in node.args.args), \
                    f"{node.name}: an annotation would become an xlwings converter"
    assert found == EXPECTED


def test_only_the_open_source_part_of_xlwings_is_used():
    for path in (ROOT / "addin").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "xlwings.pro" not in text and "from xlwings import pro" not in text, path
