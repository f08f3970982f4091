"""The local gazetteer: forward and reverse geocoding against address points, centrelines and landmarks in PostGIS.

Every lookup is a handful of indexed queries: street names are matched in `geo.gazetteer_streets` (one row per
distinct street; exact name, pg_trgm similarity or the same double metaphone), then address points are read by
(jurisdiction, street, house number) through the b-tree, and reverse geocoding walks the GiST index in distance
order (KNN `<->`).

Confidence (0..1) is a base for the kind of match, multiplied by how well the street matched (name similarity, and
whether the direction and suffix agree), the unit and the zip code:

    address point            1.0     the house number on the street
    centreline crossing      0.95    both streets have centrelines that cross
    interpolated             0.85 .. 0.62, by the gap between the known neighbours' numbers
    centreline range         0.8     placed along a centreline by its from/to numbers
    street (nearest number)  0.65 .. 0.4, by how far the nearest known number is
    landmark                 0.9 x name similarity (0.55 for "the library" matching a landmark's kind    address-point corner     0.7 .. 0.35, by how far apart the two streets' closest points are
    street only              0.5     "Bellevue Ave", no house number
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from civicloop_geo.domain.addresses import (
    AddressQuery,
    IntersectionQuery,
    StreetQuery,
    StreetRef,
    clean,
    parse_query,
)
from civicloop_geo.domain.gazetteer_scoring import (
    CORNER_MAX_M,
    MIN_STREET_SCORE,
    Neighbour,
    best_first,
    clamp,
    corner_factor,
    extrapolate,
    interpolation_base,
    nearest_number_base,
    one_run,
    pick_neighbour,
    reverse_confidence,
    street_score,
    zip_checked,
)
from civicloop_geo.domain.places import GeocodeResult, MatchKind
from civicloop_geo.service_layer.ports import Geocoder

PROVIDER = "gazetteer"
NEAREST_NAMES = 20  # street names read by trigram distance; typos land in the first few
NEIGHBOURS = 6  # known numbers read on each side of a missing one, to find the same side (parity) and zip

# Three indexed lookups: the exact name (primary key), the nearest names by trigram distance (GiST KNN) and the
# names that sound the same (double metaphone); scored together.
_CANDIDATE_STREETS = """
select street_name, predir, suffix, postdir, address_points, centrelines,
       case when street_name = %(name)s then 1.0
            else greatest(similarity(street_name, %(name)s),
                          1.0 - levenshtein(street_name, %(name)s)::float8
                                / greatest(length(street_name), length(%(name)s), 1))
                 * case when name_metaphone <> '' and name_metaphone = dmetaphone(%(name)s) then 1.0 else 0.92 end
       end as name_score
  from ((select * from geo.gazetteer_streets where jurisdiction_id = %(j)s and street_name = %(name)s)
        union
        (select * from geo.gazetteer_streets where jurisdiction_id = %(j)s
          order by street_name <-> %(name)s limit %(k)s)
        union
        (select * from geo.gazetteer_streets where name_metaphone = dmetaphone(%(name)s) and jurisdiction_id = %(j)s
          limit 200)) candidates
 order by name_score desc
 limit 40"""

_EXACT_POINTS = """
select street_name, predir, suffix, postdir, house_number_text, unit, postcode, full_address,
       ST_Y(geom), ST_X(geom)
  from geo.address_points
 where jurisdiction_id = %(j)s and street_name = any(%(names)s) and house_number = %(n)s"""

_NEIGHBOUR_POINTS = """
select c.ord, nb.side, nb.house_number, nb.postcode, ST_Y(nb.geom), ST_X(nb.geom)
  from unnest(%(names)s::text[], %(predirs)s::text[], %(suffixes)s::text[], %(postdirs)s::text[])
       with ordinality as c(name, predir, suffix, postdir, ord)
 cross join lateral (
       (select 'lo' as side, p.house_number, p.postcode, p.geom from geo.address_points p
         where p.jurisdiction_id = %(j)s and p.street_name = c.name and p.house_number < %(n)s
           and p.predir = c.predir and p.suffix = c.suffix and p.postdir = c.postdir
         order by p.house_number desc limit %(k)s)
       union all
       (select 'hi', p.house_number, p.postcode, p.geom from geo.address_points p
         where p.jurisdiction_id = %(j)s and p.street_name = c.name and p.house_number > %(n)s
           and p.predir = c.predir and p.suffix = c.suffix and p.postdir = c.postdir
         order by p.house_number limit %(k)s)) nb"""

_POSTCODE_ZONE = """
select ST_Y(centre), ST_X(centre), radius_m from geo.gazetteer_postcodes where jurisdiction_id = %s and postcode = %s"""

_CENTRELINE_RANGES = """
select street_name, predir, suffix, postdir, ST_Y(pt), ST_X(pt)
  from (select street_name, predir, suffix, postdir,
               ST_LineInterpolatePoint(ST_GeometryN(ST_LineMerge(geom), 1),
                   case when to_number = from_number then 0.5
                        else (%(n)s - from_number)::float8 / (to_number - from_number) end) as pt
          from geo.street_centrelines
         where jurisdiction_id = %(j)s and street_name = any(%(names)s)
           and %(n)s between least(from_number, to_number) and greatest(from_number, to_number)) s"""

_CROSSINGS = """
select a.street_name, a.predir, a.suffix, a.postdir, b.street_name, b.predir, b.suffix, b.postdir,
       ST_Y(ST_PointOnSurface(d.geom)), ST_X(ST_PointOnSurface(d.geom))
  from geo.street_centrelines a
  join geo.street_centrelines b
    on b.jurisdiction_id = a.jurisdiction_id and b.street_name = any(%(b)s) and ST_Intersects(a.geom, b.geom)
 cross join lateral ST_Dump(ST_Intersection(a.geom, b.geom)) d
 where a.jurisdiction_id = %(j)s and a.street_name = any(%(a)s)"""

_STREET_FILTER = "jurisdiction_id = %s and street_name = %s and predir = %s and suffix = %s and postdir = %s"

# In Web Mercator, not in degrees: a degree of longitude is shorter than one of latitude, which would pick the
# wrong pair of points.
_CORNER_FROM_POINTS = f"""
select ST_Y(m), ST_X(m), ST_Distance(ST_StartPoint(l)::geography, ST_EndPoint(l)::geography)
  from (select ST_Transform(ST_ShortestLine(
                 ST_Transform((select ST_Collect(geom) from geo.address_points where {_STREET_FILTER}), 3857),
                 ST_Transform((select ST_Collect(geom) from geo.address_points where {_STREET_FILTER}), 3857)),
               4326) as l) s
 cross join lateral ST_LineInterpolatePoint(l, 0.5) m
 where l is not null"""

# The point of a street nearest its middle: on its centrelines when it has some, else among its address points.
_STREET_POINT = f"""
select ST_Y(p), ST_X(p)
  from (select coalesce(
                 (select ST_ClosestPoint(g, ST_Centroid(g)) from (select ST_Collect(geom) g
                    from geo.street_centrelines where {_STREET_FILTER}) c where g is not null),
                 (select ST_ClosestPoint(g, ST_Centroid(g)) from (select ST_Collect(geom) g
                    from geo.address_points where {_STREET_FILTER}) a where g is not null)) as p) s
 where p is not null"""

_LANDMARKS = """
select name, kind, ST_Y(geom), ST_X(geom), word_similarity(%(q)s, name), similarity(%(q)s, name),
       lower(kind) = lower(%(q)s)
  from geo.landmarks
 where jurisdiction_id = %(j)s and (%(q)s <%% name or lower(kind) = lower(%(q)s))
 order by word_similarity(%(q)s, name) desc
 limit 20"""

_REVERSE = """
select full_address, lat, long, d
  from (select full_address, ST_Y(geom) as lat, ST_X(geom) as long,
               ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%(long)s, %(lat)s), 4326)::geography) as d
          from geo.address_points
         where jurisdiction_id = %(j)s
         order by geom <-> ST_SetSRID(ST_MakePoint(%(long)s, %(lat)s), 4326)
         limit 8) nearest
 where d <= %(max)s
 order by d
 limit 1"""

StreetKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class _Street:
    ref: StreetRef
    score: float  # how well this street answers the one asked for, 0..1
    points: int
    centrelines: int

    @property
    def key(self) -> StreetKey:
        return (self.ref.name, self.ref.predir, self.ref.suffix, self.ref.postdir)


class PostgisGazetteer(Geocoder):
    name = PROVIDER

    def __init__(
        self, pool: AsyncConnectionPool, *, reverse_max_distance_m: float = 150.0, max_streets: int = 5
    ) -> None:
        self.pool = pool
        self.reverse_max_distance_m = reverse_max_distance_m
        self.max_streets = max_streets

    async def geocode(self, jurisdiction_id: str, query: str, *, limit: int = 5) -> list[GeocodeResult]:
        parsed = parse_query(query)
        if parsed is None or limit <= 0:
            return []
        async with self.pool.connection() as conn:
            if isinstance(parsed, AddressQuery):
                results = await self._address(conn, jurisdiction_id, parsed)
            elif isinstance(parsed, IntersectionQuery):
                results = await self._intersection(conn, jurisdiction_id, parsed)
                if not results:  # "Barnes & Noble" is a place, not a corner
                    results = await self._landmarks(conn, jurisdiction_id, clean(query))
            elif isinstance(parsed, StreetQuery):
                results = await self._street(conn, jurisdiction_id, parsed.street, parsed.postcode)
                results += await self._landmarks(conn, jurisdiction_id, parsed.text)
            else:
                results = await self._landmarks(conn, jurisdiction_id, parsed.name)
        return best_first(results, limit)

    async def reverse(self, jurisdiction_id: str, lat: float, long: float) -> GeocodeResult | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                _REVERSE, {"j": jurisdiction_id, "lat": lat, "long": long, "max": self.reverse_max_distance_m}
            )
            row = await cur.fetchone()
        if row is None:
            return None
        address, plat, plong, d = row
        return GeocodeResult(
            plat,
            plong,
            address,
            reverse_confidence(d, self.reverse_max_distance_m),
            PROVIDER,
            MatchKind.address_point,
        )

    # -- streets ---------------------------------------------------------------------------------------------

    async def _streets(self, conn: psycopg.AsyncConnection[Any], j: str, asked: StreetRef) -> list[_Street]:
        cur = await conn.execute(_CANDIDATE_STREETS, {"j": j, "name": asked.name, "k": NEAREST_NAMES})
        found: list[_Street] = []
        for name, predir, suffix, postdir, points, centrelines, name_score in await cur.fetchall():
            ref = StreetRef(name, predir, suffix, postdir)
            score = street_score(asked, ref, float(name_score))
            if score >= MIN_STREET_SCORE:
                found.append(_Street(ref, score, points, centrelines))
        found.sort(key=lambda s: -s.score)
        # Keep the close runners-up ("W 3RD ST" when "3RD ST" was asked may be E or W), not every similar name.
        return [s for s in found if s.score >= found[0].score - 0.3][: self.max_streets] if found else []

    async def _street(
        self, conn: psycopg.AsyncConnection[Any], j: str, asked: StreetRef, postcode: str
    ) -> list[GeocodeResult]:
        results: list[GeocodeResult] = []
        for s in (await self._streets(conn, j, asked))[:2]:
            point = await self._street_point(conn, j, s)
            if point is not None:
                label = f"{s.ref.label()}, {postcode}" if postcode else s.ref.label()
                results.append(GeocodeResult(*point, label, clamp(0.5 * s.score), PROVIDER, MatchKind.street))
        return results

    async def _street_point(
        self, conn: psycopg.AsyncConnection[Any], j: str, s: _Street
    ) -> tuple[float, float] | None:
        cur = await conn.execute(_STREET_POINT, (j, *s.key, j, *s.key))
        row = await cur.fetchone()
        return (row[0], row[1]) if row else None

    # -- addresses -------------------------------------------------------------------------------------------

    async def _address(
        self, conn: psycopg.AsyncConnection[Any], j: str, q: AddressQuery
    ) -> list[GeocodeResult]:
        streets = await self._streets(conn, j, q.street)
        if not streets:
            return []
        by_key = {s.key: s for s in streets}
        names = sorted({s.ref.name for s in streets})
        results: list[GeocodeResult] = []
        exact: set[StreetKey] = set()
        cur = await conn.execute(_EXACT_POINTS, {"j": j, "names": names, "n": q.house_number})
        for (
            name,
            predir,
            suffix,
            postdir,
            number_text,
            unit,
            postcode,
            full,
            lat,
            long,
        ) in await cur.fetchall():
            s = by_key.get((name, predir, suffix, postdir))
            if s is None:
                continue
            exact.add(s.key)
            conf = (
                s.score
                * (1.0 if number_text == q.house_number_text else 0.95)
                * (0.95 if q.unit and unit and q.unit != unit else 1.0)
                * (0.85 if q.postcode and postcode and q.postcode != postcode else 1.0)
            )
            results.append(GeocodeResult(lat, long, full, clamp(conf), PROVIDER, MatchKind.address_point))
        if results and max(r.confidence for r in results) >= 0.9:
            return results

        estimates: list[GeocodeResult] = []
        todo = [s for s in streets if s.points and s.key not in exact]
        if todo:
            estimates += await self._interpolate(conn, j, q, todo)
        ranged = [s for s in streets if s.centrelines]
        if ranged and not results and not estimates:
            estimates += await self._along_centrelines(conn, j, q, ranged)
        if q.postcode and estimates:
            zone = await (await conn.execute(_POSTCODE_ZONE, (j, q.postcode))).fetchone()
            if zone is not None:
                estimates = [zip_checked(r, *zone) for r in estimates]
        return results + estimates

    async def _interpolate(
        self, conn: psycopg.AsyncConnection[Any], j: str, q: AddressQuery, streets: list[_Street]
    ) -> list[GeocodeResult]:
        cur = await conn.execute(
            _NEIGHBOUR_POINTS,
            {
                "j": j,
                "n": q.house_number,
                "k": NEIGHBOURS,
                "names": [s.ref.name for s in streets],
                "predirs": [s.ref.predir for s in streets],
                "suffixes": [s.ref.suffix for s in streets],
                "postdirs": [s.ref.postdir for s in streets],
            },
        )
        sides: dict[tuple[int, str], list[Neighbour]] = {}
        for ord_, side, number, postcode, lat, long in await cur.fetchall():
            sides.setdefault((ord_ - 1, side), []).append(Neighbour(number, postcode, lat, long))
        results: list[GeocodeResult] = []
        n = q.house_number
        for i, s in enumerate(streets):
            lo_rows, hi_rows = sides.get((i, "lo"), []), sides.get((i, "hi"), [])
            lo, hi = pick_neighbour(lo_rows, n, q.postcode), pick_neighbour(hi_rows, n, q.postcode)
            known = lo or hi
            if known is None:
                continue
            postcode = q.postcode or known.postcode
            zip_factor = 0.85 if q.postcode and known.postcode not in ("", q.postcode) else 1.0
            if lo and hi and one_run(lo, hi):
                t = (n - lo.number) / (hi.number - lo.number)
                lat, long = lo.lat + t * (hi.lat - lo.lat), lo.long + t * (hi.long - lo.long)
                label = f"{q.house_number_text} {s.ref.label()}" + (f", {postcode}" if postcode else "")
                conf = s.score * interpolation_base(hi.number - lo.number) * zip_factor
                results.append(GeocodeResult(lat, long, label, clamp(conf), PROVIDER, MatchKind.interpolated))
                continue
            # Known numbers on one side only: the nearest one, moved on along its street when a second known
            # number on that side gives the direction and the metres per number.
            near_rows = (
                lo_rows if hi is None or (lo is not None and n - lo.number <= hi.number - n) else hi_rows
            )
            near = pick_neighbour(near_rows, n, q.postcode) or known
            lat, long = extrapolate(near, near_rows, n)
            label = s.ref.label() + (f", {postcode}" if postcode else "")
            conf = s.score * nearest_number_base(abs(near.number - n)) * zip_factor
            results.append(GeocodeResult(lat, long, label, clamp(conf), PROVIDER, MatchKind.street))
        return results

    async def _along_centrelines(
        self, conn: psycopg.AsyncConnection[Any], j: str, q: AddressQuery, streets: list[_Street]
    ) -> list[GeocodeResult]:
        by_key = {s.key: s for s in streets}
        cur = await conn.execute(
            _CENTRELINE_RANGES, {"j": j, "n": q.house_number, "names": sorted({s.ref.name for s in streets})}
        )
        results: list[GeocodeResult] = []
        for name, predir, suffix, postdir, lat, long in await cur.fetchall():
            s = by_key.get((name, predir, suffix, postdir))
            if s is None or lat is None:
                continue
            label = f"{q.house_number_text} {s.ref.label()}" + (f", {q.postcode}" if q.postcode else "")
            results.append(
                GeocodeResult(lat, long, label, clamp(0.8 * s.score), PROVIDER, MatchKind.interpolated)
            )
        return results

    # -- intersections ---------------------------------------------------------------------------------------

    async def _intersection(
        self, conn: psycopg.AsyncConnection[Any], j: str, q: IntersectionQuery
    ) -> list[GeocodeResult]:
        first = await self._streets(conn, j, q.first)
        second = await self._streets(conn, j, q.second) if first else []
        if not first or not second:
            return []
        results: list[GeocodeResult] = []
        a_lines = [s for s in first if s.centrelines]
        b_lines = [s for s in second if s.centrelines]
        if a_lines and b_lines:
            a_by, b_by = {s.key: s for s in a_lines}, {s.key: s for s in b_lines}
            cur = await conn.execute(
                _CROSSINGS,
                {
                    "j": j,
                    "a": sorted({s.ref.name for s in a_lines}),
                    "b": sorted({s.ref.name for s in b_lines}),
                },
            )
            for *keys, lat, long in await cur.fetchall():
                sa, sb = a_by.get(tuple(keys[:4])), b_by.get(tuple(keys[4:]))
                if sa is None or sb is None:
                    continue
                label = f"{sa.ref.label()} & {sb.ref.label()}"
                results.append(
                    GeocodeResult(
                        lat, long, label, clamp(0.95 * sa.score * sb.score), PROVIDER, MatchKind.intersection
                    )
                )
        if results:
            return results
        # No centrelines (or they do not cross): the midpoint of the two streets' closest address points.
        for sa in [s for s in first if s.points][:2]:
            for sb in [s for s in second if s.points][:2]:
                cur = await conn.execute(_CORNER_FROM_POINTS, (j, *sa.key, j, *sb.key))
                row = await cur.fetchone()
                if row is None or row[2] > CORNER_MAX_M:
                    continue
                conf = 0.7 * sa.score * sb.score * corner_factor(row[2])
                results.append(
                    GeocodeResult(
                        row[0],
                        row[1],
                        f"{sa.ref.label()} & {sb.ref.label()}",
                        clamp(conf),
                        PROVIDER,
                        MatchKind.intersection,
                    )
                )
        return results

    # -- landmarks -------------------------------------------------------------------------------------------

    async def _landmarks(self, conn: psycopg.AsyncConnection[Any], j: str, text: str) -> list[GeocodeResult]:
        text = " ".join(text.split())
        if len(text) < 3:
            return []
        cur = await conn.execute(_LANDMARKS, {"j": j, "q": text})
        scored: list[tuple[float, str, float, float]] = []
        for name, _kind, lat, long, word_sim, sim, kind_match in await cur.fetchall():
            score = 0.9 * (0.6 * word_sim + 0.4 * sim)
            if kind_match:
                score = max(score, 0.55)
            scored.append((score, name, lat, long))
        if not scored:
            return []
        # "the library" when the city has five: each is less likely the one meant.
        best = max(s[0] for s in scored)
        ties = sum(1 for s in scored if s[0] >= best - 0.05)
        ambiguity = 1.0 / (1.0 + 0.15 * (ties - 1))
        return [
            GeocodeResult(lat, long, name, clamp(score * ambiguity), PROVIDER, MatchKind.landmark)
            for score, name, lat, long in scored
        ]
