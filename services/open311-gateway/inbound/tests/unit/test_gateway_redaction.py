"""Nothing secret leaves the gateway in a log line or a span: a partner's `api_key` sent in a query string reaches
neither, through the real app factory, logging setup and tracer provider (`civicloop_runtime.redaction`).

The app is not started (no database or broker here): the routes answer 503, which is enough to be logged and traced.
"""

import httpx
import pytest
from civicloop_gateway.entrypoints.http import SERVICE, create_app
from civicloop_gateway.settings import Environment, GatewaySettings
from civicloop_testing.observability import captured_output
from opentelemetry.trace import SpanKind

API_KEY = "partner-key-7d41e0b9c3"


@pytest.fixture
async def client():
    with captured_output(SERVICE) as out:
        app = create_app(GatewaySettings(env=Environment.test))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as c:
            yield c, out


async def test_a_query_string_api_key_reaches_neither_logs_nor_spans(client):
    c, out = client
    read = await c.get("/open311/v2/requests.json", params={"api_key": API_KEY, "status": "open"})
    write = await c.post(
        "/open311/v2/requests.json", params={"api_key": API_KEY}, data={"service_code": "POTHOLE"}
    )
    assert (read.status_code, write.status_code) == (503, 503)

    lines = [entry for entry in out.log_lines() if entry["message"] == "request"]
    assert [(line["method"], line["path"]) for line in lines] == [
        ("GET", "/open311/v2/requests.json"),
        ("POST", "/open311/v2/requests.json"),
    ]
    servers = [s for s in out.spans if s.kind is SpanKind.SERVER]
    assert len(servers) == 2
    captured = out.text()
    assert API_KEY not in captured


async def test_a_body_over_the_limit_is_answered_413_as_an_open311_error_document(client):
    c, _ = client
    r = await c.post(
        "/open311/v2/requests.json",
        content=b"x" * 2_000_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    [error] = r.json()
    assert error["code"] == 413 and "larger than" in error["description"]
