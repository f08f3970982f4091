"""OpenTelemetry tracing. Spans are exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Every processor added here is wrapped in `RedactingSpanProcessor`: no exported span holds a query string or a
secret, whatever instrumentation made it. Until a processor is added, spans are not recorded (`RecordedOnceExported`):
they still carry trace and span ids, so log lines name their trace and the context propagates, but no span object,
attribute set or end-of-span work is paid for on every request for spans nobody would read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from civicloop_runtime.redaction import RedactingSpanProcessor


class RecordedOnceExported(Sampler):
    """Once `exporting` is set, the sampler OTEL_TRACES_SAMPLER names (parent-based, every span, by default); before,
    no span is recorded."""

    def __init__(self) -> None:
        self.exporting = False
        # The SDK's own reading of OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, as TracerProvider does it.
        self._recorded: Sampler = sampling._get_from_env_or_default()

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampler = self._recorded if self.exporting else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"RecordedOnceExported{{exporting={self.exporting}}}"


def configure_tracing(service: str, *, extra_processor: SpanProcessor | None = None) -> TracerProvider:
    """Install a tracer provider once per process (OpenTelemetry allows only one); later calls reuse it."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(
            resource=Resource.create({"service.name": service}), sampler=RecordedOnceExported()
        )
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            _add_processor(provider, BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
    if extra_processor is not None:
        _add_processor(provider, extra_processor)
    return provider


def _add_processor(provider: TracerProvider, processor: SpanProcessor) -> None:
    provider.add_span_processor(RedactingSpanProcessor(processor))
    if isinstance(provider.sampler, RecordedOnceExported):
        provider.sampler.exporting = True
