"""The Open311 read side end to end: events published to the real broker, folded by the gateway's own consumers
into PostGIS, served by the real app in XML and JSON (CHECKLIST §9 items 1-4, 7-12)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from civicloop_events import Event, Location, ServiceDefined, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CommentAdded,
    CommentVisibility,
    PartnerAuthorised,
    PartnerKeyRevoked,
    RequestStatus,
    ServiceType,
)
from civicloop_events.payloads.base import EventPayload
from civicloop_events.producer import EventProducer
from civicloop_events.request_numbers import new_request_number
from civicloop_gateway.adapters.postgres_view import render_stale
from civicloop_gateway.bootstrap import Gateway
from civicloop_gateway.domain.queries import Limits, request_query
from civicloop_gateway.domain.request_view import RENDERING
from civicloop_gateway.settings import JurisdictionsMode
from civicloop_open311.dates import W3C_OUTPUT
from civicloop_open311.documents import REQUEST_FIELDS, view_requests_document
from civicloop_open311.formats import Format
from civicloop_open311.render import render
from civicloop_places import public_place
from civicloop_testing import make_topics
from civicloop_testing.events import config_event, request_event
from civicloop_testing.lifecycle import started
from civicloop_testing.open311_catalogue import STREETLIGHT_ATTRIBUTES
from civicloop_testing.open311_reading import FORMATS, SERVICE_FIELDS, UPDATE_FIELDS, leaf_text, read
from civicloop_testing.polling import eventually
from lxml import etree
from read_harness import (
    AGENT,
    CATALOGUE_ADMIN,
    caught_up,
    migrate,
    running_app,
    settings_for,
    unique_jurisdiction,
)

pytestmark = pytest.mark.integration

BASE = "/open311/v2"
NON_ASCII = "Straße <kaputt> & «déjà vu» 水 — \"quoted\" 'single'"
POINT = (38.8895, -77.0353)  # lat, long
RESOLUTION = 8  # not the default 9: the gateway's setting reaches the fold
FAR = (38.9795, -77.0353)  # 10 km north
CLIENT = "gateway-read-tests"


@dataclass
class World:
    gateway: Gateway
    client: httpx.AsyncClient
    settings: Any
    j: str
    k: str
    now: datetime
    ids: dict[str, str] = field(default_factory=dict)
    events: dict[str, Event[Any]] = field(default_factory=dict)

    async def get(self, path: str, fmt: str, **params: Any) -> httpx.Response:
        params = {k: v for k, v in params.items() if v is not None}
        return await self.client.get(f"{BASE}/{path}.{fmt}", params=params)

    async def requests(self, fmt: str = "json", **params: Any) -> list[dict[str, Any]]:
        r = await self.get("requests", fmt, jurisdiction_id=self.j, **params)
        assert r.status_code == 200, r.text
        return read(r, fmt, root="service_requests")


# The streetlight's questions listed out of their order: the definition serves them by `order` (SD-08).
LIGHT_ATTRIBUTES = [
    STREETLIGHT_ATTRIBUTES[1],
    STREETLIGHT_ATTRIBUTES[0],
    *reversed(STREETLIGHT_ATTRIBUTES[2:]),
]


def _submitted(
    code: str,
    *,
    point: tuple[float, float] | None = POINT,
    address: str | None = "1 Main St",
    description: str = "Broken",
    media: list[str] | None = None,
) -> ServiceRequestSubmitted:
    lat, long = point if point else (None, None)
    return ServiceRequestSubmitted(
        service_code=code,
        description=description,
        location=Location(
            lat=lat, long=long, address_string=address, address_id="ADDR-1" if address else None
        ),
        media_urls=media or [],
    )


@pytest.fixture(scope="module")
def read_dsn(database_dsn: str) -> str:
    return migrate(database_dsn)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(read_dsn: str, kafka_bootstrap: str):
    topics = await make_topics(kafka_bootstrap)
    settings = settings_for(read_dsn, topics, kafka_bootstrap, public_h3_resolution=RESOLUTION)
    j, k = unique_jurisdiction("springfield"), unique_jurisdiction("shelbyville")
    now = datetime.now(UTC).replace(microsecond=0)

    def ago(**kw: Any) -> datetime:
        return now - timedelta(**kw)

    def admin(payload: EventPayload, at: datetime, jurisdiction: str = j) -> Event[Any]:
        return config_event(payload, jurisdiction_id=jurisdiction, admin=CATALOGUE_ADMIN, occurred_at=at)

    def define(jurisdiction: str, code: str, name: str, **kw: Any) -> Event[Any]:
        return admin(ServiceDefined(service_code=code, service_name=name, **kw), ago(days=30), jurisdiction)

    config = [
        define(
            j,
            "LIGHT",
            "Streetlight out",
            group="streets",
            keywords=["lamp", "light"],
            attributes=LIGHT_ATTRIBUTES,
            description="A streetlight is out",
        ),
        define(j, "POTHOLE", "Pothole", group="streets"),
        define(j, "graffiti.removal", "Graffiti", type=ServiceType.blackbox),
        define(j, "BULKY", "Bulky pickup", type=ServiceType.batch),
        define(j, "OLD", "Retired service", active=False),
        define(k, "TREE", "Fallen tree"),
        admin(
            PartnerAuthorised(client_id="fixmystreet", name="FixMyStreet", key_id="k1", key_sha256="a" * 64),
            ago(days=29),
        ),
        admin(
            PartnerAuthorised(client_id="oldapp", name="Old app", key_id="k0", key_sha256="b" * 64),
            ago(days=29),
        ),
        admin(PartnerKeyRevoked(client_id="oldapp", key_id="k0"), ago(days=28)),
    ]
    ids = {
        name: new_request_number()
        for name in ("recent", "closed", "old", "address_only", "far", "updated_old", "late", "other")
    }

    def req(
        name: str, payload: Any, at: datetime, *, jurisdiction: str = j, source: str = "web"
    ) -> Event[Any]:
        return request_event(
            payload,
            request_id=ids[name],
            actor=AGENT,
            source=source,
            jurisdiction_id=jurisdiction,
            occurred_at=at,
        )

    public_comment = req(
        "closed", CommentAdded(text="Crew says thanks", visibility=CommentVisibility.public), ago(days=17)
    )
    request_events = [
        req(
            "recent",
            _submitted(
                "POTHOLE",
                description=NON_ASCII,
                media=["https://img.example/1.jpg", "https://img.example/2.jpg"],
            ),
            ago(days=5),
            source="open311:fixmystreet",
        ),
        req("closed", _submitted("LIGHT"), ago(days=20)),
        req("closed", StatusChanged(status=RequestStatus.acknowledged, public_note="Seen"), ago(days=19)),
        req(
            "closed",
            CommentAdded(text="resident sounded upset", visibility=CommentVisibility.internal),
            ago(days=18, hours=12),
        ),
        req(
            "closed",
            StatusChanged(status=RequestStatus.closed, public_note="Repaired", external_status_code="FIXED"),
            ago(days=18),
        ),
        public_comment,
        public_comment,  # published twice: the inbox applies it once
        req("old", _submitted("POTHOLE"), ago(days=120)),
        req(
            "address_only",
            _submitted("graffiti.removal", point=None, address="Corner of 5th & Main"),
            ago(days=2),
        ),
        req("far", _submitted("POTHOLE", point=FAR), ago(days=3)),
        req("updated_old", _submitted("POTHOLE"), ago(days=200)),
        req("updated_old", StatusChanged(status=RequestStatus.in_progress), ago(hours=2)),
        req("late", _submitted("LATE"), ago(days=1)),
        req("other", _submitted("TREE"), ago(days=1), jurisdiction=k),
    ]
    late_definition = define(j, "LATE", "Defined after its first request")

    async with running_app(settings) as (app, client):
        gateway: Gateway = app.state.service
        async with (
            started(
                EventProducer(kafka_bootstrap, topics.jurisdiction_config, client_id=CLIENT)
            ) as config_producer,
            started(
                EventProducer(kafka_bootstrap, topics.request_events, client_id=CLIENT)
            ) as request_producer,
        ):
            config_positions = [await config_producer.publish(e) for e in config]
            request_positions = [await request_producer.publish(e) for e in request_events]
            await caught_up(gateway, settings.request_consumer_group, request_positions)
            config_positions.append(await config_producer.publish(late_definition))
            await caught_up(gateway, settings.config_consumer_group, config_positions)
        w = World(gateway=gateway, client=client, settings=settings, j=j, k=k, now=now, ids=ids)
        w.events = {"public_comment": public_comment, "late_definition": late_definition, "light": config[0]}
        w.events |= {f"closed_{i}": e for i, e in enumerate(request_events[1:5])}
        w.events["updated_old_status"] = request_events[11]
        yield w


# -- discovery ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_DS_03_discovery_has_every_field_and_the_v2_endpoint(world: World, fmt: str):
    r = await world.get("discovery", fmt)
    assert r.status_code == 200
    doc = read(r, fmt, root="discovery")
    assert doc["contact"] and doc["key_service"]
    assert W3C_OUTPUT.match(leaf_text(doc)["changeset"])
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "https://open311.springfield.example.gov/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert "servicerequestupdates" in doc["extensions"]


async def test_DS_03_a_jurisdiction_s_changeset_is_its_latest_catalogue_change(world: World):
    doc = read(await world.get("discovery", "json", jurisdiction_id=world.j), "json")
    assert doc["changeset"] == world.events["late_definition"].occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await world.get("discovery", "json", jurisdiction_id="nowhere.example.gov")).status_code == 404


# -- services ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_SL_01_to_SL_08_the_active_services_with_all_seven_fields(world: World, fmt: str):
    r = await world.get("services", fmt, jurisdiction_id=world.j)
    assert r.status_code == 200
    services = leaf_text(read(r, fmt, root="services"))
    by_code = {s["service_code"]: s for s in services}
    assert set(by_code) == {"LIGHT", "POTHOLE", "graffiti.removal", "BULKY", "LATE"}  # OLD is inactive
    for s in services:
        assert set(s) == set(SERVICE_FIELDS)
        assert s["metadata"] in ("true", "false") and s["type"] in ("realtime", "batch", "blackbox")
    assert by_code["LIGHT"] == {
        "service_code": "LIGHT",
        "service_name": "Streetlight out",
        "description": "A streetlight is out",
        "metadata": "true",
        "type": "realtime",
        "keywords": "lamp, light",
        "group": "streets",
    }
    assert by_code["POTHOLE"]["metadata"] == "false"
    assert (by_code["BULKY"]["type"], by_code["graffiti.removal"]["type"]) == ("batch", "blackbox")


async def test_G_31_service_codes_are_json_strings_and_the_formats_agree(world: World):
    as_json = read(await world.get("services", "json", jurisdiction_id=world.j), "json")
    as_xml = read(await world.get("services", "xml", jurisdiction_id=world.j), "xml")
    assert all(isinstance(s["service_code"], str) and isinstance(s["metadata"], bool) for s in as_json)
    assert leaf_text(as_json) == as_xml


@pytest.mark.parametrize("fmt", FORMATS)
async def test_G_61_a_missing_jurisdiction_is_400_and_an_unknown_one_404(world: World, fmt: str):
    missing = await world.get("services", fmt)
    assert missing.status_code == 400
    assert read(missing, fmt, root="errors")[0]["description"].startswith("jurisdiction_id was not provided")
    empty = await world.get("services", fmt, jurisdiction_id="")  # G-50: empty is absent
    assert empty.status_code == 400
    unknown = await world.get("services", fmt, jurisdiction_id="ogdenville.example.gov")
    assert unknown.status_code == 404
    assert "ogdenville.example.gov" in read(unknown, fmt, root="errors")[0]["description"]


# -- service definitions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_SD_01_to_SD_12_the_definition_with_ordered_attributes_and_values(world: World, fmt: str):
    r = await world.get("services/LIGHT", fmt, jurisdiction_id=world.j)
    assert r.status_code == 200
    doc = leaf_text(read(r, fmt, root="service_definition"))
    assert doc["service_code"] == "LIGHT"
    assert [a["code"] for a in doc["attributes"]] == [
        "POLE_ID",
        "LAMP_STATE",
        "HAZARDS",
        "HEIGHT_M",
        "NOTICED_AT",
        "NOTES",
        "SAFETY",
    ]
    assert [a["order"] for a in doc["attributes"]] == ["1", "2", "3", "4", "5", "6", "7"]
    pole, state, hazards, *_, safety = doc["attributes"]
    assert pole == {
        "variable": "true",
        "code": "POLE_ID",
        "datatype": "string",
        "required": "true",
        "datatype_description": "e.g. SL-10442",
        "order": "1",
        "description": "The number on the pole's metal tag",
    }
    assert state["values"] == [
        {"key": "out", "name": "Completely out"},
        {"key": "flicker", "name": "Flickering"},
        {"key": "day", "name": "On during the day"},
    ]
    assert hazards["datatype"] == "multivaluelist" and hazards["required"] == "false"
    assert safety["variable"] == "false" and "values" not in safety


@pytest.mark.parametrize("fmt", FORMATS)
async def test_SD_11_unknown_inactive_and_attribute_less_services_are_404(world: World, fmt: str):
    for code in ("NOPE", "OLD", "POTHOLE", "graffiti.removal"):
        r = await world.get(f"services/{code}", fmt, jurisdiction_id=world.j)
        assert r.status_code == 404, code
        [error] = read(r, fmt, root="errors")
        assert leaf_text(error)["code"] == "404" and code in error["description"]


# -- requests -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_RQ_03_RQ_04_the_default_is_the_last_90_days_newest_first(world: World, fmt: str):
    got = [r["service_request_id"] for r in await world.requests(fmt)]
    ids = world.ids
    assert got == [ids["late"], ids["address_only"], ids["far"], ids["recent"], ids["closed"]]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_SR_20_every_request_has_all_seventeen_fields_and_w3c_dates(world: World, fmt: str):
    for request in await world.requests(fmt):
        assert list(request) == list(REQUEST_FIELDS)
        assert W3C_OUTPUT.match(leaf_text(request["requested_datetime"]))
        assert W3C_OUTPUT.match(leaf_text(request["updated_datetime"]))
        assert request["status"] in ("open", "closed")


async def test_SR_02_SR_03_SR_10_a_closed_request_shows_its_note_and_close_time(world: World):
    [closed] = await world.requests(service_request_id=world.ids["closed"])
    close_event = world.events["closed_3"]
    assert closed["status"] == "closed" and closed["status_notes"] == "Repaired"
    assert closed["updated_datetime"] == close_event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert closed["service_name"] == "Streetlight out" and closed["service_code"] == "LIGHT"


async def test_SR_12_to_SR_17_place_media_and_id_types_in_json(world: World):
    """The place shown is public (DESIGN §4): the H3 cell's centre at the gateway's resolution, the block."""
    [recent] = await world.requests(service_request_id=world.ids["recent"])
    public = public_place(*POINT, resolution=RESOLUTION)
    assert (recent["lat"], recent["long"]) == (public.lat, public.long) != POINT
    assert recent["address"] == "0 block of Main St" and recent["address_id"] == "ADDR-1"
    assert recent["media_url"] == "https://img.example/1.jpg"
    assert isinstance(recent["service_request_id"], str) and recent["zipcode"] is None
    [address_only] = await world.requests(service_request_id=world.ids["address_only"])
    assert address_only["lat"] is None and address_only["long"] is None
    assert address_only["address"] is None  # free text, no block to show: it could name a home


async def test_SR_12_an_address_only_request_has_empty_lat_long_elements_in_xml(world: World):
    r = await world.get(
        "requests", "xml", jurisdiction_id=world.j, service_request_id=world.ids["address_only"]
    )
    request = etree.fromstring(r.content).find("request")
    assert request.find("lat") is not None and request.find("lat").text is None
    assert request.find("address") is not None and request.find("address").text is None
    assert b"Corner of 5th" not in r.content


@pytest.mark.parametrize("fmt", FORMATS)
async def test_G_10_non_ascii_text_round_trips_in_both_formats(world: World, fmt: str):
    [recent] = await world.requests(fmt, service_request_id=world.ids["recent"])
    assert recent["description"] == NON_ASCII
    if fmt == "xml":
        r = await world.get(
            "requests", "xml", jurisdiction_id=world.j, service_request_id=world.ids["recent"]
        )
        assert "Straße &lt;kaputt&gt; &amp; «déjà vu» 水".encode() in r.content


@pytest.mark.parametrize("fmt", FORMATS)
async def test_RQ_02_service_request_id_overrides_every_other_filter(world: World, fmt: str):
    ids = world.ids
    got = await world.requests(
        fmt,
        service_request_id=f"{ids['old']}, {ids['recent']},{ids['other']},NOPE-0000",
        status="closed",
        service_code="LIGHT",
        start_date="2001-01-01",
    )
    assert {r["service_request_id"] for r in got} == {
        ids["old"],
        ids["recent"],
    }  # other: another jurisdiction


async def test_RQ_02_a_long_list_of_ids_finds_the_same_requests_as_a_short_one(world: World):
    """A few ids are bound one parameter each, a long list as one array: both find the same requests."""
    ids = world.ids
    wanted = [ids["old"], ids["recent"]]
    padding = [f"NOPE-{n:04d}" for n in range(60)]
    for given in (wanted, [*padding, *wanted]):
        got = await world.requests(service_request_id=",".join(given))
        assert {r["service_request_id"] for r in got} == set(wanted)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_RQ_01_service_code_and_status_lists(world: World, fmt: str):
    ids = world.ids
    by_code = await world.requests(fmt, service_code="LIGHT,graffiti.removal")
    assert [r["service_request_id"] for r in by_code] == [ids["address_only"], ids["closed"]]
    assert [r["service_request_id"] for r in await world.requests(fmt, status="closed")] == [ids["closed"]]
    both = await world.requests(fmt, status="open,closed")
    assert len(both) == 5
    repeated = await world.client.get(
        f"{BASE}/requests.{fmt}",
        params=[("jurisdiction_id", world.j), ("status", "open"), ("status", "closed")],
    )
    assert len(read(repeated, fmt)) == 5
    assert await world.requests(fmt, service_code="NOPE") == []  # RQ-05: unknown code, empty list


@pytest.mark.parametrize("fmt", FORMATS)
async def test_RQ_05_a_bad_status_or_date_is_400_in_the_asked_format(world: World, fmt: str):
    for params in (
        {"status": "pending"},
        {"start_date": "yesterday"},
        {"end_date": "2026-02-30"},
        {"page_size": "0"},
        {"lat": "1", "long": "2"},
        {"extensions": "maybe"},
    ):
        r = await world.get("requests", fmt, jurisdiction_id=world.j, **params)
        assert r.status_code == 400, params
        [error] = read(r, fmt, root="errors")
        assert leaf_text(error)["code"] == "400"
        assert next(iter(params)) in error["description"] or "lat, long and radius" in error["description"]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_RQ_03_an_explicit_window_is_inclusive_and_at_most_90_days(world: World, fmt: str):
    start = (world.now - timedelta(days=121)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (world.now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")  # exactly the old request's time
    got = await world.requests(fmt, start_date=start, end_date=end)
    assert [r["service_request_id"] for r in got] == [world.ids["old"]]
    too_wide = await world.get(
        "requests",
        fmt,
        jurisdiction_id=world.j,
        start_date="2025-01-01T00:00:00Z",
        end_date="2025-06-01T00:00:00Z",
    )
    assert too_wide.status_code == 400
    assert "90 days" in read(too_wide, fmt, root="errors")[0]["description"]


async def test_RQ_06_an_empty_result_is_an_empty_container(world: World):
    params = {"jurisdiction_id": world.j, "service_code": "NOPE"}
    xml = await world.client.get(f"{BASE}/requests.xml", params=params)
    assert xml.status_code == 200
    root = etree.fromstring(xml.content)
    assert root.tag == "service_requests" and len(root) == 0
    as_json = await world.client.get(f"{BASE}/requests.json", params=params)
    assert as_json.status_code == 200 and as_json.content == b"[]"


async def test_G_50_empty_parameters_answer_as_if_absent(world: World):
    plain = await world.requests()
    with_empties = await world.requests(
        status="",
        service_code="",
        start_date="",
        end_date="",
        page="",
        page_size="",
        lat="",
        long="",
        radius="",
        extensions="",
        updated_after="",
    )
    assert with_empties == plain


@pytest.mark.parametrize("fmt", FORMATS)
async def test_PG_02_pages_are_one_based_stable_and_link_the_next(world: World, fmt: str):
    r1 = await world.get("requests", fmt, jurisdiction_id=world.j, page_size="2")
    first = read(r1, fmt)
    assert len(first) == 2
    assert 'rel="next"' in r1.headers["link"] and "page=2" in r1.headers["link"]
    second = await world.requests(fmt, page="2", page_size="2")
    r3 = await world.get("requests", fmt, jurisdiction_id=world.j, page="3", page_size="2")
    third = read(r3, fmt)
    assert "link" not in r3.headers
    paged = [r["service_request_id"] for r in first + second + third]
    assert paged == [r["service_request_id"] for r in await world.requests(fmt)]


# -- lists assembled from the renderings the fold stores (gateway_0008) ---------------------------------------


def _lists(world: World) -> list[dict[str, str]]:
    """Lists of the world's requests in several shapes: the default window, pages, ids past every filter."""
    every = ",".join(world.ids.values())
    return [{}, {"page_size": "2"}, {"page": "2", "page_size": "2"}, {"service_request_id": every}]


