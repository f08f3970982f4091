"""Nominatim, Pelias and Census adapters against real HTTP servers on 127.0.0.1 that answer as those services do.

The payloads follow the providers' documented shapes (Nominatim jsonv2, Pelias GeoJSON, Census locations JSON);
the servers record what the adapters sent, so the tests check the query parameters and headers too.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from civicloop_geo.adapters.gazetteer import PostgisGazetteer
from civicloop_geo.adapters.geocoders import make_geocoder
from civicloop_geo.adapters.remote_geocoders import (
    CensusGeocoder,
    NominatimGeocoder,
    PeliasGeocoder,
    nominatim_confidence,
)
from civicloop_geo.domain.places import MatchKind
from civicloop_geo.service_layer.ports import GeocoderUnavailable
from civicloop_geo.settings import GeoSettings
from civicloop_testing.observability import captured_output
from opentelemetry import trace

pytestmark = pytest.mark.integration

UA = "CivicLoop geo tests (+https://civicloop.example/contact)"

NOMINATIM_SEARCH = [
    {
        "place_id": 297707577,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "way",
        "osm_id": 233005264,
        "lat": "34.0732166",
        "lon": "-118.2668619",
        "category": "building",
        "type": "house",
        "place_rank": 30,
        "importance": 9.99999999995449e-06,
        "addresstype": "building",
        "name": "",
        "display_name": "2111, West Bellevue Avenue, Echo Park, Los Angeles, Los Angeles County, California, 90026, "
        "United States",
        "boundingbox": ["34.0731166", "34.0733166", "-118.2669619", "-118.2667619"],
    },
    {
        "place_id": 297105203,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "way",
        "osm_id": 13311563,
        "lat": "34.0745033",
        "lon": "-118.2688716",
        "category": "highway",
        "type": "residential",
        "place_rank": 26,
        "importance": 0.0533433333333333,
        "addresstype": "road",
        "name": "West Bellevue Avenue",
        "display_name": "West Bellevue Avenue, Echo Park, Los Angeles, Los Angeles County, California, 90026, "
        "United States",
        "boundingbox": ["34.0731", "34.0766", "-118.2745", "-118.2612"],
    },
]
NOMINATIM_REVERSE = dict(
    NOMINATIM_SEARCH[0],
    address={
        "house_number": "2111",
        "road": "West Bellevue Avenue",
        "postcode": "90026",
        "country_code": "us",
    },
)

PELIAS_SEARCH = {
    "geocoding": {
        "version": "0.2",
        "attribution": "https://geocode.earth/guidelines",
        "query": {"text": "2111 W Bellevue Ave, Los Angeles", "size": 5, "private": False},
        "engine": {"name": "Pelias", "author": "Mapzen", "version": "1.0"},
        "timestamp": 1700000000000,
    },
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-118.266862, 34.073217]},
            "properties": {
                "id": "us/ca/city_of_los_angeles-addresses:6f4c",
                "gid": "openaddresses:address:6f4c",
                "layer": "address",
                "source": "openaddresses",
                "source_id": "6f4c",
                "country_code": "US",
                "name": "2111 W Bellevue Ave",
                "housenumber": "2111",
                "street": "W Bellevue Ave",
                "postalcode": "90026",
                "confidence": 1,
                "match_type": "exact",
                "accuracy": "point",
                "country": "United States",
                "region": "California",
                "locality": "Los Angeles",
                "label": "2111 W Bellevue Ave, Los Angeles, CA, USA",
            },
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-118.268871, 34.074503]},
            "properties": {
                "id": "way/13311563",
                "gid": "openstreetmap:street:way/13311563",
                "layer": "street",
                "source": "openstreetmap",
                "name": "West Bellevue Avenue",
                "street": "West Bellevue Avenue",
                "confidence": 0.6,
                "match_type": "fallback",
                "accuracy": "centroid",
                "label": "West Bellevue Avenue, Los Angeles, CA, USA",
            },
        },
    ],
    "bbox": [-118.268871, 34.073217, -118.266862, 34.074503],
}
PELIAS_REVERSE = {
    "geocoding": {"version": "0.2", "query": {"size": 1, "point.lat": 34.0732, "point.lon": -118.2668}},
    "type": "FeatureCollection",
    "features": [
        dict(
            PELIAS_SEARCH["features"][0],  # type: ignore[index]
            properties=dict(
                PELIAS_SEARCH["features"][0]["properties"],  # type: ignore[index]
                distance=0.002,
                confidence=0.9,
            ),
        )
    ],
}
CENSUS_MATCH = {
    "result": {
        "input": {
            "address": {"address": "2111 W Bellevue Ave, Los Angeles, CA 90026"},
            "benchmark": {
                "isDefault": True,
                "benchmarkDescription": "Public Address Ranges - Current Benchmark",
                "id": "4",
                "benchmarkName": "Public_AR_Current",
            },
        },
        "addressMatches": [
            {
                "tigerLine": {"side": "L", "tigerLineId": "141588093"},
                "coordinates": {"x": -118.26686243, "y": 34.07321861},
                "addressComponents": {
                    "zip": "90026",
                    "streetName": "BELLEVUE",
                    "preType": "",
                    "city": "LOS ANGELES",
                    "preDirection": "W",
                    "suffixDirection": "",
                    "fromAddress": "2101",
                    "state": "CA",
                    "suffixType": "AVE",
                    "toAddress": "2199",
                    "suffixQualifier": "",
                    "preQualifier": "",
                },
                "matchedAddress": "2111 W BELLEVUE AVE, LOS ANGELES, CA, 90026",
            }
        ],
    }
}
CENSUS_NO_MATCH = {"result": {"input": {"address": {"address": "nowhere"}}, "addressMatches": []}}


@dataclass
class Route:
    status: int = 200
    body: object = None
    delay_s: float = 0.0


@dataclass
class FakeProvider:
    """A real HTTP server: routes by path, records every request (path, query, headers)."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    state = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append((parts.path, parse_qs(parts.query), dict(self.headers)))
            route = state.routes.get(parts.path, Route(404, {"error": "not found"}))
            time.sleep(route.delay_s)
            body = json.dumps(route.body).encode()
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


