"""One trace from the HTTP request to the Kafka record; nothing personal in any span."""

import pytest
from civicloop_events import ServiceRequestSubmitted
from civicloop_runtime.telemetry import configure_tracing
from intake_harness import pothole_at_a_point
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

pytestmark = pytest.mark.integration

BODY = pothole_at_a_point("(202) 555-0155")


@pytest.fixture(scope="module")
def spans():
    exporter = InMemorySpanExporter()
    configure_tracing("civicloop-intake", extra_processor=SimpleSpanProcessor(exporter))
    return exporter


async def test_the_request_span_is_the_parent_of_the_producer_span(spans, intake):
    spans.clear()
    r = await intake.client.post("/api/v1/requests", json=BODY)
    assert r.status_code == 201
    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /api/v1/requests"]
    [publish] = [s for s in finished if s.kind is SpanKind.PRODUCER]
    assert publish.name == f"publish {ServiceRequestSubmitted.event_type}"
    assert publish.parent is not None and publish.parent.span_id == server.context.span_id
    assert publish.context.trace_id == server.context.trace_id

    [record] = await intake.records()
    traceparent = dict(record.headers)["traceparent"].decode()
    assert traceparent.split("-")[1] == format(server.context.trace_id, "032x")


async def test_no_span_carries_the_phone_of_a_track_query(spans, intake):
    submitted = await intake.client.post("/api/v1/requests", json=BODY)
    number, position = submitted.json()["request_number"], submitted.headers["CivicLoop-Position"]
    spans.clear()
    r = await intake.client.post(  # read-your-writes: the track view holds the submission before it answers
        "/api/v1/track",
        json={"number": number, "phone": "(202) 555-0155"},
        headers={"CivicLoop-Position": position},
    )
    assert r.status_code == 200, r.text
    finished = spans.get_finished_spans()
    assert any(s.kind is SpanKind.SERVER for s in finished)
    for span in finished:
        text = f"{span.name} {dict(span.attributes or {})}"
        assert "555" not in text and "0155" not in text, text