async def _list_bodies(world: World) -> dict[tuple[str, int], bytes]:
    bodies = {}
    for fmt in FORMATS:
        for i, params in enumerate(_lists(world)):
            r = await world.get("requests", fmt, jurisdiction_id=world.j, **params)
            assert r.status_code == 200, r.text
            bodies[fmt, i] = r.content
    return bodies


def _renderings(dsn: str, jurisdiction_id: str) -> dict[str, int | None]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select service_request_id, open311_rendering from gateway.requests where jurisdiction_id = %s",
            (jurisdiction_id,),
        ).fetchall()
    return dict(rows)


async def test_RQ_06_every_folded_request_carries_its_rendering_and_a_list_is_its_rendering_whole(
    world: World, read_dsn: str
):
    """The fold writes each request's objects with its row; a list assembled from them is, byte for byte, the
    list rendered from the rows' columns."""
    renderings = _renderings(read_dsn, world.j)
    assert len(renderings) == 7 and set(renderings.values()) == {RENDERING}
    for fmt in FORMATS:
        for params in _lists(world):
            r = await world.get("requests", fmt, jurisdiction_id=world.j, **params)
            query = request_query(
                {k: [v] for k, v in params.items()},
                jurisdiction_id=world.j,
                now=datetime.now(UTC),
                limits=Limits(),
            )
            rows = (await world.gateway.read_view.requests(query, extra=0))[: query.page.limit]
            assert r.content == render(view_requests_document(rows), Format(fmt)), (fmt, params)


