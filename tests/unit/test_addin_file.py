"""The add-in file, checked without Excel: the ribbon XML, the VBA behind each button, the
Python each button runs, the .xlam `backoffice addin build` assembles, and `addin install`
refusing cleanly where there is no Excel."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import defusedxml.ElementTree as SafeXml
import pytest
from typer.testing import CliRunner

from addin.build import (
    CONFIG_SHEET,
    RIBBON_NAMESPACE,
    RIBBON_PART,
    RIBBON_RELATIONSHIP,
    RIBBON_XML,
    TEMPLATE_RIBBON_MODULE,
    VBA_DIR,
    build,
    template_path,
    vba_imported,
)
from engine import registry
from engine.cli import app as cli
from engine.paths import templates_dir
from engine.reports import options as report_options

ROOT = Path(__file__).resolve().parents[2]
NS = {"ui": RIBBON_NAMESPACE}
ENTRY_MODULE = "addin.ribbon"
ENTRY_POINTS = {"new_workbook", "validate", "sync", "refresh", "sync_dry_run", "report", "mail_preview", "who_am_i"}
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _ribbon():
    return SafeXml.parse(RIBBON_XML).getroot()


def _modules() -> dict[str, str]:
    """Each .bas file's text by its VBA module name (Attribute VB_Name)."""
    modules = {}
    for path in VBA_DIR.glob("*.bas"):
        text = path.read_text(encoding="ascii")      # the VBA editor reads the system code page: ASCII only
        name = re.match(r'Attribute VB_Name = "(\w+)"\r?\n', text)
        assert name, f"{path.name} must start with its Attribute VB_Name line"
        modules[name.group(1)] = text
    assert modules
    return modules


def _code(text: str) -> str:
    """VBA without its comments (a ' outside a string starts one) and with continued lines joined."""
    lines = []
    for line in re.sub(r" _\r?\n\s*", " ", text).splitlines():
        kept, quoted = [], False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif ch == "'" and not quoted:
                break
            kept.append(ch)
        lines.append("".join(kept))
    return "\n".join(lines)


def _subs(text: str) -> dict[str, tuple[str, str, str]]:
    """Each Sub: name -> (scope, parameter list, body)."""
    return {m["name"]: (m["scope"] or "Public", m["params"].strip(), m["body"])
            for m in re.finditer(r"^(?:(?P<scope>Public|Private) )?Sub (?P<name>\w+)\((?P<params>[^)]*)\)\n"
                                 r"(?P<body>.*?)^End Sub", _code(text), re.S | re.M)}


# --- the ribbon -----------------------------------------------------------------------


def test_the_ribbon_is_well_formed_and_every_control_has_an_id_and_a_label():
    root = _ribbon()
    assert root.tag == f"{{{RIBBON_NAMESPACE}}}customUI"
    tabs = root.findall("ui:ribbon/ui:tabs/ui:tab", NS)
    assert [t.get("label") for t in tabs] == ["Backoffice"]
    controls = [e for e in root.iter() if e.tag.split("}")[1] in ("tab", "group", "button")]
    assert all(c.get("id") and c.get("label") for c in controls)
    ids = [c.get("id") for c in controls]
    assert len(ids) == len(set(ids)), "control ids must be unique"
    buttons = root.findall(".//ui:button", NS)
    assert [b.get("label") for b in buttons] == ["New workbook", "Refresh", "Validate", "Sync dry run", "Sync",
                                                  "Report", "Mail-merge preview", "Settings / who am I"]
    assert all(b.get("imageMso") and b.get("onAction") and b.get("supertip") for b in buttons)


def test_every_on_action_has_its_public_vba_sub_taking_the_ribbon_control():
    modules = _modules()
    for button in _ribbon().iterfind(".//ui:button", NS):
        module, _, sub = button.get("onAction").rpartition(".")
        assert module in modules, f"{button.get('id')}: no VBA module {module!r} in addin/vba"
        subs = _subs(modules[module])
        assert sub in subs, f"{button.get('id')}: no Sub {sub} in {module}"
        scope, params, _body = subs[sub]
        assert scope == "Public" and re.fullmatch(r"(ByRef )?\w+ As IRibbonControl", params), \
            f"{module}.{sub} must be `Public Sub {sub}(control As IRibbonControl)`, not ({params})"


# --- the Python each button runs ------------------------------------------------------


