"""`backoffice addin build`: Backoffice.xlam from xlwings' open-source add-in template and our ribbon.

The template is xlwings' own custom add-in with a ribbon (`quickstart_addin_ribbon.xlam` in
the xlwings package, BSD 3-clause like everything there but `xlwings/pro`, which is never
touched): a hidden add-in workbook whose VBA project holds xlwings' `RunPython` (module
`xlwings`), a config sheet and a one-button sample ribbon. Without Excel we can change the
package's XML parts, not its compiled VBA project, so the build

- takes the template's ribbon part out and puts ours (addin/ribbon/customUI14.xml, Office
  2010 and later) in, with its package relationship (content type: the package's default
  for .xml, application/xml, which is what Office writes for a customUI part);
- renames the template's (inactive) config sheet `_myaddin.conf` to `backoffice.conf`, the
  add-in's own settings sheet xlwings reads (PROJECT_NAME "backoffice"), holding one setting:
  `UDF Modules` = `addin.functions`, the worksheet functions the import brings in; every other
  setting (which Python, ...) is left to the user's own file, which a row here would override;
- leaves out the absolute path of the template's author's machine and his name;

and says what is left: importing addin/vba/*.bas into the VBA project, which needs Excel
(addin/scripts/import_vba.ps1 on Windows, by hand on macOS: see the README). `vba_imported`
tells a finished add-in from a fresh build (`backoffice addin install` refuses a fresh one).
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as SafeXml
import xlwings

from engine.errors import BackofficeError
from engine.office.files import make_ordinary

ADDIN_DIR = Path(__file__).resolve().parent
RIBBON_XML = ADDIN_DIR / "ribbon" / "customUI14.xml"
VBA_DIR = ADDIN_DIR / "vba"
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"

RIBBON_PART = "customUI/customUI14.xml"
RIBBON_NAMESPACE = "http://schemas.microsoft.com/office/2009/07/customui"
# Office 2010+ ribbons (customUI14) hang on the 2007 relationship; Office 2007 ones (customUI.xml) on 2006.
RIBBON_RELATIONSHIP = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
RIBBON_RELATIONSHIPS = {RIBBON_RELATIONSHIP, "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"}
RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"

TEMPLATE_CONFIG_SHEET = "_myaddin.conf"
CONFIG_SHEET = "backoffice.conf"
FUNCTIONS_MODULE = "addin.functions"   # xlwings' "UDF Modules": the @xw.func functions
# The template's sample ribbon module, removed by the import script (its button is gone too).
TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"


class AddinBuildError(BackofficeError):
    """The add-in cannot be built: our ribbon or the xlwings template is not what it must be."""

    code = "addin_build"


@dataclass
class BuildResult:
    """What `backoffice addin build` made and what is left to do."""

    file: Path
    template: str
    buttons: list[str]
    vba_modules: list[str]
    parts: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"file": str(self.file), "template": self.template, "buttons": self.buttons,
                "vba_to_import": self.vba_modules, "vba_imported": False, "parts": self.parts}


def template_path() -> Path:
    """xlwings' custom add-in template with a ribbon, from its open-source part (never xlwings/pro)."""
    package = Path(xlwings.__file__).resolve().parent
    path = package / TEMPLATE_NAME
    if "pro" in path.relative_to(package).parts:      # a layout change must not pull in the PRO part
        raise AddinBuildError(f"{path} lies in xlwings/pro, which is licensed separately; not used")
    if not path.is_file():
        raise AddinBuildError(f"xlwings {xlwings.__version__} has no {TEMPLATE_NAME}; the add-in is built from "
                              "xlwings 0.37's open-source template (pip install 'xlwings>=0.37,<0.38')")
    return path


