"""W3C trace context in Kafka headers, so one trace follows a request from HTTP through the log into projections."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import propagate
from opentelemetry.context import Context

Headers = Sequence[tuple[str, bytes]]


def inject_headers(context: Context | None = None) -> list[tuple[str, bytes]]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return [(k, v.encode()) for k, v in carrier.items()]


def extract_context(headers: Headers | None) -> Context:
    carrier = {k: v.decode(errors="replace") for k, v in (headers or ()) if v is not None}
    return propagate.extract(carrier)
