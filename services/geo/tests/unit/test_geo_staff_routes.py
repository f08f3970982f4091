"""Geo's query routes admit staff of the jurisdiction asked about; the heat-map answers anyone. Checked on the real
app factory without its lifespan: a refusal needs no database."""

from __future__ import annotations

import httpx
from civicloop_geo.entrypoints.http import create_app
from civicloop_geo.settings import GeoSettings
from civicloop_runtime.settings import Environment
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests


def _client() -> httpx.AsyncClient:
    app = create_app(GeoSettings(env=Environment.test), staff_verifier=verifier_for_tests())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://geo")


async def test_exact_places_need_staff_of_that_jurisdiction() -> None:
    query = {"jurisdiction_id": "demo", "lat": 34.05, "long": -118.25, "radius_m": 100}
    async with _client() as client:
        assert (await client.get("/api/v1/requests/near", params=query)).status_code == 401
        admin = staff_headers(None, "admin")  # a role that does not read requests
        assert (await client.get("/api/v1/requests/near", params=query, headers=admin)).status_code == 403
        other = staff_headers(None, "agent", jurisdiction_id="shelbyville")
        r = await client.get("/api/v1/requests/near", params=query, headers=other)
        assert r.status_code == 403 and "another jurisdiction" in r.json()["detail"]


async def test_the_heat_map_is_not_a_staff_route() -> None:
    async with _client() as client:
        r = await client.get("/api/v1/public/heatmap", params={"jurisdiction_id": "demo"})
    # Past any guard: without its lifespan the app has no database, so it fails there (500), never 401.
    assert r.status_code not in (401, 403)
