"""The architecture is kept by a tool: the import-linter contracts in pyproject.toml (layers,
business modules independent but for bridges and contacts, no business module below them, no
circles) hold for the code as it is. `lint-imports` prints the same report."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "pyproject.toml"


def test_the_import_contracts_are_kept(capsys):
    lint = pytest.importorskip("importlinter.cli", reason="import-linter is in the test extras")
    result = lint.lint_imports(config_filename=str(CONTRACTS), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert result == 0, report
    assert "BROKEN" not in report and report.count("KEPT") >= 4, report


def test_every_import_inside_a_function_says_why_it_is_there():
    """Imports inside functions only defer a slow library (or a module of one), each with a
    comment; not to dodge a circle."""
    silent = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    if not _explained(lines, inner.lineno, inner.end_lineno):
                        silent.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert not silent, f"imports inside functions without a comment saying why: {silent}"


def _explained(lines: list[str], first: int, last: int) -> bool:
    """A comment on the import, or on the block of imports (and comments) just above it."""
    if any("#" in line for line in lines[first - 1:last]):
        return True
    n = first - 2
    while n >= 0 and lines[n].strip().startswith(("import ", "from ", "#", "try:")):
        if "#" in lines[n]:
            return True
        n -= 1
    return False


DOORS = ["engine/cli.py", "engine/cli_support.py",
         *(str(p.relative_to(ROOT)) for p in (ROOT / "engine").rglob("*commands*.py")),
         *(str(p.relative_to(ROOT)) for p in (ROOT / "engine" / "commands").glob("*.py"))]


@pytest.mark.parametrize("door", sorted(set(DOORS)))
def test_a_command_module_only_parses_calls_and_renders(door):
    """No query, no permission check and no field policy in a door: those are the services',
    the queries' and the policy gate's, so another door cannot forget them."""
    tree = ast.parse((ROOT / door).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
            found += [f"imports {node.module}.{a.name}" for a in node.names if a.name != "Session"]
        elif isinstance(node, ast.ImportFrom) and node.module in ("engine.security.policies",):
            found.append(f"imports {node.module}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if name in ("select", "require", "require_capability", "execute", "scalars", "scalar", "hidden_fields"):
                found.append(f"calls {name}() on line {node.lineno}")
    assert not found, f"{door}: {found}"