async def test_nominatim_search_sends_the_query_and_user_agent_and_maps_rank_to_confidence(provider):
    provider.routes["/search"] = Route(body=NOMINATIM_SEARCH)
    geocoder = NominatimGeocoder(provider.url, user_agent=UA, timeout_s=2)
    try:
        results = await geocoder.geocode("la", "2111 W Bellevue Ave, Los Angeles", limit=3)
    finally:
        await geocoder.aclose()
    path, query, headers = provider.requests[0]
    assert path == "/search"
    assert query == {"format": ["jsonv2"], "q": ["2111 W Bellevue Ave, Los Angeles"], "limit": ["3"]}
    assert headers["User-Agent"] == UA
    house, street = results
    assert (house.lat, house.long) == (34.0732166, -118.2668619)
    assert house.address.startswith("2111, West Bellevue Avenue")
    assert house.provider == "nominatim" and house.kind is MatchKind.remote
    assert house.confidence == pytest.approx(0.9, abs=1e-3)  # place_rank 30: a house
    assert street.confidence == pytest.approx(0.6 + 0.1 * 0.0533433, abs=1e-3)  # place_rank 26: a road
    assert nominatim_confidence(16, 0.5) < street.confidence


async def test_nominatim_reverse_maps_the_place_and_reports_nothing_there(provider):
    provider.routes["/reverse"] = Route(body=NOMINATIM_REVERSE)
    geocoder = NominatimGeocoder(provider.url, user_agent=UA)
    try:
        found = await geocoder.reverse("la", 34.0732, -118.2668)
        provider.routes["/reverse"] = Route(body={"error": "Unable to geocode"})
        nothing = await geocoder.reverse("la", 0.0, -150.0)
    finally:
        await geocoder.aclose()
    assert found is not None and found.address.startswith("2111, West Bellevue Avenue")
    assert nothing is None
    _, query, headers = provider.requests[0]
    assert query == {"format": ["jsonv2"], "lat": ["34.0732"], "lon": ["-118.2668"]}
    assert headers["User-Agent"] == UA


