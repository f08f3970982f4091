"""Which geocoder the settings ask for: the local gazetteer, or a remote provider."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from civicloop_geo.adapters.gazetteer import PostgisGazetteer
from civicloop_geo.adapters.remote_geocoders import (
    CENSUS_URL,
    NOMINATIM_URL,
    PELIAS_URL,
    CensusGeocoder,
    NominatimGeocoder,
    PeliasGeocoder,
)
from civicloop_geo.service_layer.ports import Geocoder
from civicloop_geo.settings import GeoSettings


def make_geocoder(settings: GeoSettings, pool: AsyncConnectionPool) -> Geocoder:
    """Remote geocoders own an HTTP client: close it with `await geocoder.aclose()` when the service stops."""
    common: dict[str, Any] = {
        "timeout_s": settings.geocoder_timeout_s,
        "user_agent": settings.geocoder_user_agent,
    }
    match settings.geocoder:
        case "gazetteer":
            return PostgisGazetteer(pool)
        case "nominatim":
            return NominatimGeocoder(settings.geocoder_url or NOMINATIM_URL, **common)
        case "pelias":
            return PeliasGeocoder(
                settings.geocoder_url or PELIAS_URL,
                api_key=settings.geocoder_api_key.get_secret_value() if settings.geocoder_api_key else "",
                **common,
            )
        case "census":
            return CensusGeocoder(settings.geocoder_url or CENSUS_URL, **common)
    raise ValueError(f"unknown geocoder {settings.geocoder!r}")
