"""Resident access at its edges: the development sink (a file only its owner reads, refused in production), and the
HTTP routes over the real app (anonymous callers refused where a session is needed, the error shapes, no contact,
code or token in a log line or a span)."""

import stat
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import pytest
from civicloop_intake.adapters.access_code_sink import FileAccessCodeSink, read_sink
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.resident_access import parse_contact
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.entrypoints.routes import get_intake
from civicloop_intake.service_layer.resident_ports import AccessCodeMessage
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing.observability import captured_output
from intake_fakes import FakeCatalogue, FakeTrackingView, intake_on_fakes
from pydantic import ValidationError
from resident_fakes import resident_access

PUBLIC = {
    ("post", "/api/v1/track"),
    ("post", "/api/v1/residents/codes"),
    ("post", "/api/v1/residents/sessions"),
}


async def test_the_sink_appends_one_line_per_code_to_a_file_only_its_owner_reads(tmp_path):
    path = tmp_path / "codes.jsonl"
    sink = FileAccessCodeSink(path)
    expires = datetime(2026, 12, 5, 9, 10, tzinfo=UTC)
    for contact, code in (("+1 202 555 0143", "012345"), ("ana@example.org", "999999")):
        await sink.send(AccessCodeMessage(parse_contact(contact, default_region="US"), code, expires))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_sink(path) == [
        {"to": "+12025550143", "kind": "phone", "code": "012345", "expires_at": expires.isoformat()},
        {"to": "ana@example.org", "kind": "email", "code": "999999", "expires_at": expires.isoformat()},
    ]


def test_the_sink_is_refused_outside_dev_and_test(tmp_path, monkeypatch):
    monkeypatch.delenv("CIVICLOOP_ENV", raising=False)
    with pytest.raises(ValidationError, match="dev and test only"):
        IntakeSettings(vault_pepper="a-long-enough-secret-pepper", resident_code_sink_file=tmp_path / "c")
    assert IntakeSettings(env=Environment.dev, resident_code_sink_file=tmp_path / "c").resident_code_sink_file


@pytest.fixture
async def client():
    catalogue = FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True))
    intake = await intake_on_fakes(catalogue)
    intake.residents, *_ = resident_access(FakeTrackingView(), catalogue, answer_floor_s=0)
    app = create_app(IntakeSettings(env=Environment.test))
    app.dependency_overrides[get_intake] = lambda: intake
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        yield c, app


async def test_every_resident_route_but_the_public_ones_refuses_anonymous_callers(client):
    c, app = client
    routes = [
        (method, path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path.startswith("/api/v1/residents") or path == "/api/v1/track"
    ]
    assert set(routes) > PUBLIC and len(routes) > len(PUBLIC)
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        for headers in ({}, {"Authorization": "Bearer not-a-session"}, {"Authorization": "Basic YTpi"}):
            r = await c.request(method, path.replace("{number}", "0011-1ABC"), headers=headers)
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["error"] == "not_signed_in" and r.headers["WWW-Authenticate"] == "Bearer"


async def test_the_code_routes_answer_in_intakes_error_format(client):
    c, _ = client
    r = await c.post("/api/v1/residents/codes", json={"contact": "(202) 555-0143"})
    assert r.status_code == 202 and r.json()["detail"] == "if this contact is on file, a code is on its way"
    r = await c.post("/api/v1/residents/codes", json={"contact": "hello"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "contact"]
    r = await c.post("/api/v1/residents/codes", json={"contact": "(202) 555-0143", "extra": 1})
    assert r.status_code == 422
    r = await c.post("/api/v1/residents/sessions", json={"contact": "(202) 555-0143", "code": "123456"})
    assert r.status_code == 401 and r.json() == {
        "error": "invalid_code",
        "detail": "no valid code for this contact matches; ask for a new one",
    }


async def test_without_resident_access_the_code_routes_are_unavailable():
    intake = await intake_on_fakes(FakeCatalogue())
    app = create_app(IntakeSettings(env=Environment.test))
    app.dependency_overrides[get_intake] = lambda: intake
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        r = await c.post("/api/v1/residents/codes", json={"contact": "(202) 555-0143"})
    assert r.status_code == 503 and r.json()["error"] == "codes_unavailable"


async def test_no_contact_code_or_token_reaches_logs_or_spans():
    catalogue = FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True))
    intake = await intake_on_fakes(catalogue)
    access, directory, sender, _ = resident_access(FakeTrackingView(), catalogue, answer_floor_s=0)
    intake.residents = access
    contact = parse_contact("(202) 555-0143", default_region="US")
    directory.by_contact[contact] = uuid4()
    with captured_output("civicloop-intake") as out:
        app = create_app(IntakeSettings(env=Environment.test))
        app.dependency_overrides[get_intake] = lambda: intake
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
            await c.post("/api/v1/residents/codes", json={"contact": "(202) 555-0143"})
            code = sender.sent[-1].code
            r = await c.post("/api/v1/residents/sessions", json={"contact": "(202) 555-0143", "code": code})
            token = r.json()["access_token"]
            listed = await c.get(
                "/api/v1/residents/me/requests", headers={"Authorization": f"Bearer {token}"}
            )
            assert listed.status_code == 200
            sender.failing = True  # the sender's failure is logged, without the contact
            await c.post("/api/v1/residents/codes", json={"contact": "(202) 555-0143"})
    assert [e for e in out.log_lines() if e["message"] == "request"]  # the access log did write
    assert any("not handed to the sender" in e["message"] for e in out.log_lines())
    captured = out.text()
    for secret in ("555-0143", "5550143", code, token):
        assert secret not in captured