async def test_pelias_search_and_reverse_send_the_api_key_and_use_its_confidence(provider):
    provider.routes["/v1/search"] = Route(body=PELIAS_SEARCH)
    provider.routes["/v1/reverse"] = Route(body=PELIAS_REVERSE)
    geocoder = PeliasGeocoder(provider.url, api_key="ge-test-key", user_agent=UA)
    try:
        results = await geocoder.geocode("la", "2111 W Bellevue Ave, Los Angeles", limit=5)
        back = await geocoder.reverse("la", 34.0732, -118.2668)
    finally:
        await geocoder.aclose()
    (_, search_q, search_h), (_, reverse_q, _) = provider.requests
    assert search_q == {
        "text": ["2111 W Bellevue Ave, Los Angeles"],
        "size": ["5"],
        "api_key": ["ge-test-key"],
    }
    assert search_h["User-Agent"] == UA
    assert reverse_q == {
        "point.lat": ["34.0732"],
        "point.lon": ["-118.2668"],
        "size": ["1"],
        "api_key": ["ge-test-key"],
    }
    assert [(r.address, r.confidence) for r in results] == [
        ("2111 W Bellevue Ave, Los Angeles, CA, USA", 1.0),
        ("West Bellevue Avenue, Los Angeles, CA, USA", 0.6),
    ]
    assert (results[0].lat, results[0].long) == (34.073217, -118.266862)  # GeoJSON is [long, lat]
    assert back is not None and back.confidence == 0.9 and back.provider == "pelias"


async def test_pelias_without_a_key_sends_none(provider):
    provider.routes["/v1/search"] = Route(body={"type": "FeatureCollection", "features": []})
    geocoder = PeliasGeocoder(provider.url)
    try:
        assert await geocoder.geocode("la", "nowhere") == []
    finally:
        await geocoder.aclose()
    assert "api_key" not in provider.requests[0][1]


async def test_census_grades_an_exact_match_one_and_a_corrected_one_lower(provider):
    provider.routes["/geocoder/locations/onelineaddress"] = Route(body=CENSUS_MATCH)
    geocoder = CensusGeocoder(provider.url, user_agent=UA)
    try:
        exact = await geocoder.geocode("la", "2111 West Bellevue Avenue, Los Angeles, CA 90026")
        corrected = await geocoder.geocode("la", "2111 Belevue Av, Los Angeles, CA")
        provider.routes["/geocoder/locations/onelineaddress"] = Route(body=CENSUS_NO_MATCH)
        none = await geocoder.geocode("la", "nowhere")
        reverse = await geocoder.reverse("la", 34.0732, -118.2668)
    finally:
        await geocoder.aclose()
    _, query, _ = provider.requests[0]
    assert query == {
        "address": ["2111 West Bellevue Avenue, Los Angeles, CA 90026"],
        "benchmark": ["Public_AR_Current"],
        "format": ["json"],
    }
    [e], [c] = exact, corrected
    assert (e.lat, e.long) == (34.07321861, -118.26686243)
    assert e.address == "2111 W BELLEVUE AVE, LOS ANGELES, CA, 90026"
    assert (e.confidence, c.confidence) == (1.0, 0.8)
    assert none == []
    assert reverse is None  # Census reverse gives geographies, not addresses
    assert len(provider.requests) == 3  # and reverse does not even ask


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_throttling_make_the_geocoder_unavailable(provider, status):
    for path in ("/search", "/v1/search", "/geocoder/locations/onelineaddress"):
        provider.routes[path] = Route(status=status, body={"error": "down"})
    for geocoder in (
        NominatimGeocoder(provider.url),
        PeliasGeocoder(provider.url),
        CensusGeocoder(provider.url),
    ):
        try:
            with pytest.raises(GeocoderUnavailable, match=str(status)):
                await geocoder.geocode("la", "2111 W Bellevue Ave")
        finally:
            await geocoder.aclose()


