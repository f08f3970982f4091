"""What the handlers need from the world. Adapters implement these (`adapters/`); unit tests use the fakes."""

from __future__ import annotations

import abc

from civicloop_events.payloads import AreaRef

from civicloop_geo.domain.places import GeocodeResult


class GeocoderUnavailable(Exception):
    """A remote geocoder did not answer (timeout, 5xx, refused): the consumer retries, then reports it."""


class Geocoder(abc.ABC):
    """Forward and reverse geocoding for one jurisdiction: the local gazetteer, or a remote provider."""

    name: str

    @abc.abstractmethod
    async def geocode(self, jurisdiction_id: str, query: str, *, limit: int = 5) -> list[GeocodeResult]:
        """Candidates for an address, an intersection ('A St & B Ave') or a landmark, best first."""

    @abc.abstractmethod
    async def reverse(self, jurisdiction_id: str, lat: float, long: float) -> GeocodeResult | None:
        """The readable address nearest to a point, or None when nothing is near enough."""


class AreaResolver(abc.ABC):
    @abc.abstractmethod
    async def areas_at(self, jurisdiction_id: str, lat: float, long: float) -> list[AreaRef]:
        """The current version of every service area covering the point (boundaries included)."""
