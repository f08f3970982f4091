"""The public map of a jurisdiction's service areas: a GeoJSON FeatureCollection of bounded size, and its ETag.

Each area is a Feature with its id, kind, name and version, and its geometry simplified (`tolerance_m`, doubled until
the whole map fits in `max_bytes`). Nothing about requests or people: the areas are the county's published
boundaries. The ETag is a digest of what the map is made from (each current area's id and version, and the
settings that shape it), so a map unchanged since the last call is known from one cheap query, and the map built once
is kept (a few per process) until an area gets a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import asdict, dataclass

from civicloop_geo.service_layer.ports import AreaOutline, AreaOutlines

FORMAT = 1  # bump when the map's shape changes, so caches holding the old one see a new ETag
MAX_DOUBLINGS = 10  # 10 m becomes at most ~10 km: a tolerance past that draws nothing useful anyway
KEPT_MAPS = 32


@dataclass(frozen=True)
class AreaMap:
    etag: str
    body: bytes
    tolerance_m: float


@dataclass(frozen=True)
class AreaMapPolicy:
    tolerance_m: float
    max_bytes: int
    max_areas: int


def feature_collection(outlines: list[AreaOutline], *, tolerance_m: float, truncated: bool) -> bytes:
    """The GeoJSON document (RFC 7946) of the outlines; `simplified_m` and `truncated` are foreign members."""
    features = ",".join(_feature(o) for o in outlines)
    head = json.dumps({"simplified_m": tolerance_m, "truncated": truncated}, separators=(",", ":"))[1:-1]
    return f'{{"type":"FeatureCollection",{head},"features":[{features}]}}'.encode()


def _feature(o: AreaOutline) -> str:
    properties = {"area_id": o.area_id, "kind": o.kind, "name": o.name, "version": o.version}
    # The geometry is ST_AsGeoJSON's text, put in as it is.
    return (
        f'{{"type":"Feature","id":{json.dumps(o.area_id)},'
        f'"properties":{json.dumps(properties, separators=(",", ":"))},"geometry":{o.geometry}}}'
    )


class AreaMaps:
    """Builds and keeps the public maps of service areas."""

    def __init__(self, outlines: AreaOutlines, policy: AreaMapPolicy) -> None:
        self.source = outlines
        self.policy = policy
        self._kept: OrderedDict[str, AreaMap] = OrderedDict()

    def etag_of(self, jurisdiction_id: str, kind: str | None, versions: list[tuple[str, int]]) -> str:
        made_of = [FORMAT, jurisdiction_id, kind, asdict(self.policy), versions]
        digest = hashlib.sha256(json.dumps(made_of, sort_keys=True).encode()).hexdigest()[:32]
        return f'"{digest}"'

    async def current_etag(self, jurisdiction_id: str, kind: str | None) -> str:
        """The ETag the map has now (one small query): a client holding it needs nothing more."""
        return self.etag_of(jurisdiction_id, kind, await self.source.current_versions(jurisdiction_id, kind))

    async def current(self, jurisdiction_id: str, kind: str | None, etag: str | None = None) -> AreaMap:
        """The map as it is now, built again only when an area changed since it was last built."""
        etag = etag or await self.current_etag(jurisdiction_id, kind)
        kept = self._kept.get(etag)
        if kept is not None:
            self._kept.move_to_end(etag)
            return kept
        built = await self._build(jurisdiction_id, kind, etag)
        self._kept[etag] = built
        while len(self._kept) > KEPT_MAPS:
            self._kept.popitem(last=False)
        return built

    async def _build(self, jurisdiction_id: str, kind: str | None, etag: str) -> AreaMap:
        limit = self.policy.max_areas
        tolerance = self.policy.tolerance_m
        for _ in range(MAX_DOUBLINGS + 1):
            outlines = await self.source.outlines(
                jurisdiction_id, kind, tolerance_m=tolerance, limit=limit + 1
            )
            body = feature_collection(
                outlines[:limit], tolerance_m=tolerance, truncated=len(outlines) > limit
            )
            if len(body) <= self.policy.max_bytes:
                return AreaMap(etag, body, tolerance)
            tolerance *= 2
        raise AreaMapTooLarge(
            f"the service areas do not fit in {self.policy.max_bytes} bytes even simplified to {tolerance / 2} m"
        )


class AreaMapTooLarge(Exception):
    """Even simplified to kilometres, the areas exceed the bound: fewer areas (`max_areas`) or a larger bound."""
