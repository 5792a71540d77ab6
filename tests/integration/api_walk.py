"""Walking the server's route table: every operation of `create_app(...)`, with plausible
path values and bodies, so a test over "every route" covers the routes added later without
being told about them.

`operations(app)` lists (method, path template, route); `concrete(path, values)` fills a
template; `minimal_body(app, method, path)` makes the smallest body the OpenAPI document
accepts (its required fields with plausible values), so a request reaches the service and
its checks instead of stopping at the request's parsing.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import fastapi.routing
from fastapi.routing import APIRoute

from engine.api.app import PUBLIC
from engine.api.support import caller

PLACEHOLDER = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def _api_routes(app: Any) -> Iterator[Any]:
    """The application's API routes as served: with their routers' prefixes and dependencies
    (FastAPI keeps an included router whole in `app.routes` and resolves it lazily)."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        yield from (route for route in app.routes if isinstance(route, APIRoute))
        return
    for context in contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def operations(app: Any) -> Iterator[tuple[str, str, Any]]:
    """Every (method, path, route) of the application but the public ones (health, docs)."""
    for route in _api_routes(app):
        if route.path not in PUBLIC:
            for method in sorted(set(route.methods) - {"HEAD", "OPTIONS"}):
                yield method, route.path, route


def documented(path: str) -> str:
    """The path as the OpenAPI document names it (`{file:path}` is `{file}` there)."""
    return PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", path)


def path_names(path: str) -> list[str]:
    return PLACEHOLDER.findall(path)


def concrete(path: str, values: dict[str, Any] | None = None) -> str:
    """`path` with each {name} replaced by values[name], or by 1 (a plausible id, code or word)."""
    values = values or {}
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), 1)), path)


def takes_caller(route: Any) -> bool:
    """Whether the route gets its caller from `support.caller`, anywhere in its dependencies."""
    def within(dependant: Any) -> bool:
        return any(d.call is caller or within(d) for d in dependant.dependencies)
    return within(route.dependant)


# -- bodies from the OpenAPI document -----------------------------------------------------------

def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def plausible(document: dict[str, Any], schema: dict[str, Any], name: str = "") -> Any:
    """A value `schema` accepts, as a person would type it (ids 1, dates in 2026, a word)."""
    schema = _resolve(document, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(document, s).get("type") != "null"] or schema[key]
            return plausible(document, options[0], name)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind, form = schema.get("type"), schema.get("format")
    if kind == "object" or "properties" in schema:
        required = schema.get("required", [])
        return {key: plausible(document, sub, key) for key, sub in schema.get("properties", {}).items()
                if key in required}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return "1"
    if kind == "boolean":
        return False
    if form == "date":
        return "2026-03-02"
    if form == "date-time":
        return "2026-03-02T09:00:00Z"
    if form == "binary" or "contentMediaType" in schema:      # a file (OpenAPI 3.0 and 3.1 spellings)
        return b"PK"
    return "GB" if "country" in name else "test"


def request_body(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """Keyword arguments for the client: the smallest body the operation accepts (JSON, or a
    form with a small file), or none."""
    body = document["paths"][documented(path)][method.lower()].get("requestBody")
    if not body:
        return {}
    content = body["content"]
    if "application/json" in content:
        return {"json": plausible(document, content["application/json"]["schema"])}
    media = next(iter(content))
    schema = _resolve(document, content[media]["schema"])
    files, data = {}, {}
    for key, sub in schema.get("properties", {}).items():
        value = plausible(document, sub, key)
        if isinstance(value, bytes):
            files[key] = ("book.xlsx", io.BytesIO(value), "application/octet-stream")
        elif key in schema.get("required", []):
            data[key] = str(value)
    return {"files": files or None, "data": data or None}


# -- looking for values in what came back -------------------------------------------------------

def spellings(value: Any) -> set[str]:
    """How `value` can appear in an answer: as JSON writes it, and a date also as Excel's
    serial number (in a workbook's cells)."""
    if isinstance(value, Decimal):
        plain = format(value.normalize(), "f")
        return {plain, format(value, "f")}
    if isinstance(value, date):
        return {value.isoformat(), f">{(value - date(1899, 12, 30)).days}<"}
    return {str(value)}


def texts_of(content: bytes) -> Iterable[str]:
    """The answer's text, and each member's if it is a zip (a workbook or a Word document)."""
    yield content.decode("utf-8", "replace")
    if content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            for member in package.namelist():
                yield package.read(member).decode("utf-8", "replace")