def _entry_calls() -> list[tuple[str, str, int]]:
    """(Sub, Python function, number of arguments) of every call into addin.ribbon.

    A RunPython literal must be the whole `import addin.ribbon; addin.ribbon.` prefix; the
    function and its arguments come from RunEntry "name(" & PyText(x) & ", " & ... & ")"."""
    calls = []
    for module in _modules().values():
        code = _code(module)
        for literal in re.findall(r'RunPython "([^"]*)"', code):
            assert literal == f"import {ENTRY_MODULE}; {ENTRY_MODULE}.", f"RunPython {literal!r} runs something else"
        for sub, (_scope, _params, body) in _subs(module).items():
            for call in re.findall(r"RunEntry (.+)", body):
                pieces = [p.strip() for p in call.split("&")]
                name = re.match(r'"(\w+)\(', pieces[0])
                assert name, f"{sub}: RunEntry {call}"
                arguments = [p for p in pieces[1:] if not p.startswith('"')]
                assert all(re.fullmatch(r"PyText\(\w+\)", a) for a in arguments), \
                    f"{sub}: every argument must go through PyText (quoted and checked): {call}"
                text = "".join(p.strip('"') if p.startswith('"') else "'x'" for p in pieces)
                assert re.fullmatch(rf"{name[1]}\(('x'(, 'x')*)?\)", text), f"{sub}: not one call: {text}"
                calls.append((sub, name[1], len(arguments)))
    return calls


def test_every_run_python_target_exists_in_addin_ribbon_and_takes_those_arguments():
    ribbon = importlib.import_module(ENTRY_MODULE)
    calls = _entry_calls()
    assert {name for _sub, name, _n in calls} == ENTRY_POINTS
    for sub, name, count in calls:
        function = getattr(ribbon, name, None)
        assert callable(function), f"{sub} runs {ENTRY_MODULE}.{name}, which does not exist"
        try:
            inspect.signature(function).bind(*["text"] * count)
        except TypeError as exc:
            pytest.fail(f"{sub} calls {name} with {count} argument(s): {exc}")


def test_the_choices_offered_in_vba_are_the_engines():
    """The VBA lists the workbooks and reports to choose from (nothing typed reaches Python
    unchecked); they are the ones the modules register, all modules on: of the reports, those
    the button can make, asking only for a period (a statement of account also needs a
    customer: it is made at the command line)."""
    text = _modules()["Backoffice"]
    offered = dict(re.findall(r'Private Const (\w+)_OFFERED As String = "([^"]*)"', text))
    current = registry.current()
    assert offered["WORKBOOKS"].split(",") == sorted(w.name for w in current.workbooks)
    assert offered["REPORTS"].split(",") == sorted(r.name for r in current.reports
                                                   if set(r.options) <= set(report_options.TIMES))
    assert offered["TEMPLATES"].split(",") == sorted(p.name for p in (templates_dir() / "mail").iterdir() if p.is_dir())


def test_py_text_lets_through_only_name_characters():
    """The quoting guard itself: its character test admits no quote, backslash or `|`."""
    body = _code(_modules()["Backoffice"])
    guard = re.search(r"Private Function PyText\(.*?End Function", body, re.S)[0]
    assert 'c Like "[A-Za-z0-9]" Or c = "_" Or c = "." Or c = "-"' in guard
    assert "Err.Raise" in guard and "PyText = \"'\" & value & \"'\"" in guard


# --- the .xlam ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xlam(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("addin") / "Backoffice.xlam").file


def test_the_template_is_xlwings_open_source_part():
    path = template_path()
    assert path.name == "quickstart_addin_ribbon.xlam" and "pro" not in path.parent.name
    assert not vba_imported(path)


def test_the_built_add_in_carries_our_ribbon_with_its_relationship_and_content_type(xlam):
    with zipfile.ZipFile(xlam) as package:
        assert package.testzip() is None
        names = package.namelist()
        assert package.read(RIBBON_PART) == RIBBON_XML.read_bytes()
        assert "customUI/customUI.xml" not in names, "the template's sample ribbon must be gone"
        rels = SafeXml.fromstring(package.read("_rels/.rels"))
        ui = [r for r in rels.iter(f"{{{PACKAGE_RELS}}}Relationship") if "ui/extensibility" in r.get("Type")]
        assert [(r.get("Type"), r.get("Target")) for r in ui] == [(RIBBON_RELATIONSHIP, RIBBON_PART)]
        targets = [r.get("Target").lstrip("/") for r in rels.iter(f"{{{PACKAGE_RELS}}}Relationship")]
        assert all(t in names for t in targets)
        types = SafeXml.fromstring(package.read("[Content_Types].xml"))
        ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
        defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{ns}Default")}
        overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{ns}Override")}
        assert overrides.get(f"/{RIBBON_PART}", defaults["xml"]) == "application/xml"
        assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
        assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"
        workbook = package.read("xl/workbook.xml").decode()
        assert f'name="{CONFIG_SHEET}"' in workbook and "absPath" not in workbook
        assert 'mc:Ignorable="x15 xr xr6 xr10"' in workbook, "namespace prefixes kept as Excel wrote them"
        assert b"Felix" not in package.read("docProps/core.xml")
    assert not vba_imported(xlam), "a fresh build still has the template's VBA: the import is Excel's step"


