"""Nothing secret or personal leaves intake in a log line or a span: a partner's `api_key` and a resident's phone
sent in a query string reach neither, through the real app factory, logging setup and tracer provider."""

import httpx
import pytest
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.entrypoints.routes import get_intake
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing.observability import captured_output
from intake_fakes import FakeCatalogue, intake_on_fakes
from opentelemetry.trace import SpanKind

API_KEY = "partner-key-4f9a2c77e1"
PHONE = "2025550143"


@pytest.fixture
async def client():
    intake = await intake_on_fakes(FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True)))
    with captured_output("civicloop-intake") as out:
        app = create_app(IntakeSettings(env=Environment.test))
        app.dependency_overrides[get_intake] = lambda: intake
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
            yield c, out


async def test_a_query_string_api_key_and_phone_reach_neither_logs_nor_spans(client):
    c, out = client
    r = await c.post(
        "/api/v1/track",
        params={"phone": PHONE, "api_key": API_KEY},
        json={"number": "ZZZZ-ZZZZ", "phone": PHONE},
    )
    assert r.status_code == 404

    [line] = [entry for entry in out.log_lines() if entry["message"] == "request"]
    assert line["path"] == "/api/v1/track" and line["status"] == 404
    [server] = [s for s in out.spans if s.kind is SpanKind.SERVER]
    assert server.attributes["http.route"] == "/api/v1/track"
    captured = out.text()
    assert API_KEY not in captured
    assert PHONE not in captured and "555-0143" not in captured


async def test_a_body_over_the_limit_is_answered_413_in_intake_s_error_format(client):
    c, _ = client
    r = await c.post(
        "/api/v1/requests", content=b"x" * 2_000_000, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