async def test_RQ_06_rows_without_a_current_rendering_are_served_the_same_until_render_view_writes_it(
    world: World, read_dsn: str
):
    """A row from before gateway_0008 (no rendering) and one of an older rendering (stale text) are served from
    their columns; `render-view` (`render_stale`) then writes theirs and leaves the answers as they were."""
    before = await _list_bodies(world)
    with psycopg.connect(read_dsn) as conn:
        conn.execute(
            "update gateway.requests set open311_json = null, open311_xml = null, open311_rendering = null"
            " where service_request_id = %s",
            (world.ids["recent"],),
        )
        conn.execute(
            "update gateway.requests set open311_json = 'stale', open311_xml = 'stale', open311_rendering = %s"
            " where service_request_id = %s",
            (RENDERING - 1, world.ids["closed"]),
        )
    assert await _list_bodies(world) == before
    with psycopg.connect(read_dsn) as conn:
        await asyncio.to_thread(render_stale, conn, batch=2)
    assert set(_renderings(read_dsn, world.j).values()) == {RENDERING}
    assert await _list_bodies(world) == before


@pytest.mark.parametrize("fmt", FORMATS)
async def test_UP_01_updated_after_finds_old_requests_that_changed_recently(world: World, fmt: str):
    since = (world.now - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    got = await world.requests(fmt, updated_after=since)
    ids = [r["service_request_id"] for r in got]
    assert world.ids["updated_old"] in ids  # requested 200 days ago: outside the default window
    assert world.ids["closed"] not in ids and world.ids["recent"] not in ids
    assert ids == [world.ids["late"], world.ids["updated_old"]]  # oldest update first
    before = await world.requests(fmt, updated_before=(world.now - timedelta(days=100)).strftime("%Y-%m-%d"))
    assert [r["service_request_id"] for r in before] == [world.ids["old"]]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_GEO_01_lat_long_radius_in_metres(world: World, fmt: str):
    near = await world.requests(fmt, lat=str(POINT[0]), long=str(POINT[1]), radius="1000")
    assert {r["service_request_id"] for r in near} == {
        world.ids["recent"],
        world.ids["closed"],
        world.ids["late"],
    }
    # Found by the public point (`location` holds nothing else), and shown at it.
    public = public_place(*POINT, resolution=RESOLUTION)
    assert {(float(r["lat"]), float(r["long"])) for r in near} == {(public.lat, public.long)}
    wide = await world.requests(fmt, lat=str(POINT[0]), long=str(POINT[1]), radius="11000")
    assert world.ids["far"] in {r["service_request_id"] for r in wide}
    assert world.ids["address_only"] not in {r["service_request_id"] for r in wide}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_CX_01_extensions_add_fields_only_when_asked(world: World, fmt: str):
    [core] = await world.requests(fmt, service_request_id=world.ids["recent"])
    assert "extended_attributes" not in core
    [extended] = await world.requests(fmt, service_request_id=world.ids["recent"], extensions="true")
    assert leaf_text(extended["extended_attributes"]) == {
        "channel": "open311",
        "detailed_status": "RECEIVED",
        "media_urls": ["https://img.example/1.jpg", "https://img.example/2.jpg"],
    }
    assert {k: v for k, v in extended.items() if k != "extended_attributes"} == core


# -- one request --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_R1_01_one_request_is_a_list_of_one(world: World, fmt: str):
    r = await world.get(f"requests/{world.ids['closed']}", fmt, jurisdiction_id=world.j)
    assert r.status_code == 200
    [request] = read(r, fmt, root="service_requests")
    assert request["service_request_id"] == world.ids["closed"] and list(request) == list(REQUEST_FIELDS)
    [listed] = await world.requests(fmt, service_request_id=world.ids["closed"])
    assert request == listed


@pytest.mark.parametrize("fmt", FORMATS)
async def test_R1_02_an_unknown_id_or_another_jurisdiction_s_is_404(world: World, fmt: str):
    for rid in ("ZZZZ-ZZZZ", world.ids["other"]):
        r = await world.get(f"requests/{rid}", fmt, jurisdiction_id=world.j)
        assert r.status_code == 404
        [error] = read(r, fmt, root="errors")
        assert rid in error["description"]


async def test_G_04_the_singular_request_path_is_an_alias(world: World):
    r = await world.client.get(
        f"{BASE}/request/{world.ids['recent']}.json", params={"jurisdiction_id": world.j}
    )
    assert r.status_code == 200 and r.json()[0]["service_request_id"] == world.ids["recent"]


async def test_R1_03_extensions_on_one_request(world: World):
    r = await world.get(f"requests/{world.ids['closed']}", "json", jurisdiction_id=world.j, extensions="true")
    assert r.json()[0]["extended_attributes"]["detailed_status"] == "PROCESSED"


# -- tokens -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_TK_01_to_TK_03_tokens_resolved_pending_and_unknown(world: World, fmt: str):
    resolved, pending, unseen = (f"tok-{fmt}-{n}-{world.j}" for n in ("resolved", "pending", "unseen"))
    async with world.gateway.pool.connection() as conn:
        await conn.execute(
            "insert into gateway.tokens (token, jurisdiction_id, service_request_id) values"
            " (%s, %s, %s), (%s, %s, null), (%s, %s, %s)",
            (resolved, world.j, world.ids["recent"], pending, world.j, unseen, world.j, "NOT0-YET0"),
        )
    r = await world.get(f"tokens/{resolved}", fmt, jurisdiction_id=world.j)
    assert r.status_code == 200
    assert read(r, fmt, root="service_requests") == [
        {"service_request_id": world.ids["recent"], "token": resolved}
    ]
    for token in (pending, unseen):  # no id yet, or an id whose request the view has not seen yet
        r = await world.get(f"tokens/{token}", fmt, jurisdiction_id=world.j)
        assert r.status_code == 200
        assert read(r, fmt, root="service_requests") == [{"token": token}]
    for jurisdiction, token in ((world.j, "never-issued"), (world.k, resolved)):
        r = await world.get(f"tokens/{token}", fmt, jurisdiction_id=jurisdiction)
        assert r.status_code == 404
        assert token in read(r, fmt, root="errors")[0]["description"]


# -- servicerequestupdates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_FX_01_updates_are_status_changes_and_public_comments_oldest_first(world: World, fmt: str):
    r = await world.get(
        "servicerequestupdates",
        fmt,
        jurisdiction_id=world.j,
        start_date=(world.now - timedelta(days=21)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        end_date=(world.now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert r.status_code == 200
    updates = leaf_text(read(r, fmt, root="service_request_updates"))
    ack, internal, close = (world.events[f"closed_{i}"] for i in (1, 2, 3))
    comment = world.events["public_comment"]
    assert [u["update_id"] for u in updates] == [
        str(ack.event_id),
        str(close.event_id),
        str(comment.event_id),
    ]
    assert str(internal.event_id) not in r.text and "upset" not in r.text  # never internal comments
    assert [u["status"] for u in updates] == ["investigating", "closed", "closed"]
    assert [u["description"] for u in updates] == ["Seen", "Repaired", "Crew says thanks"]
    assert updates[1]["external_status_code"] == "FIXED"
    for u in updates:
        assert set(u) == {*UPDATE_FIELDS, "external_status_code"}
        assert u["service_request_id"] == world.ids["closed"] and W3C_OUTPUT.match(u["updated_datetime"])


async def test_FX_02_without_dates_the_last_day_of_updates(world: World):
    r = await world.get("servicerequestupdates", "json", jurisdiction_id=world.j)
    assert [u["update_id"] for u in r.json()] == [str(world.events["updated_old_status"].event_id)]
    assert r.json()[0]["status"] == "in_progress"


async def test_FX_01_a_twice_published_comment_is_one_update(world: World):
    async with world.gateway.pool.connection() as conn:
        cur = await conn.execute(
            "select count(*) from gateway.request_updates where update_id = %s",
            (world.events["public_comment"].event_id,),
        )
        assert (await cur.fetchone())[0] == 1


@pytest.mark.parametrize("fmt", FORMATS)
async def test_FX_02_a_bad_or_too_wide_window_is_400(world: World, fmt: str):
    for params in ({"start_date": "soon"}, {"start_date": "2025-01-01", "end_date": "2025-12-01"}):
        r = await world.get("servicerequestupdates", fmt, jurisdiction_id=world.j, **params)
        assert r.status_code == 400
        assert leaf_text(read(r, fmt, root="errors")[0])["code"] == "400"


# -- the view behind it -----------------------------------------------------------------------------------------


async def test_SR_04_a_request_gets_its_service_name_whichever_consumer_runs_first(world: World):
    [late] = await world.requests(service_request_id=world.ids["late"])
    assert late["service_name"] == "Defined after its first request"


async def test_SR_21_no_personal_data_columns_in_the_view(world: World):
    async with world.gateway.pool.connection() as conn:
        cur = await conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'gateway' and table_name in ('requests', 'request_updates')"
        )
        columns = {row[0] for row in await cur.fetchall()}
    assert not columns & {
        "contact",
        "email",
        "phone",
        "first_name",
        "last_name",
        "account_id",
        "device_id",
        "resident_id",
    }


async def test_partner_keys_are_folded_with_their_revocations(world: World):
    async with world.gateway.pool.connection() as conn:
        cur = await conn.execute(
            "select client_id, key_sha256, revoked_at is not null from gateway.partners"
            " where jurisdiction_id = %s order by client_id",
            (world.j,),
        )
        rows = await cur.fetchall()
    assert rows == [("fixmystreet", "a" * 64, False), ("oldapp", "b" * 64, True)]


# -- the HTTP edges -----------------------------------------------------------------------------------------------


async def test_G_36_gets_allow_any_origin(world: World):
    for path in ("services.json", "discovery.xml", "requests/NOPE-NOPE.xml"):
        r = await world.client.get(f"{BASE}/{path}", params={"jurisdiction_id": world.j})
        assert r.headers["access-control-allow-origin"] == "*", path


@pytest.mark.parametrize("path", ["services.csv", "requests.html", "requests/ABCD-1234.yaml", "services"])
async def test_G_05_an_unknown_format_is_a_404_document_in_xml(world: World, path: str):
    r = await world.client.get(f"{BASE}/{path}", params={"jurisdiction_id": world.j})
    assert r.status_code == 404
    assert leaf_text(read(r, "xml", root="errors")[0])["code"] == "404"


@pytest.mark.parametrize("fmt", FORMATS)
async def test_ER_02_a_post_to_a_read_only_resource_is_405_with_a_document(world: World, fmt: str):
    for path in ("services", "discovery", f"requests/{world.ids['recent']}", "tokens/abc"):
        r = await world.client.post(f"{BASE}/{path}.{fmt}", data={"jurisdiction_id": world.j})
        assert r.status_code == 405, path
        assert leaf_text(read(r, fmt, root="errors")[0])["code"] == "405"


async def test_readiness_reports_database_migrations_kafka_and_consumers(world: World):
    async def ready() -> httpx.Response | None:
        # Each check has 2 s to answer: on a machine busy with other work one may miss it now and then, and the
        # next probe (as a kubelet's) finds it ready.
        r = await world.client.get("/readyz")
        return r if r.status_code == 200 else None

    r = await eventually(ready, timeout=30, what="the gateway ready", interval=0.5)
    assert r.json()["checks"] == {"database": True, "migrations": True, "kafka": True, "consumers": True}


async def test_G_62_single_mode_serves_its_jurisdiction_without_an_id_and_404s_others(world: World):
    settings = world.settings.model_copy(
        update={"jurisdictions_mode": JurisdictionsMode.single, "default_jurisdiction_id": world.j}
    )
    async with running_app(settings, start_consumers=False) as (_, client):
        without = await client.get(f"{BASE}/services.json")
        with_own = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": world.j})
        other = await client.get(f"{BASE}/services.xml", params={"jurisdiction_id": world.k})
    assert without.status_code == 200 and without.json() == with_own.json()
    assert {s["service_code"] for s in without.json()} >= {"LIGHT", "POTHOLE"}
    assert other.status_code == 404 and world.j in read(other, "xml", root="errors")[0]["description"]


async def test_G_60_multi_mode_with_a_default_reads_a_missing_id_as_the_default(world: World):
    settings = world.settings.model_copy(update={"default_jurisdiction_id": world.k})
    async with running_app(settings, start_consumers=False) as (_, client):
        without = await client.get(f"{BASE}/services.json")
        other = await client.get(f"{BASE}/services.json", params={"jurisdiction_id": world.j})
    assert [s["service_code"] for s in without.json()] == ["TREE"]
    assert "LIGHT" in {s["service_code"] for s in other.json()}
