"""The HTTP queries geo serves to the other services: places, areas, requests near/in/within, heat-map, clusters.

Request-level answers carry exact points: they are for CivicLoop's own services behind the network policy. Only
`/api/v1/public/...` is meant for the public, and it answers in H3 cells.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import h3
from civicloop_staff.roles import READS_REQUESTS, StaffPrincipal
from civicloop_staff.verifier import STAFF_RESPONSES, StaffRefused, require_staff
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from civicloop_geo.adapters import queries
from civicloop_geo.bootstrap import Geo
from civicloop_geo.domain.places import GeocodeResult


async def _staff_of_the_jurisdiction(
    request: Request, staff: Annotated[StaffPrincipal, Depends(require_staff(*READS_REQUESTS))]
) -> StaffPrincipal:
    """A token is for one jurisdiction: geo answers its staff about that one only."""
    jurisdiction_id = request.query_params.get("jurisdiction_id")
    if jurisdiction_id is not None and not staff.acts_for(jurisdiction_id):
        raise StaffRefused(403, "forbidden", "this token is for another jurisdiction")
    return staff


# Deny by default: exact places of requests are for staff who read requests (agent, supervisor, auditor) of the
# jurisdiction; only the routes under /public (aggregates that never show a point) answer anyone.
router = APIRouter(
    prefix="/api/v1",
    tags=["geo"],
    dependencies=[Depends(_staff_of_the_jurisdiction)],
    responses=STAFF_RESPONSES,
)
public_router = APIRouter(prefix="/api/v1/public", tags=["public"])


def get_geo(request: Request) -> Geo:
    return request.app.state.service


GeoDep = Annotated[Geo, Depends(get_geo)]
# Identifiers are printable ASCII and free text has no NUL: PostgreSQL text cannot hold \x00.
IDENT = r"^[\x21-\x7e]+$"
NO_NUL = r"^[^\x00]*$"
Jurisdiction = Annotated[
    str, Query(min_length=1, max_length=120, pattern=IDENT, description="the jurisdiction's id")
]
Lat = Annotated[float, Query(ge=-90, le=90, description="WGS84 latitude")]
Long = Annotated[float, Query(ge=-180, le=180, description="WGS84 longitude")]
ServiceCode = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=IDENT, description="only this category")
]
Kind = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=IDENT, description="only areas of this kind")
]
OpenOnly = Annotated[bool, Query(description="only open, unmerged requests")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def request_filter(
    service_code: ServiceCode = None, open_only: OpenOnly = False, limit: Limit = 100
) -> queries.RequestFilter:
    return queries.RequestFilter(service_code=service_code, open_only=open_only, limit=limit)


# The query parameters every request listing takes (service_code, open_only, limit).
Filter = Annotated[queries.RequestFilter, Depends(request_filter)]


class PlaceRead(BaseModel):
    lat: float
    long: float
    address: str
    confidence: float = Field(ge=0, le=1)
    provider: str
    kind: str


class GeocodeRead(BaseModel):
    query: str
    results: list[PlaceRead]


class AreaRead(BaseModel):
    area_id: str
    kind: str
    name: str
    version: int


class AreasAtRead(BaseModel):
    lat: float
    long: float
    inside_jurisdiction: bool
    areas: list[AreaRead]


class AreaListRead(BaseModel):
    areas: list[AreaRead]


class RequestPlaceRead(BaseModel):
    request_id: str
    service_code: str
    status: str
    submitted_at: datetime
    lat: float
    long: float
    area_ids: list[str]
    merged_into: str | None
    distance_m: float | None = None


class RequestPlaceList(BaseModel):
    requests: list[RequestPlaceRead]


class AreaStatsRead(BaseModel):
    area_id: str
    name: str
    kind: str
    version: int
    open: int
    closed: int
    merged: int
    top_open_categories: list[str]


class AreaStatsList(BaseModel):
    areas: list[AreaStatsRead]


class HeatCellRead(BaseModel):
    h3_cell: str
    lat: float
    long: float
    requests: int


class HeatMapRead(BaseModel):
    resolution: int
    cells: list[HeatCellRead]


class ClusterRead(BaseModel):
    cluster_id: str
    service_code: str
    request_ids: list[str]
    detected_at: datetime
    lat: float
    long: float


class ClusterList(BaseModel):
    clusters: list[ClusterRead]


@router.get("/geocode", response_model=GeocodeRead)
async def geocode(
    geo: GeoDep,
    jurisdiction_id: Jurisdiction,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            pattern=NO_NUL,
            description="an address, 'A St & B Ave', or 'near <landmark>'",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> GeocodeRead:
    """Places for an address, an intersection or a landmark, best first, each with a confidence."""
    results = await geo.geocoder.geocode(jurisdiction_id, q, limit=limit)
    return GeocodeRead(query=q, results=[_place(r) for r in results])


@router.get(
    "/reverse", response_model=PlaceRead, responses={404: {"description": "no address near the point"}}
)
async def reverse(geo: GeoDep, jurisdiction_id: Jurisdiction, lat: Lat, long: Long) -> PlaceRead:
    """The readable address nearest to a GPS point."""
    r = await geo.geocoder.reverse(jurisdiction_id, lat, long)
    if r is None:
        raise HTTPException(404, "no known address near this point")
    return _place(r)


def _place(r: GeocodeResult) -> PlaceRead:
    return PlaceRead(
        lat=r.lat,
        long=r.long,
        address=r.address,
        confidence=r.confidence,
        provider=r.provider,
        kind=r.kind.value,
    )


@router.get("/areas", response_model=AreaListRead)
async def list_areas(geo: GeoDep, jurisdiction_id: Jurisdiction, kind: Kind = None) -> AreaListRead:
    """The jurisdiction's service areas, each at its current version."""
    areas = await geo.areas.list_areas(jurisdiction_id, kind)
    return AreaListRead(
        areas=[AreaRead(area_id=a.area_id, kind=a.kind, name=a.name, version=a.version) for a in areas]
    )