def test_vba_imported_tells_a_finished_add_in_from_a_fresh_build(xlam, tmp_path):
    finished = _with_module_renamed(xlam, tmp_path / "finished.xlam", TEMPLATE_RIBBON_MODULE, "Backoffice")
    assert vba_imported(finished)
    assert not vba_imported(tmp_path / "missing.xlam")


def _with_module_renamed(source: Path, target: Path, old: str, new: str) -> Path:
    """A copy whose VBA project's directory entry `old` is named `new` (what the import leaves:
    our module in, the sample one out), the compound file otherwise the template's own."""
    def entry(name: str) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return encoded + b"\0" * (64 - len(encoded)) + len(encoded).to_bytes(2, "little")

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "xl/vbaProject.bin":
                assert data.count(entry(old)) == 1
                data = data.replace(entry(old), entry(new))
            zout.writestr(name, data)
    return target


@pytest.mark.libreoffice
def test_libreoffice_opens_the_built_add_in(xlam, tmp_path):
    """LibreOffice does not take .xlam by its name; with its Excel 2007 VBA filter it opens
    the package and reads the add-in's (hidden) config sheet."""
    from tests.libreoffice import sheets_as_rows

    sheets = sheets_as_rows(xlam, tmp_path, infilter="Calc MS Excel 2007 VBA XML")
    assert list(sheets) == [CONFIG_SHEET]
    assert sheets[CONFIG_SHEET] == [["UDF Modules", "addin.functions"]], "the worksheet functions, nothing else"


# --- the commands ---------------------------------------------------------------------


def test_addin_build_writes_the_file_and_nothing_beside_it(tmp_path):
    target = tmp_path / "out" / "Backoffice.xlam"
    done = CliRunner().invoke(cli, ["addin", "build", "--output", str(target), "--json"])
    assert done.exit_code == 0, done.output
    assert '"vba_imported": false' in done.stdout and str(target) in done.stdout
    assert [p.name for p in target.parent.iterdir()] == ["Backoffice.xlam"]
    assert zipfile.is_zipfile(target)


def test_addin_build_refuses_a_name_that_is_not_an_xlam(tmp_path):
    done = CliRunner().invoke(cli, ["addin", "build", "--output", str(tmp_path / "Backoffice.xlsx")])
    assert done.exit_code == 2 and ".xlam" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="checks the refusal where there is no Excel")
def test_addin_install_without_excel_says_so_and_installs_nothing(xlam, tmp_path):
    """A real process: its exit code and message, and no file anywhere under its home."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
    env |= {"HOME": str(home), "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "engine.cli", "addin", "install", "--file", str(xlam)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Excel is not available on this computer" in done.stderr
    assert "Windows or macOS" in done.stderr and "Nothing was installed" in done.stderr
    assert done.stdout == ""
    assert list(home.rglob("*")) == []


def test_addin_install_refuses_a_missing_file(tmp_path):
    done = CliRunner().invoke(cli, ["addin", "install", "--file", str(tmp_path / "Backoffice.xlam")])
    assert done.exit_code == 2 and "backoffice addin build" in done.stderr


def test_addin_install_refuses_an_add_in_whose_vba_is_not_imported(xlam, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    done = CliRunner().invoke(cli, ["addin", "install", "--file", str(xlam)])
    assert done.exit_code == 2 and "not imported yet" in done.stderr


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="xlwings would really install it there")
def test_addin_install_reports_xlwings_failing_as_a_refusal(xlam, tmp_path, monkeypatch):
    """Past our own checks the real `xlwings addin install` runs; here it finds no Excel and
    fails before copying anything: said as an error, exit 2, not as success."""
    finished = _with_module_renamed(xlam, tmp_path / "Backoffice.xlam", TEMPLATE_RIBBON_MODULE, "Backoffice")
    monkeypatch.setattr(sys, "platform", "win32")
    done = CliRunner().invoke(cli, ["addin", "install", "--file", str(finished)])
    assert done.exit_code == 2, done.output
    assert "xlwings could not install Backoffice.xlam" in done.stderr and "only supported on Windows" in done.stderr
