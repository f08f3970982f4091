"""Every agent route of intake's OpenAPI document is a staff route: anonymous callers get 401, staff without a role
that works requests 403, and nothing reaches the log."""

import re

import httpx
import pytest
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.entrypoints.routes import get_intake
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from intake_fakes import FakeCatalogue, intake_on_fakes


@pytest.fixture
async def app_and_intake():
    intake = await intake_on_fakes(FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True)))
    app = create_app(IntakeSettings(env=Environment.test), staff_verifier=verifier_for_tests())
    app.dependency_overrides[get_intake] = lambda: intake
    return app, intake


def agent_operations(app) -> list[tuple[str, str, list]]:
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1/agent/"):
            found += [(method, path, op.get("security", [])) for method, op in operations.items()]
    return found


async def test_every_agent_route_is_marked_and_refuses_strangers(app_and_intake):
    app, intake = app_and_intake
    operations = agent_operations(app)
    assert len(operations) >= 14  # the commands, bulk, the work policy, merge and location
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        for method, path, security in operations:
            assert security == [{"staffToken": []}], path
            url = re.sub(r"\{[^}]+\}", "AAAA-0001", path)
            anonymous = await client.request(method, url, json={})
            assert anonymous.status_code == 401, (method, path, anonymous.text)
            if method == "post":
                auditor = await client.request(method, url, json={}, headers=staff_headers(None, "auditor"))
                assert auditor.status_code == 403, (method, path, auditor.text)
    assert intake.event_log.events == []
