"""Route and validate requests with Google's Sheets v4 discovery document.

The document is the one shipped inside google-api-python-client
(``googleapiclient/discovery_cache/documents/sheets.v4.json``). From it we take the URL
templates (routing), the query parameters of each method (unknown names, enum values and
types are rejected as Google does) and the request schemas (unknown JSON members, wrong JSON
types and values outside an ``enum`` give Google's ``Invalid JSON payload received`` 400s).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from dataclasses import dataclass
from typing import Any

from . import fieldmask
from .errors import invalid_argument

_SCHEMA_PREFIX = "type.googleapis.com/google.apps.sheets.v4."
_ENUM_NAMES = {
    "majorDimension": "Dimension",
    "dimension": "Dimension",
    "responseValueRenderOption": "ValueRenderOption",
    "responseDateTimeRenderOption": "DateTimeRenderOption",
}
_SCALAR_NAMES = {
    ("string", None): "TYPE_STRING",
    ("string", "int64"): "TYPE_INT64",
    ("string", "byte"): "TYPE_BYTES",
    ("integer", "int32"): "TYPE_INT32",
    ("integer", "uint32"): "TYPE_UINT32",
    ("number", "double"): "TYPE_DOUBLE",
    ("number", "float"): "TYPE_FLOAT",
    ("boolean", None): "TYPE_BOOL",
}
_BODY_FIELD = {"ValueRange": "data", "Spreadsheet": "spreadsheet"}


@functools.cache
def document() -> dict[str, Any]:
    """The Sheets v4 discovery document of the installed google-api-python-client."""
    root = importlib.resources.files("googleapiclient.discovery_cache")
    return json.loads((root / "documents" / "sheets.v4.json").read_text(encoding="utf-8"))


def schemas() -> dict[str, Any]:
    return document()["schemas"]


@dataclass(frozen=True)
class Method:
    """One REST method of the API, e.g. kind ``spreadsheets.values.batchGet``."""

    kind: str
    http_method: str
    pattern: re.Pattern[str]
    parameters: dict[str, Any]
    request_schema: str | None
    response_schema: str | None

    @property
    def is_read(self) -> bool:
        return self.http_method == "GET"


def _compile(flat_path: str) -> re.Pattern[str]:
    out = "^/"
    for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", flat_path):
        out += re.escape(literal)
        if name == "range":
            out += r"(?P<range>[^/]+)"
        elif name:
            out += rf"(?P<{name}>[^/:]+)"
    return re.compile(out + "$")


@functools.cache
def methods() -> tuple[Method, ...]:
    """All methods, most specific URL template first."""
    found: list[tuple[str, Method]] = []

    def walk(resource: dict[str, Any]) -> None:
        for method in resource.get("methods", {}).values():
            flat = method.get("flatPath") or method["path"]
            found.append(
                (
                    flat,
                    Method(
                        kind=method["id"].removeprefix("sheets."),
                        http_method=method["httpMethod"],
                        pattern=_compile(flat),
                        parameters=method.get("parameters", {}),
                        request_schema=(method.get("request") or {}).get("$ref"),
                        response_schema=(method.get("response") or {}).get("$ref"),
                    ),
                )
            )
        for child in resource.get("resources", {}).values():
            walk(child)

    walk(document())
    found.sort(key=lambda item: len(re.sub(r"\{\w+\}", "", item[0])), reverse=True)
    return tuple(method for _, method in found)


def route(http_method: str, raw_path: str) -> tuple[Method, dict[str, str]] | None:
    """Match a (still percent-encoded) path; path parameters come back percent-decoded."""
    from urllib.parse import unquote

    for method in methods():
        if method.http_method != http_method.upper():
            continue
        m = method.pattern.match(raw_path)
        if m:
            return method, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _type_name(name: str, schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return _SCHEMA_PREFIX + schema["$ref"]
    kind = schema.get("type")
    if "enum" in schema:
        enum = _ENUM_NAMES.get(name, name[:1].upper() + name[1:])
        return _SCHEMA_PREFIX + enum
    if kind == "array":
        items = schema.get("items", {})
        if items.get("type") in ("any", "array"):
            return "type.googleapis.com/google.protobuf.ListValue"
        return _type_name(name, items)
    if kind == "any":
        return "type.googleapis.com/google.protobuf.Value"
    if kind == "object":
        return "type.googleapis.com/google.protobuf.Struct"
    return _SCALAR_NAMES.get((kind, schema.get("format")), f"TYPE_{str(kind).upper()}")


def _scalar_ok(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "string":
        if (
            schema.get("format") == "int64"
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            return True
        return isinstance(value, str) and ("enum" not in schema or value in schema["enum"])
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()) is not None
    if kind == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return True
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return False
            return True
        return False
    if kind == "boolean":
        return isinstance(value, bool)
    return True


def _walk(value: Any, schema: dict[str, Any], name: str, path: str, errors: list) -> None:
    if value is None:
        return
    bad = f"Invalid value at '{path}' ({_type_name(name, schema)}), {_show(value)}"
    if "$ref" in schema or "properties" in schema:
        target = schemas()[schema["$ref"]] if "$ref" in schema else schema
        if not isinstance(value, dict):
            errors.append((path, bad))
            return
        props = target.get("properties", {})
        for key, item in value.items():
            prop_name = key if key in props else camel(key)
            if prop_name not in props:
                where = f" at '{path}'" if path else ""
                errors.append(
                    (
                        path,
                        f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                        "Cannot find field.",
                    )
                )
                continue
            child = snake(prop_name)
            _walk(item, props[prop_name], prop_name, f"{path}.{child}" if path else child, errors)
        return
    kind = schema.get("type")
    if kind == "array":
        if not isinstance(value, list):
            errors.append((path, bad))
            return
        for i, item in enumerate(value):
            _walk(item, schema.get("items", {}), name, f"{path}[{i}]", errors)
        return
    if kind == "object":
        if not isinstance(value, dict):
            errors.append((path, bad))
            return
        extra = schema.get("additionalProperties")
        if extra:
            for key, item in value.items():
                _walk(item, extra, name, f"{path}[{key}]", errors)
        return
    if kind == "any":
        return
    if not _scalar_ok(value, schema):
        errors.append((path, bad))


def raise_if_errors(errors: list[tuple[str, str]]) -> None:
    if errors:
        raise invalid_argument("\n".join(message for _, message in errors), errors)


def validate_body(method: Method, body: Any) -> None:
    """400 unless ``body`` fits the method's request schema."""
    if method.request_schema is None:
        return
    errors: list[tuple[str, str]] = []
    prefix = _BODY_FIELD.get(method.request_schema, "")
    _walk(body, {"$ref": method.request_schema}, "", prefix, errors)
    raise_if_errors(errors)


