"""`require_staff` inside a small FastAPI app: deny by default, the route's roles, the service's error format."""

import json
import uuid
from typing import Annotated

import httpx
import pytest
from civicloop_open311.http import render_open311_error
from civicloop_staff.roles import READS_REQUESTS, WORKS_REQUESTS, StaffPrincipal
from civicloop_staff.tokens import StaffTokenIssuer, StaffTokenVerifier, new_signing_key
from civicloop_staff.verifier import SCHEME_NAME, STAFF_RESPONSES, install_staff_verifier, require_staff
from fastapi import Depends, FastAPI

PRIVATE, PUBLIC = new_signing_key("k1")
ISSUER = StaffTokenIssuer(PRIVATE)
STAFF = uuid.uuid4()


def token(*roles: str) -> str:
    return ISSUER.issue(staff_id=STAFF, jurisdiction_id="demo", roles=roles)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def build_app(**install) -> FastAPI:
    app = FastAPI()
    install_staff_verifier(app, StaffTokenVerifier(PUBLIC), **install)

    @app.post("/agent/acknowledge", responses=STAFF_RESPONSES)
    async def acknowledge(
        staff: Annotated[StaffPrincipal, Depends(require_staff(*WORKS_REQUESTS))],
    ):
        return {"actor": staff.actor.model_dump(mode="json")}

    @app.get("/staff/me")
    async def me(staff: Annotated[StaffPrincipal, Depends(require_staff())]):
        return {"roles": sorted(r.value for r in staff.roles)}

    @app.get("/agent/requests")
    async def queue(staff: Annotated[StaffPrincipal, Depends(require_staff(*READS_REQUESTS))]):
        return {"demo": staff.acts_for("demo"), "other": staff.acts_for("other")}

    @app.get("/public")
    async def public():
        return {"ok": True}

    return app


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    )


@pytest.fixture
async def client():
    async with client_of(build_app()) as c:
        yield c


async def test_the_right_role_passes_and_is_the_actor(client: httpx.AsyncClient):
    for role in ("agent", "supervisor"):
        answer = await client.post("/agent/acknowledge", headers=bearer(token(role)))
        assert answer.status_code == 200
        assert answer.json() == {"actor": {"kind": "agent", "id": str(STAFF)}}


async def test_anonymous_and_invalid_callers_get_401_with_a_challenge(client: httpx.AsyncClient):
    for headers in ({}, bearer("nonsense"), {"Authorization": token("agent")}, bearer(token("agent")[:-2])):
        answer = await client.post("/agent/acknowledge", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json() == {"error": "unauthenticated", "detail": answer.json()["detail"]}


async def test_a_valid_token_without_the_role_gets_403(client: httpx.AsyncClient):
    answer = await client.post("/agent/acknowledge", headers=bearer(token("auditor", "admin")))
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden" and "agent, supervisor" in answer.json()["detail"]


async def test_auditors_read_but_do_not_act_and_a_token_is_for_one_jurisdiction(client: httpx.AsyncClient):
    auditor = bearer(token("auditor"))
    assert (await client.get("/agent/requests", headers=auditor)).json() == {"demo": True, "other": False}
    assert (await client.post("/agent/acknowledge", headers=auditor)).status_code == 403
    assert (await client.get("/agent/requests", headers=bearer(token("admin")))).status_code == 403


async def test_no_roles_named_admits_any_staff_member_only(client: httpx.AsyncClient):
    me = await client.get("/staff/me", headers=bearer(token("auditor")))
    assert me.json() == {"roles": ["auditor"]}
    assert (await client.get("/staff/me")).status_code == 401
    assert (await client.get("/public")).status_code == 200


async def test_headers_a_client_or_proxy_sets_are_not_believed(client: httpx.AsyncClient):
    claimed = {"CivicLoop-Agent": str(STAFF), "X-Forwarded-User": "admin", "X-Staff-Roles": "admin"}
    assert (await client.post("/agent/acknowledge", headers=claimed)).status_code == 401


async def test_refusals_come_in_the_service_s_own_format():
    async with client_of(build_app(render_error=render_open311_error)) as open311:
        answer = await open311.post("/agent/acknowledge", headers=bearer(token("auditor")))
    assert answer.status_code == 403  # Open311's error document (XML unless the path asks for JSON)
    assert "<errors><error><code>403</code><description>this route needs" in answer.text


async def test_an_app_that_never_installed_the_verifier_lets_nobody_in():
    app = FastAPI()

    @app.get("/agent/x")
    async def x(staff: Annotated[StaffPrincipal, Depends(require_staff(*WORKS_REQUESTS))]):
        return {}

    async with client_of(app) as bare:
        answer = await bare.get("/agent/x", headers=bearer(token("agent")))
    assert answer.status_code == 500


async def test_the_openapi_document_marks_staff_routes(client: httpx.AsyncClient):
    document = (await client.get("/openapi.json")).json()
    assert SCHEME_NAME in document["components"]["securitySchemes"]
    paths = document["paths"]
    assert paths["/agent/acknowledge"]["post"]["security"] == [{SCHEME_NAME: []}]
    assert {"401", "403"} <= set(paths["/agent/acknowledge"]["post"]["responses"])
    assert "security" not in paths["/public"]["get"]
    assert json.dumps(document).count(SCHEME_NAME) >= 3