async def test_a_client_error_is_ours_and_not_unavailability(provider):
    provider.routes["/search"] = Route(status=400, body={"error": "bad request"})
    geocoder = NominatimGeocoder(provider.url)
    try:
        with pytest.raises(httpx.HTTPStatusError):
            await geocoder.geocode("la", "x")
    finally:
        await geocoder.aclose()


async def test_a_slow_answer_times_out_as_unavailable(provider):
    provider.routes["/v1/reverse"] = Route(body=PELIAS_REVERSE, delay_s=1.5)
    geocoder = PeliasGeocoder(provider.url, timeout_s=0.3)
    started = time.perf_counter()
    try:
        with pytest.raises(GeocoderUnavailable, match="Timeout"):
            await geocoder.reverse("la", 34.0732, -118.2668)
    finally:
        await geocoder.aclose()
    assert time.perf_counter() - started < 1.2


async def test_a_refused_connection_is_unavailable():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    geocoder = NominatimGeocoder(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(GeocoderUnavailable, match="ConnectError"):
            await geocoder.geocode("la", "2111 W Bellevue Ave")
    finally:
        await geocoder.aclose()


async def test_make_geocoder_follows_the_settings(provider, geo_pool):
    provider.routes["/search"] = Route(body=NOMINATIM_SEARCH[:1])
    assert isinstance(make_geocoder(GeoSettings(geocoder="gazetteer"), geo_pool), PostgisGazetteer)
    pelias = make_geocoder(
        GeoSettings(geocoder="pelias", geocoder_url=provider.url, geocoder_api_key="k"), geo_pool
    )
    census = make_geocoder(GeoSettings(geocoder="census"), geo_pool)
    nominatim = make_geocoder(
        GeoSettings(
            geocoder="nominatim", geocoder_url=provider.url, geocoder_user_agent=UA, geocoder_timeout_s=1.5
        ),
        geo_pool,
    )
    try:
        assert isinstance(pelias, PeliasGeocoder) and pelias.api_key == "k"
        assert isinstance(census, CensusGeocoder) and census.base_url == "https://geocoding.geo.census.gov"
        assert isinstance(nominatim, NominatimGeocoder)
        [result] = await nominatim.geocode("la", "2111 W Bellevue Ave")
        assert result.provider == "nominatim"
        assert provider.requests[0][2]["User-Agent"] == UA
    finally:
        for g in (pelias, census, nominatim):
            await g.aclose()


async def refused(tracer: trace.Tracer, geocoder: PeliasGeocoder, address: str) -> None:
    """A geocoding the provider refuses, logged with its traceback and recorded on its span, as a consumer does."""
    with tracer.start_as_current_span("place request"):
        try:
            await geocoder.geocode("la", address)
        except httpx.HTTPStatusError:
            logging.getLogger("civicloop.geo").exception("geocoding refused")
            raise


async def test_the_address_typed_and_the_api_key_reach_neither_logs_nor_spans(provider):
    """httpx logs every request's URL at INFO, and a refused one raises with the URL in its message: both pass the
    one redaction point (logging setup and tracer provider), so neither the address nor the key leaves geo."""
    address, key = "2111 W Bellevue Ave, Los Angeles", "ge-secret-key-93c1"
    provider.routes["/v1/search"] = Route(body=PELIAS_SEARCH)
    geocoder = PeliasGeocoder(provider.url, api_key=key, user_agent=UA)
    tracer = trace.get_tracer("geo-tests")
    with captured_output("geo") as out:
        try:
            with tracer.start_as_current_span("place request"):
                assert await geocoder.geocode("la", address)
            provider.routes["/v1/search"] = Route(404, {"error": "not found"})
            with pytest.raises(httpx.HTTPStatusError):
                await refused(tracer, geocoder, address)
        finally:
            await geocoder.aclose()
    assert provider.requests[0][1]["text"] == [address]  # the provider did get them
    messages = [line["message"] for line in out.log_lines()]
    assert any(m.startswith("HTTP Request: GET http://127.0.0.1") for m in messages), messages
    assert "geocoding refused" in messages
    [_, refused_span] = out.spans
    assert [e.name for e in refused_span.events] == ["exception"]
    captured = out.text()
    for secret in (key, "Bellevue", "2111"):
        assert secret not in captured, secret