def _parse_query_value(name: str, raw: str, schema: dict[str, Any], errors: list) -> Any:
    kind = schema.get("type")
    bad = f"Invalid value at '{snake(name)}' ({_type_name(name, schema)}), \"{raw}\""
    if kind == "boolean":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        errors.append((snake(name), bad))
        return None
    if kind == "integer":
        if re.fullmatch(r"-?\d+", raw):
            return int(raw)
        errors.append((snake(name), bad))
        return None
    if "enum" in schema and raw not in schema["enum"]:
        errors.append((snake(name), bad))
        return None
    return raw


def validate_query(method: Method, query: dict[str, list[str]]) -> dict[str, Any]:
    """Query parameters, typed (repeated ones as lists); 400 for unknown names or bad values."""
    allowed = {
        name: spec for name, spec in method.parameters.items() if spec.get("location") == "query"
    }
    global_params = document()["parameters"]
    errors: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for key, raws in query.items():
        name = key if key in allowed or key in global_params else camel(key)
        spec = allowed.get(name) or global_params.get(name)
        if spec is None:
            errors.append(
                (
                    "",
                    f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query '
                    f"parameter. Field '{key}' could not be found in request message.",
                )
            )
            continue
        values = [_parse_query_value(name, raw, spec, errors) for raw in raws]
        out[name] = values if spec.get("repeated") else values[-1]
    raise_if_errors(errors)
    return out


def unknown_mask_paths(schema_name: str, tree: fieldmask.Mask | None) -> list[str]:
    """Paths of a field mask that name no field of ``schema_name`` (empty list: all fine)."""
    bad: list[str] = []

    def walk(schema: dict[str, Any], node: fieldmask.Mask | None, prefix: str) -> None:
        if node is None:
            return
        props = schema.get("properties", {})
        for key, sub in node.items():
            if key == "*":
                continue
            name = key if key in props else camel(key)
            full = f"{prefix}.{key}" if prefix else key
            prop = props.get(name)
            if prop is None:
                bad.append(full)
                continue
            while prop.get("type") == "array":
                prop = prop.get("items", {})
            if sub is not None:
                if "$ref" not in prop:
                    bad.append(full)
                    continue
                walk(schemas()[prop["$ref"]], sub, full)

    walk(schemas()[schema_name], tree, "")
    return bad
