"""Pure translation helpers: dotted paths into JSON, value specs (a source path, a constant or a template), status maps,
timestamps, and the stable hash an update is known by.

A *dotted path* reads `a.b.0.c` through objects and arrays (a numeric part indexes an array); the empty path is the
document itself. A *value spec* is one of:

* a string: a source path into the POST context (`description`, `lat`, `attribute.size`, `service.backend.code`);
* `{"from": path, "default": v, "type": "str"|"int"|"float"|"bool"|"list"}`;
* `{"const": v}`;
* `{"template": "{first_name} {last_name}: {description}"}` (missing names render empty; `{attribute[size]}` reads
  an attribute).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from civicloop_open311.dates import InvalidDate, parse_w3c

_MISSING = object()


class MappingError(ValueError):
    """A value the mapping cannot produce (a bad type conversion, an unreadable timestamp)."""


def get_path(document: Any, path: str, default: Any = None) -> Any:
    """The value at `path` in `document`, or `default` when any step is absent."""
    if path == "":
        return document
    current = document
    for part in path.split("."):
        if isinstance(current, Mapping):
            if part not in current:
                return default
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return default
            current = current[index]
        else:
            return default
    return current


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Write `value` at `path`, creating objects on the way (`a.b.c` -> `{"a": {"b": {"c": value}}}`)."""
    parts = path.split(".")
    current = document
    for part in parts[:-1]:
        child = current.get(part)
        if not isinstance(child, dict):
            child = {}
            current[part] = child
        current = child
    current[parts[-1]] = value


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class _TemplateFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, AttributeError, TypeError):
            return "", field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return ""
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        return super().format_field(value, format_spec)


_FORMATTER = _TemplateFormatter()


def render_template(template: str, context: Mapping[str, Any]) -> str:
    return _FORMATTER.vformat(template, (), _Lenient(context)).strip()


def _convert(value: Any, kind: str | None) -> Any:
    if value is None or kind is None:
        return value
    try:
        if kind == "list":
            return value if isinstance(value, list) else [value]
        if isinstance(value, list):
            value = value[0] if value else None
            if value is None:
                return None
        if kind == "str":
            return str(value)
        if kind == "int":
            return int(str(value))
        if kind == "float":
            return float(str(value))
        if kind == "bool":
            return str(value).strip().lower() in ("1", "true", "yes", "y", "on")
    except ValueError:
        raise MappingError(f"cannot read {value!r} as {kind}") from None
    raise MappingError(f"unknown type {kind!r}")


def resolve_value(spec: Any, context: Mapping[str, Any]) -> Any:
    """The value a spec gives in `context`; `_MISSING`-free: an absent source gives its default (None)."""
    if isinstance(spec, str):
        return get_path(context, spec)
    if isinstance(spec, Mapping):
        if "const" in spec:
            return spec["const"]
        if "template" in spec:
            return render_template(str(spec["template"]), context)
        if "from" in spec:
            value = get_path(context, str(spec["from"]))
            if value is None or value == "" or value == []:
                value = spec.get("default")
            return _convert(value, spec.get("type"))
    raise MappingError(f"not a value spec: {spec!r}")


def build_document(fields: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body a field mapping makes from `context`; targets whose value is None are left out."""
    body: dict[str, Any] = {}
    for target, spec in fields.items():
        value = resolve_value(spec, context)
        if value is not None:
            set_path(body, target, value)
    return body


def post_context(
    fields: Mapping[str, str],
    attributes: Mapping[str, list[str]],
    media_urls: list[str],
    service: Mapping[str, Any],
) -> dict[str, Any]:
    """What a field mapping can read from an Open311 POST: the fields, `attribute.CODE` (one value, or a list for
    several), `media_url` (the first) and `media_urls`, and `service.*` (the configured service entry)."""
    context: dict[str, Any] = dict(fields)
    for name in ("lat", "long"):
        if name in context:
            with contextlib.suppress(ValueError):  # not a number: the text stays as sent
                context[name] = float(context[name])
    context["attribute"] = {
        code: values[0] if len(values) == 1 else list(values) for code, values in attributes.items()
    }
    context["media_urls"] = list(media_urls)
    context["media_url"] = media_urls[0] if media_urls else None
    context["service"] = dict(service)
    return context


def parse_timestamp(text: Any, *, fmt: str | None = None, timezone: str = "UTC") -> datetime:
    """A back-end timestamp as an aware datetime: W3C/ISO text by default, else `strptime(fmt)`, or epoch seconds
    (`fmt="epoch"`); a timestamp without an offset is read in `timezone`."""
    if text is None or str(text).strip() == "":
        raise MappingError("no timestamp")
    raw = str(text).strip()
    zone = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    if fmt == "epoch":
        try:
            return datetime.fromtimestamp(float(raw), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise MappingError(f"not epoch seconds: {raw!r}") from None
    if fmt:
        try:
            value = datetime.strptime(raw, fmt)
        except ValueError:
            raise MappingError(f"timestamp {raw!r} does not match {fmt!r}") from None
    else:
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            try:
                return parse_w3c(raw).start.astimezone(UTC)
            except InvalidDate:
                raise MappingError(f"not an ISO 8601 timestamp: {raw!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def map_status(raw: Any, status_map: Mapping[str, Any], default: str | None) -> tuple[str, str | None] | None:
    """Their status -> (Open311 status, external_status_code); None when unmapped and there is no default.

    A map value is `"open"`/`"closed"` or `{"status": ..., "external_status_code": ...}`; the external code defaults
    to their status as written. Matching is exact first, then case-insensitive.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    entry = status_map.get(text)
    if entry is None:
        lowered = {str(k).lower(): v for k, v in status_map.items()}
        entry = lowered.get(text.lower())
    if entry is None:
        if default is None:
            return None
        return default, text or None
    if isinstance(entry, str):
        return entry, text or None
    return str(entry["status"]), entry.get("external_status_code", text) or None


def update_hash(*parts: Any) -> str:
    """A stable update id: the SHA-256 of the normalised parts, 24 hex digits."""
    normalised = [
        p.astimezone(UTC).isoformat()
        if isinstance(p, datetime)
        else (None if p is None else " ".join(str(p).split()))
        for p in parts
    ]
    digest = hashlib.sha256(json.dumps(normalised, ensure_ascii=False, separators=(",", ":")).encode())
    return digest.hexdigest()[:24]
