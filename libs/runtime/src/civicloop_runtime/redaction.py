"""The one place that decides what is too secret or too personal to leave the process in a log line or a span.

Every URL loses its query string and fragment (a track query holds a phone, a geocoder query the address a resident
typed, a partner's or a back-end's request its `api_key`) and its user:password; every `name=value` whose name is
a secret's (`api_key`, `token`, `password`, `authorization`...) loses its value. The logging filter is installed by
`logs.configure_logging`; the span processor by `telemetry.configure_tracing` around every exporter; the server
span hook by the app factory, so the request span is clean at its source too.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Span as ApiSpan
from opentelemetry.util.types import Attributes, AttributeValue

REDACTED = "[redacted]"

# Names whose values are secrets wherever they appear: query parameters, headers, log fields, `name=value` text.
SECRET_NAMES = (
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "password",
    "passwd",
    "secret",
    "client_secret",
    "authorization",
    "signature",
    "pepper",
    "vault_pepper",
    "phone",
    "email",
)

_URL = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?:[^\s/@'\"<>]*@)?(?P<rest>[^\s'\"<>]*)")
_SECRET_PAIR = re.compile(
    r"(?<![A-Za-z0-9_])(?P<name>" + "|".join(re.escape(n) for n in SECRET_NAMES) + r")"
    r"(?P<sep>[\"']?\s*[=:]\s*[\"']?)(?P<value>(?:bearer\s+|basic\s+)?[^\s&,;\"'}\]]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<scheme>\b(?:bearer|basic))\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def _scrub_url(match: re.Match[str]) -> str:
    rest = match.group("rest")
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    if cut >= 0:
        rest = rest[:cut] + "?" + REDACTED
    return match.group("scheme") + rest


def redact_text(text: str) -> str:
    """`text` with every URL's query, fragment and credentials, and every secret `name=value`'s value, removed."""
    if not text:
        return text
    text = _URL.sub(_scrub_url, text)
    text = _SECRET_PAIR.sub(lambda m: m.group("name") + m.group("sep") + REDACTED, text)
    return _BEARER.sub(lambda m: m.group("scheme") + " " + REDACTED, text)


def is_secret_name(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return any(secret.replace("-", "_") in lowered for secret in SECRET_NAMES)


def redact_value(name: str, value: Any) -> Any:
    """A field's value as it may leave the process: a secret's replaced whole, a string's scrubbed."""
    if is_secret_name(name) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(name, v) for v in value)
    return value


# -- logs -----------------------------------------------------------------------------------------------------------

_STANDARD_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Scrubs a record before any handler formats it: message, arguments, extra fields, traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_RECORD_FIELDS:
                setattr(record, name, redact_value(name, value))
        if record.exc_info:
            # An exception's text may carry a URL (httpx's HTTPStatusError does): format it here, scrubbed.
            record.exc_text = redact_text("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


# -- spans ----------------------------------------------------------------------------------------------------------

_URL_ATTRIBUTES = ("http.url", "url.full", "http.target", "url.path")


def redact_attributes(attributes: Attributes) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        if key == "url.query":
            out[key] = REDACTED
        elif key in _URL_ATTRIBUTES and isinstance(value, str):
            out[key] = redact_text(value.split("?", 1)[0] if "://" not in value else value)
        else:
            out[key] = redact_value(key, value)
    return out


def scrub_server_span(span: ApiSpan, scope: dict[str, Any]) -> None:
    """FastAPI/ASGI `server_request_hook`: the request span never holds the query string, from its start."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for key, value in redact_attributes(attributes).items():
        if value != attributes.get(key):
            span.set_attribute(key, value)


def redacted_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of a finished span with its name, attributes and events' attributes scrubbed."""
    return ReadableSpan(
        name=redact_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=redact_attributes(span.attributes),
        events=[Event(e.name, redact_attributes(e.attributes), timestamp=e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanProcessor(SpanProcessor):
    """Wraps an exporting processor: what it exports has been through `redacted_span`."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(redacted_span(span))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
