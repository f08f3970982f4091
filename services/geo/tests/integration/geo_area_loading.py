"""Real boundary files -> prepared areas -> geo.service_areas, for the service-area integration tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from civicloop_events import Actor, Event, ServiceAreaDefined
from civicloop_events.envelope import ActorKind
from civicloop_geo.adapters.area_store import PostgresAreaStore
from civicloop_geo.domain.boundaries import AreaNaming, BoundaryReport, prepare_areas
from civicloop_testing import shared_dir
from civicloop_testing.events import request_event
from psycopg_pool import AsyncConnectionPool

NAMINGS = {
    "nyc-council-districts": AreaNaming(
        id_property="district_number", name_template="District {district_number}", id_prefix="district-"
    ),
    "la-neighborhood-councils-2019": AreaNaming(id_property="nc_id", name_property="name", id_prefix="nc-"),
    "somerville-wards": AreaNaming(id_property="Ward", name_template="Ward {Ward}", id_prefix="ward-"),
}
KINDS = {
    "nyc-council-districts": "council_district",
    "la-neighborhood-councils-2019": "neighborhood_council",
    "somerville-wards": "ward",
}


def new_jurisdiction() -> str:
    return f"sa-{uuid.uuid4().hex[:8]}"


def data_dir() -> Path:
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/data (the real boundaries) is not beside this checkout")
    return shared / "data"


def boundary_path(name: str) -> Path:
    return data_dir() / "boundaries" / f"{name}.geojson"


LOADER = Actor(kind=ActorKind.system, id="geo-tests")


def prepared(name: str) -> BoundaryReport:
    doc = json.loads(boundary_path(name).read_text())
    return prepare_areas(doc["features"], naming=NAMINGS[name])


def area_event(
    jurisdiction: str, area_id: str, name: str, kind: str, geometry: dict[str, Any], source: str = "test"
) -> Event[Any]:
    payload = ServiceAreaDefined(area_id=area_id, name=name, kind=kind, geometry=geometry, source=source)
    return request_event(payload, request_id=None, actor=LOADER, source="cli", jurisdiction_id=jurisdiction)


async def define_all(pool: AsyncConnectionPool, events: list[Event[Any]]) -> list[int]:
    store = PostgresAreaStore()
    async with pool.connection() as conn:
        return [await store.define(conn, e) for e in events]


async def load_report(
    pool: AsyncConnectionPool, jurisdiction: str, report: BoundaryReport, kind: str
) -> list[int]:
    return await define_all(
        pool, [area_event(jurisdiction, a.area_id, a.name, kind, a.geometry) for a in report.areas]
    )