def ribbon_buttons(xml: bytes) -> list[str]:
    """The ribbon's button labels, once the XML is checked: well-formed, the 2009/07 customUI
    namespace, and every control with an id and a label."""
    try:
        root = SafeXml.fromstring(xml)
    except SafeXml.ParseError as exc:
        raise AddinBuildError(f"{RIBBON_XML.name} is not well-formed XML: {exc}") from None
    if root.tag != f"{{{RIBBON_NAMESPACE}}}customUI":
        raise AddinBuildError(f"{RIBBON_XML.name}: the root must be customUI in the namespace {RIBBON_NAMESPACE}")
    labels = []
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        if tag in ("tab", "group", "button") and not (element.get("id") and element.get("label")):
            raise AddinBuildError(f"{RIBBON_XML.name}: a {tag} without an id or a label")
        if tag == "button":
            labels.append(element.get("label"))
    return labels


def build(output: Path) -> BuildResult:
    """Write Backoffice.xlam at `output`: beside it first, then in its place (nothing half-written)."""
    ribbon = RIBBON_XML.read_bytes()
    buttons = ribbon_buttons(ribbon)
    template = template_path()
    with zipfile.ZipFile(template) as source:
        parts = _assembled(source, ribbon)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{output.stem}.new-", suffix=".xlam", dir=output.parent)
    os.close(handle)
    temp = Path(name)
    try:
        make_ordinary(temp)
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as target:
            for part, data in parts.items():
                target.writestr(part, data)
        os.replace(temp, output)
    finally:
        temp.unlink(missing_ok=True)
    return BuildResult(output, f"xlwings {xlwings.__version__} {TEMPLATE_NAME}", buttons,
                       sorted(p.name for p in VBA_DIR.glob("*.bas")), list(parts))


def _assembled(source: zipfile.ZipFile, ribbon: bytes) -> dict[str, bytes]:
    """The template's parts with our ribbon in place of its own, in the template's order."""
    rels = _relationships(source.read("_rels/.rels"))
    theirs = {target.lstrip("/") for _id, kind, target in rels if kind in RIBBON_RELATIONSHIPS}
    parts = {}
    for name in source.namelist():
        if name in theirs:
            continue
        data = source.read(name)
        if name == "_rels/.rels":
            data = _rels_xml([r for r in rels if r[1] not in RIBBON_RELATIONSHIPS]
                             + [("boRibbon", RIBBON_RELATIONSHIP, RIBBON_PART)])
        elif name == "[Content_Types].xml":
            data = _content_types(data)
        elif name == "xl/workbook.xml":
            data = _workbook(data)
        elif name == "docProps/core.xml":
            data = _core(data)
        elif name == _config_part(source):
            data = _config_sheet(data)
        parts[name] = data
    parts[RIBBON_PART] = ribbon
    return parts


def _relationships(xml: bytes) -> list[tuple[str, str, str]]:
    root = SafeXml.fromstring(xml)
    return [(r.get("Id"), r.get("Type"), r.get("Target")) for r in root.iter(f"{{{RELATIONSHIPS_NS}}}Relationship")]


def _rels_xml(rels: list[tuple[str, str, str]]) -> bytes:
    body = "".join(f"<Relationship Id={quoteattr(i)} Type={quoteattr(t)} Target={quoteattr(g)}/>" for i, t, g in rels)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{RELATIONSHIPS_NS}">{body}</Relationships>').encode()


def _content_types(xml: bytes) -> bytes:
    """The ribbon part is .xml: covered by the package's default for .xml (application/xml);
    a template without that default gets an override for the part."""
    root = SafeXml.fromstring(xml)
    defaults = {d.get("Extension", "").lower(): d.get("ContentType")
                for d in root.iter(f"{{{CONTENT_TYPES_NS}}}Default")}
    if defaults.get("xml") == "application/xml":
        return xml
    override = f'<Override PartName="/{RIBBON_PART}" ContentType="application/xml"/>'
    return xml.replace(b"</Types>", override.encode() + b"</Types>")


