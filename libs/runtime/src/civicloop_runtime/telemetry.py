"""OpenTelemetry tracing. Spans are exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Every processor added here is wrapped in `RedactingSpanProcessor`: no exported span holds a query string or a
secret, whatever instrumentation made it.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from civicloop_runtime.redaction import RedactingSpanProcessor


def configure_tracing(service: str, *, extra_processor: SpanProcessor | None = None) -> TracerProvider:
    """Install a tracer provider once per process (OpenTelemetry allows only one); later calls reuse it."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(RedactingSpanProcessor(BatchSpanProcessor(OTLPSpanExporter())))
        trace.set_tracer_provider(provider)
    if extra_processor is not None:
        provider.add_span_processor(RedactingSpanProcessor(extra_processor))
    return provider
