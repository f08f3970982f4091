"""`GET /api/v1/public/areas`: the jurisdiction's service areas as GeoJSON, for anyone (the residents' report map).

Deliberately public: the areas are the county's published boundaries, and the answer carries each area's id, kind,
name and version and its outline, simplified, and nothing else (no request, no point anyone reported). Bounded in
size (`CIVICLOOP_PUBLIC_AREAS_MAX_BYTES`, `..._MAX_AREAS`), cacheable (`Cache-Control: public`, an ETag that changes
only when an area gets a new version; `If-None-Match` is answered 304 after one small query).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from civicloop_geo.entrypoints.query_api import GeoDep, Jurisdiction, Kind
from civicloop_geo.service_layer.area_maps import AreaMapTooLarge

PUBLIC_AREAS_PATH = "/api/v1/public/areas"
MEDIA_TYPE = "application/geo+json"

router = APIRouter(prefix="/api/v1/public", tags=["public"])


class GeoJSONResponse(JSONResponse):
    media_type = MEDIA_TYPE


class AreaProperties(BaseModel):
    area_id: str
    kind: str
    name: str
    version: int


class AreaGeometry(BaseModel):
    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]


class AreaFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    properties: AreaProperties
    geometry: AreaGeometry


class AreaFeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    simplified_m: float = Field(description="the tolerance the outlines were simplified to, in metres")
    truncated: bool = Field(description="true when the jurisdiction has more areas than the map holds")
    features: list[AreaFeature]


_CACHE_HEADERS = {
    "ETag": {
        "description": "changes when an area of the map gets a new version",
        "schema": {"type": "string"},
    },
    "Cache-Control": {"description": "public, with a max-age", "schema": {"type": "string"}},
}


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    given = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in given or etag in given


@router.get(
    "/areas",
    response_model=AreaFeatureCollection,
    response_class=GeoJSONResponse,
    responses={
        200: {"headers": _CACHE_HEADERS},
        304: {"description": "unchanged since the ETag given in If-None-Match", "headers": _CACHE_HEADERS},
        503: {"description": "the areas do not fit the configured bound"},
    },
)
async def public_areas(
    geo: GeoDep,
    jurisdiction_id: Jurisdiction,
    kind: Kind = None,
    if_none_match: Annotated[str | None, Header(max_length=2000)] = None,
) -> Response:
    """The jurisdiction's current service areas as GeoJSON, outlines simplified: public, no request in it."""
    maps = geo.area_maps
    etag = await maps.current_etag(jurisdiction_id, kind)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={geo.settings.public_areas_max_age_s}"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    try:
        found = await maps.current(jurisdiction_id, kind, etag)
    except AreaMapTooLarge:
        return JSONResponse(
            {"error": "unavailable", "detail": "the service areas do not fit the map's bound"},
            status_code=503,
        )
    return Response(found.body, media_type=MEDIA_TYPE, headers=headers)
