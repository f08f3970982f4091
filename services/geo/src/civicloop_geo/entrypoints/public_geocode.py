"""`GET /api/v1/public/geocode`: an address looked up for anyone (the notifier's text-message reports, a public form).

Deliberately public and so deliberately narrow: the same geocoder as the staff route, but only places inside the
jurisdiction's area, at most `MAX_RESULTS`, and only the address, the point and the confidence (the point of an
address anyone typed, never of a request). Its own per-client rate limit is set in `http.py` (`PUBLIC_GEOCODE_PATH`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from civicloop_geo.entrypoints.query_api import NO_NUL, GeoDep, Jurisdiction

PUBLIC_GEOCODE_PATH = "/api/v1/public/geocode"
MAX_RESULTS = 5

router = APIRouter(prefix="/api/v1/public", tags=["public"])


class PublicPlaceRead(BaseModel):
    address: str
    lat: float
    long: float
    confidence: float = Field(ge=0, le=1)


class PublicGeocodeRead(BaseModel):
    results: list[PublicPlaceRead] = Field(description="inside the jurisdiction's area, best first")


@router.get("/geocode", response_model=PublicGeocodeRead)
async def public_geocode(
    geo: GeoDep,
    jurisdiction_id: Jurisdiction,
    q: Annotated[
        str, Query(min_length=1, max_length=200, pattern=NO_NUL, description="an address or 'A St & B Ave'")
    ],
) -> PublicGeocodeRead:
    """Places for an address, best first, inside the jurisdiction's area only."""
    found = await geo.geocoder.geocode(jurisdiction_id, q, limit=MAX_RESULTS)
    covered = await geo.areas.locate_many([(jurisdiction_id, r.lat, r.long) for r in found])
    inside = [r for r, where in zip(found, covered, strict=True) if where.inside]
    return PublicGeocodeRead(
        results=[
            PublicPlaceRead(address=r.address, lat=r.lat, long=r.long, confidence=r.confidence)
            for r in inside[:MAX_RESULTS]
        ]
    )
