"""The jurisdiction's catalogue as the projections keep it: services (latest wins) and versioned service areas."""

from __future__ import annotations

from typing import Any

from civicloop_events import Event, ServiceAreaDefined

AREA_GEOMETRY_TYPES = {"Polygon", "MultiPolygon"}


class InvalidAreaGeometry(ValueError):
    """A service area whose geometry is not a (multi)polygon: the handler rejects it (retried, then dead-lettered)."""


def area_geometry(event: Event[Any]) -> dict[str, Any]:
    """The GeoJSON geometry of a `ServiceAreaDefined`, checked to be something an area can be."""
    payload: ServiceAreaDefined = event.payload
    geometry = payload.geometry
    if geometry.get("type") not in AREA_GEOMETRY_TYPES or not geometry.get("coordinates"):
        raise InvalidAreaGeometry(
            f"service area {payload.area_id!r}: a {geometry.get('type')!r} geometry is not a (multi)polygon"
        )
    return geometry
