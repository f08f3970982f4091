"""The gateway limits every client by its address: over the limit, a 429 Open311 error document in the asked format
with Retry-After; other clients go on. Checked on the real app factory (no lifespan: refusals need no database)."""

import httpx
import pytest
from civicloop_gateway.entrypoints.http import create_app
from civicloop_gateway.settings import Environment, GatewaySettings
from lxml import etree


def client_at(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://gw"
    )


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_client_over_its_limit_gets_a_429_open311_document_with_retry_after(fmt):
    app = create_app(GatewaySettings(env=Environment.test, rate_limit_per_client="2/minute"))
    path = f"/open311/v2/nowhere.{fmt}"  # answered without a database: 404 until the limit
    async with client_at(app, "198.51.100.30") as greedy, client_at(app, "198.51.100.31") as other:
        assert [(await greedy.get(path)).status_code for _ in range(2)] == [404, 404]
        refused = await greedy.get(path)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 120  # sliding: at most twice the window
        if fmt == "json":
            assert refused.headers["content-type"] == "application/json; charset=utf-8"
            [error] = refused.json()
            code, description = str(error["code"]), error["description"]
        else:
            assert refused.headers["content-type"] == "text/xml; charset=utf-8"
            [error] = etree.fromstring(refused.content).findall("error")
            code, description = error.findtext("code"), error.findtext("description")
        assert code == "429" and "too many requests" in description
        assert (await other.get(path)).status_code == 404
        assert (await greedy.get("/healthz")).status_code == 200


async def test_without_a_limit_the_gateway_has_no_limiter():
    app = create_app(GatewaySettings(env=Environment.test, rate_limit_per_client=""))
    async with client_at(app, "198.51.100.32") as c:
        assert {(await c.get("/open311/v2/nowhere.json")).status_code for _ in range(60)} == {404}