def _workbook(xml: bytes) -> bytes:
    """Rename the config sheet; drop the template author's folder (an absPath element).
    Changed as text: Excel needs the namespace prefixes exactly as they are (mc:Ignorable)."""
    text = xml.decode("utf-8")
    sheet = f'name="{TEMPLATE_CONFIG_SHEET}"'
    if text.count(sheet) != 1:
        raise AddinBuildError(f"the xlwings template has no sheet {TEMPLATE_CONFIG_SHEET}: a template of another "
                              "xlwings version? The add-in is built from xlwings 0.37")
    text = text.replace(sheet, f'name="{CONFIG_SHEET}"')
    text = re.sub(r"<mc:AlternateContent[^>]*>\s*<mc:Choice[^>]*>\s*<x15ac:absPath [^>]*/>\s*</mc:Choice>\s*"
                  r"</mc:AlternateContent>", "", text)
    return text.encode("utf-8")


def _config_part(source: zipfile.ZipFile) -> str:
    """The zip member of the template's config sheet (through the workbook's relationships)."""
    workbook = SafeXml.fromstring(source.read("xl/workbook.xml"))
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_id = next((s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
                   for s in workbook.iter(f"{main}sheet") if s.get("name") == TEMPLATE_CONFIG_SHEET), None)
    target = next((g for i, _kind, g in _relationships(source.read("xl/_rels/workbook.xml.rels")) if i == rel_id), None)
    if target is None:
        raise AddinBuildError(f"the xlwings template has no sheet {TEMPLATE_CONFIG_SHEET}: a template of another "
                              "xlwings version? The add-in is built from xlwings 0.37")
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _config_sheet(xml: bytes) -> bytes:
    """The config sheet with one row, `UDF Modules` | `addin.functions` (inline text, so the
    shared strings stay as they are)."""
    text = xml.decode("utf-8")
    row = ('<row r="1"><c r="A1" t="inlineStr"><is><t>UDF Modules</t></is></c>'
           f'<c r="B1" t="inlineStr"><is><t>{FUNCTIONS_MODULE}</t></is></c></row>')
    text, found = re.subn(r"<sheetData>.*</sheetData>|<sheetData\s*/>", f"<sheetData>{row}</sheetData>", text,
                          flags=re.S)
    if found != 1:
        raise AddinBuildError("the xlwings template's config sheet has no sheetData: a template of another "
                              "xlwings version? The add-in is built from xlwings 0.37")
    return re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:B1"/>', text).encode("utf-8")


def _core(xml: bytes) -> bytes:
    """Title the add-in (Excel's add-ins dialog shows it) and leave out the template's people."""
    text = xml.decode("utf-8")
    text = re.sub(r"<dc:title\s*/>|<dc:title>[^<]*</dc:title>", "<dc:title>Backoffice</dc:title>", text)
    text = re.sub(r"<dc:creator>[^<]*</dc:creator>", "<dc:creator>Backoffice</dc:creator>", text)
    text = re.sub(r"<cp:lastModifiedBy>[^<]*</cp:lastModifiedBy>", "<cp:lastModifiedBy>Backoffice</cp:lastModifiedBy>",
                  text)
    return text.encode("utf-8")


def vba_imported(path: Path) -> bool:
    """Whether the add-in's VBA project holds our module `Backoffice` and no longer the
    template's sample ribbon module: the VBA import (Excel) has been done.

    Each module is a stream of the project's compound file, named in UTF-16 in its
    directory; that is all this looks at (no VBA is read or run)."""
    try:
        with zipfile.ZipFile(path) as package:
            project = package.read("xl/vbaProject.bin")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return _stream_named(project, "Backoffice") and not _stream_named(project, TEMPLATE_RIBBON_MODULE)


def _stream_named(compound: bytes, name: str) -> bool:
    # A directory entry: the name in UTF-16LE, zero-padded to 64 bytes, then its length in bytes.
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    entry = encoded + b"\x00" * (64 - len(encoded)) + len(encoded).to_bytes(2, "little")
    return entry in compound
