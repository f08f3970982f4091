from civicloop_runtime.telemetry import RecordedOnceExported
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def test_spans_carry_ids_but_are_recorded_only_once_a_processor_exports_them() -> None:
    sampler = RecordedOnceExported()
    provider = TracerProvider(sampler=sampler)
    tracer = provider.get_tracer("test")
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    with tracer.start_as_current_span("nobody reads this", attributes={"a": 1}) as span:
        assert not span.is_recording()
        assert span.get_span_context().is_valid  # log lines still name the trace
    assert exporter.get_finished_spans() == ()

    sampler.exporting = True
    with tracer.start_as_current_span("exported", attributes={"a": 1}) as span:
        assert span.is_recording()
    [finished] = exporter.get_finished_spans()
    assert finished.name == "exported" and dict(finished.attributes or {}) == {"a": 1}


def test_once_exporting_the_sampler_is_the_one_otel_traces_sampler_names(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    sampler = RecordedOnceExported()
    sampler.exporting = True
    provider = TracerProvider(sampler=sampler)
    with provider.get_tracer("test").start_as_current_span("a ratio of 0 keeps nothing") as span:
        assert not span.is_recording()
