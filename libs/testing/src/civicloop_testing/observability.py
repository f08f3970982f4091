"""What a process lets out, captured for a test: its JSON log lines and its finished spans, as text to search.

    with captured_output("geo") as out:
        ...
    assert "2111 W Bellevue" not in out.text()

Logs go through the process's real setup (`civicloop_runtime.logs.configure_logging`, redaction filter included);
spans through the real tracer provider (`configure_tracing`, every processor behind the redacting one) into an
in-memory exporter.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from civicloop_runtime.logs import configure_logging
from civicloop_runtime.telemetry import configure_tracing
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class _WhileCapturing(InMemorySpanExporter):
    """Keeps spans only while a test captures them, so the rest of the run does not pile them up in memory."""

    capturing = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return super().export(spans) if self.capturing else SpanExportResult.SUCCESS


_exporter: _WhileCapturing | None = None


def span_exporter(service: str) -> _WhileCapturing:
    """One in-memory exporter per test process (a tracer provider cannot drop a processor once added)."""
    global _exporter
    if _exporter is None:
        _exporter = _WhileCapturing()
        configure_tracing(service, extra_processor=SimpleSpanProcessor(_exporter))
    return _exporter


def span_text(span: ReadableSpan) -> str:
    events = [{"name": e.name, **dict(e.attributes or {})} for e in span.events]
    return json.dumps(
        {"name": span.name, "attributes": dict(span.attributes or {}), "events": events}, default=str
    )


@dataclass
class Captured:
    logs: io.StringIO
    exporter: InMemorySpanExporter

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def log_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line]

    def text(self) -> str:
        return self.logs.getvalue() + "\n".join(span_text(s) for s in self.spans)


@contextmanager
def captured_output(service: str, level: str = "DEBUG") -> Iterator[Captured]:
    exporter = span_exporter(service)
    exporter.clear()
    exporter.capturing = True
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "aiokafka", "kafka")}
    stream = io.StringIO()
    configure_logging(service, level, stream=stream)
    try:
        yield Captured(stream, exporter)
    finally:
        exporter.capturing = False
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, quiet in saved_quiet.items():
            logging.getLogger(name).setLevel(quiet)
