"""Every failure under the Open311 base path is an Open311 error document in the asked format (ER-01..ER-04,
G-05, G-36), checked on the real app factory (no lifespan: these answers need no database) and on a bare app."""

import json

import httpx
import pytest
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import Environment, GatewaySettings
from civicloop_open311.errors import Open311Error, raise_open311
from civicloop_open311.http import install_open311_error_handlers
from fastapi import FastAPI
from lxml import etree


def _errors(response: httpx.Response, fmt: str) -> list[tuple[str, str]]:
    if fmt == "json":
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        return [(str(e["code"]), e["description"]) for e in response.json()]
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = etree.fromstring(response.content)
    assert root.tag == "errors"
    return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]


@pytest.fixture
async def client():
    app = create_app(GatewaySettings(env=Environment.test))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        yield c


async def test_ER_02_an_unknown_route_is_a_404_document_in_xml(client):
    r = await client.get("/open311/v2/nowhere")
    assert r.status_code == 404
    [(code, description)] = _errors(r, "xml")
    assert code == "404" and "/open311/v2/nowhere" in description
    assert r.headers["access-control-allow-origin"] == "*"


async def test_ER_03_an_unknown_json_route_answers_in_json(client):
    r = await client.get("/open311/v2/no/such/thing.json")
    assert r.status_code == 404
    assert _errors(r, "json")[0][0] == "404"


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_ER_02_a_wrong_method_is_a_405_document_with_allow(client, fmt):
    r = await client.put(f"/open311/v2/discovery.{fmt}")
    assert r.status_code == 405
    assert "GET" in r.headers["allow"]
    [(code, description)] = _errors(r, fmt)
    assert code == "405" and "PUT" in description


async def test_outside_the_base_path_fastapi_answers_as_usual(client):
    r = await client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    assert "access-control-allow-origin" not in r.headers


def _bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/open311/v2/boom.{fmt}")
    async def boom(fmt: str) -> None:
        raise RuntimeError("secret stack detail")

    @app.get("/open311/v2/refuse.{fmt}")
    async def refuse(fmt: str) -> None:
        raise_open311(403, "Invalid api_key received -- can't proceed with create_request.")

    @app.get("/open311/v2/several.{fmt}")
    async def several(fmt: str, n: int) -> None:
        raise Open311Error(400, "E1", "first")

    install_open311_error_handlers(app, base_path="/open311/v2")
    return app


@pytest.fixture
async def bare():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_bare_app()), base_url="http://gw") as c:
        yield c


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_ER_04_unexpected_failures_are_500_documents_without_a_trace(bare, fmt):
    r = await bare.get(f"/open311/v2/boom.{fmt}")
    assert r.status_code == 500
    [(code, _description)] = _errors(r, fmt)
    assert code == "500"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert r.headers["access-control-allow-origin"] == "*"


async def test_ER_01_raise_open311_is_the_spec_example(bare):
    r = await bare.get("/open311/v2/refuse.json")
    assert r.status_code == 403
    assert r.json() == [
        {"code": 403, "description": "Invalid api_key received -- can't proceed with create_request."}
    ]


async def test_ER_07_codes_may_differ_from_the_http_status(bare):
    r = await bare.get("/open311/v2/several.xml", params={"n": "1"})
    assert r.status_code == 400 and _errors(r, "xml") == [("E1", "first")]


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_ER_02_validation_errors_are_400_not_422_and_name_the_parameter(bare, fmt):
    r = await bare.get(f"/open311/v2/several.{fmt}", params={"n": "not-a-number"})
    assert r.status_code == 400
    [(code, description)] = _errors(r, fmt)
    assert code == "400" and description.startswith("n:")
    assert "not-a-number" not in description


async def test_ER_03_json_error_bodies_are_top_level_arrays(bare):
    r = await bare.get("/open311/v2/boom.json")
    assert isinstance(json.loads(r.content), list)


@pytest.mark.parametrize("fmt", ["xml", "json"])
async def test_G_10_a_nul_character_is_a_400_before_it_reaches_the_database(bare, fmt):
    r = await bare.get(f"/open311/v2/refuse.{fmt}", params={"jurisdiction_id": "a\x00b"})
    assert r.status_code == 400
    [(code, description)] = _errors(r, fmt)
    assert code == "400" and "NUL" in description


async def test_ER_02_the_openapi_document_promises_400_not_422_under_the_base_path(client):
    schema = (await client.get("/openapi.json")).json()
    operations = [
        op for path, ops in schema["paths"].items() if path.startswith("/open311/v2/") for op in ops.values()
    ]
    assert operations
    assert all("422" not in op["responses"] for op in operations)
    listing = schema["paths"]["/open311/v2/requests.{fmt}"]["get"]["responses"]
    assert set(listing["200"]["content"]) == {"text/xml", "application/json"}
    assert listing["400"]["content"]["application/json"]["schema"]["type"] == "array"