@router.get("/areas/at", response_model=AreasAtRead)
async def areas_at(geo: GeoDep, jurisdiction_id: Jurisdiction, lat: Lat, long: Long) -> AreasAtRead:
    """The service areas covering a point; a point in none is outside the jurisdiction."""
    located = await geo.areas.locate(jurisdiction_id, lat, long)
    return AreasAtRead(
        lat=lat,
        long=long,
        inside_jurisdiction=located.inside,
        areas=[AreaRead(**a.model_dump()) for a in located.areas],
    )


@router.get("/areas/stats", response_model=AreaStatsList)
async def area_stats(geo: GeoDep, jurisdiction_id: Jurisdiction, kind: Kind = None) -> AreaStatsList:
    """Open, closed and merged requests per area, with its commonest open categories."""
    async with geo.pool.connection() as conn:
        rows = await queries.area_statistics(conn, jurisdiction_id, kind)
    return AreaStatsList(areas=[AreaStatsRead(**r) for r in rows])


@router.get("/requests/near", response_model=RequestPlaceList)
async def requests_near(
    geo: GeoDep,
    jurisdiction_id: Jurisdiction,
    lat: Lat,
    long: Long,
    narrow: Filter,
    radius_m: Annotated[float, Query(gt=0, le=50_000)] = 500.0,
) -> RequestPlaceList:
    """Requests within a radius of a point, nearest first."""
    async with geo.pool.connection() as conn:
        rows = await queries.within_radius(conn, jurisdiction_id, lat, long, radius_m, narrow)
    return _request_places(rows)


@router.get("/requests/in-area/{area_id}", response_model=RequestPlaceList)
async def requests_in_area(
    geo: GeoDep,
    area_id: Annotated[str, Path(min_length=1, max_length=120, pattern=IDENT)],
    jurisdiction_id: Jurisdiction,
    narrow: Filter,
) -> RequestPlaceList:
    """Requests placed in a service area, newest first."""
    async with geo.pool.connection() as conn:
        rows = await queries.in_area(conn, jurisdiction_id, area_id, narrow)
    return _request_places(rows)


def _bbox_error(message: str) -> RequestValidationError:
    # The same 422 shape as every other invalid parameter, so clients handle one error format.
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", "bbox"), "msg": message, "input": None}]
    )


def parse_bbox(bbox: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
    except ValueError:
        raise _bbox_error("bbox is west,south,east,north in WGS84 degrees") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise _bbox_error("bbox must have west < east within -180..180 and south < north within -90..90")
    return west, south, east, north


@router.get("/requests/in-bbox", response_model=RequestPlaceList)
async def requests_in_bbox(
    geo: GeoDep,
    jurisdiction_id: Jurisdiction,
    bbox: Annotated[str, Query(description="west,south,east,north (WGS84)", max_length=200)],
    narrow: Filter,
) -> RequestPlaceList:
    """Requests inside a bounding box, newest first."""
    box = parse_bbox(bbox)
    async with geo.pool.connection() as conn:
        rows = await queries.in_bbox(conn, jurisdiction_id, box, narrow)
    return _request_places(rows)


@public_router.get("/heatmap", response_model=HeatMapRead)
async def heatmap(
    geo: GeoDep,
    jurisdiction_id: Jurisdiction,
    resolution: Annotated[int, Query(ge=5, le=9, description="H3 resolution (≤ the stored one)")] = 8,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    service_code: ServiceCode = None,
) -> HeatMapRead:
    """Requests per H3 cell over the last days: public-safe, it never shows a point."""
    resolution = min(resolution, geo.settings.public_h3_resolution)
    since = datetime.now(UTC) - timedelta(days=days)
    async with geo.pool.connection() as conn:
        cells = await queries.heat_cells(conn, jurisdiction_id, since=since, service_code=service_code)
    counts: Counter[str] = Counter()
    for cell, n in cells:
        counts[h3.cell_to_parent(cell, resolution) if h3.get_resolution(cell) > resolution else cell] += n
    out = []
    for cell, n in sorted(counts.items()):
        lat, long = h3.cell_to_latlng(cell)
        out.append(HeatCellRead(h3_cell=cell, lat=round(lat, 6), long=round(long, 6), requests=n))
    return HeatMapRead(resolution=resolution, cells=out)


@router.get("/clusters", response_model=ClusterList)
async def clusters(
    geo: GeoDep, jurisdiction_id: Jurisdiction, hours: Annotated[int, Query(ge=1, le=24 * 90)] = 72
) -> ClusterList:
    """Hot spots announced in the last hours, newest first."""
    async with geo.pool.connection() as conn:
        rows = await queries.recent_clusters(
            conn, jurisdiction_id, datetime.now(UTC) - timedelta(hours=hours)
        )
    return ClusterList(clusters=[ClusterRead(**{**r, "cluster_id": str(r["cluster_id"])}) for r in rows])


def _request_places(rows: list[dict[str, Any]]) -> RequestPlaceList:
    return RequestPlaceList(requests=[RequestPlaceRead(**r) for r in rows])
