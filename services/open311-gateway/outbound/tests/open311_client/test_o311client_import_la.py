"""Importing real Los Angeles 311 requests of 2017 (`shared/data/requests/la-311-2017-sample.csv`) served as an
Open311 feed: twelve back-end categories onto six of ours (many to one, back through `service_code_map`, the body's
fallback), exclusions, each request's owning agency, and points outside the city flagged. Counted against the
source, row by row; a second import adds nothing."""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import pytest
from civicloop_events.payloads import RequestImported, ServiceRequestSubmitted
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollerConfig
from civicloop_testing import shared_dir
from o311client_harness import JURISDICTION, define_body, deviant_body, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SHARED = shared_dir()
CSV = SHARED / "data" / "requests" / "la-311-2017-sample.csv" if SHARED else None
if CSV is None or not CSV.exists():
    pytest.skip(
        "../shared/data/requests/la-311-2017-sample.csv is not beside this checkout (a user's clone)",
        allow_module_level=True,
    )

LOS_ANGELES = (-118.67, 33.70, -118.15, 34.34)
PER_TYPE = 15  # rows of each RequestType: every category, a few hundred imports
# What each LA RequestType must become, written out by hand (not computed by the code under test).
EXPECTED = {
    "Bulky Items": "BULKY",  # import_service_code_map, many to one
    "Metal/Household Appliances": "BULKY",
    "Electronic Waste": "BULKY",
    "Graffiti Removal": "GRAFFITI",
    "Single Streetlight Issue": "STREETLIGHT",
    "Multiple Streetlight Issue": "STREETLIGHT",
    "Illegal Dumping Pickup": "DUMPING",  # the reverse of service_code_map
    "Homeless Encampment": "ENCAMPMENT",
    "Dead Animal Removal": "OTHER",  # two of ours map to it: the reverse cannot choose, the body's fallback
    "Other": "OTHER",
    "Report Water Waste": "OTHER",
    "Feedback": None,  # excluded
}


def la_time(text: str) -> str:
    """`12/31/2017 11:59:58 PM` (Los Angeles, PST in December) as a W3C date."""
    return datetime.strptime(f"{text} -0800", "%m/%d/%Y %I:%M:%S %p %z").isoformat()


def as_open311(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "service_request_id": row["SRNumber"],
        "status": row["Status"],
        "service_code": row["RequestType"],
        "service_name": row["RequestType"],
        "description": f"{row['RequestType']} ({row['RequestSource']})",
        "requested_datetime": la_time(row["CreatedDate"]),
        "updated_datetime": la_time(row["UpdatedDate"]),
        "address": row["Address"],
        "agency_responsible": row["Owner"],
    }
    if row["Latitude"] and row["Longitude"]:
        record |= {"lat": row["Latitude"], "long": row["Longitude"]}
    return record


def la_sample() -> list[dict[str, str]]:
    """The first PER_TYPE rows of every RequestType, in the file's order."""
    with CSV.open(newline="", encoding="utf-8") as f:  # type: ignore[union-attr]
        rows = list(csv.DictReader(f))
    by_type: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_type.setdefault(row["RequestType"], []).append(row)
    return [r for kind in sorted(by_type) for r in islice(by_type[kind], PER_TYPE)]


async def test_la_requests_import_onto_our_categories_with_their_agency_each_once(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    sample = la_sample()
    assert set(EXPECTED) == {r["RequestType"] for r in sample}  # every category of the source is covered
    moved = sample[0]["SRNumber"]  # one point moved to Helsinki: outside the body's area, its address kept
    state.requests = [
        as_open311(r) | ({"lat": "60.1699", "long": "24.9384"} if r["SRNumber"] == moved else {})
        for r in sample
    ]
    body = await define_body(
        o311_pool,
        JURISDICTION,
        deviant_body(
            url,
            f"la-{uuid.uuid4().hex[:8]}",
            format="json",
            import_requests=True,
            service_code_map={
                "DUMPING": "Illegal Dumping Pickup",
                "ENCAMPMENT": "Homeless Encampment",
                "ANIMAL": "Dead Animal Removal",
                "ROADKILL": "Dead Animal Removal",
                "BULKY": "Bulky Items",
            },
            import_service_code_map={
                "Bulky Items": "BULKY",
                "Metal/Household Appliances": "BULKY",
                "Electronic Waste": "BULKY",
                "Graffiti Removal": "GRAFFITI",
                "Single Streetlight Issue": "STREETLIGHT",
                "Multiple Streetlight Issue": "STREETLIGHT",
            },
            import_fallback_service_code="OTHER",
            import_exclude_service_codes=["Feedback"],
            status_map={"cancelled": "closed"},
            area_bbox=LOS_ANGELES,
        ).model_copy(update={"service_codes": sorted({c for c in EXPECTED.values() if c})}),
    )
    poller = Open311Poller(
        o311_pool, o311_producer, o311_http, config=PollerConfig(import_fallback_service_code="PROCESS")
    )
    window = (datetime(2017, 12, 1, tzinfo=UTC), datetime(2018, 1, 1, tzinfo=UTC))
    report = await poller.import_window(body, *window)
    wanted = {r["SRNumber"]: r for r in sample if EXPECTED[r["RequestType"]]}
    assert (report.fetched, report.imported) == (len(sample), len(wanted))
    assert report.skipped == {"service_code Feedback is excluded": 1}
    again = await poller.import_window(body, *window)
    assert (again.imported, again.skipped) == (0, {"already decided": len(sample)})

    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select request_id, external_id from outbound.backend_imports where body_id = %s"
            " and outcome = 'imported'",
            (body.body_id,),
        )
        external_of = dict(await cur.fetchall())
    assert set(external_of.values()) == set(wanted)
    events = [
        e
        for e in await read_events(
            kafka_bootstrap,
            o311_topics,
            types=(RequestImported.event_type, ServiceRequestSubmitted.event_type),
        )
        if e.request_id in external_of
    ]
    assert Counter(e.type for e in events) == {
        RequestImported.event_type: len(wanted),
        ServiceRequestSubmitted.event_type: len(wanted),
    }
    for e in events:
        source = wanted[external_of[e.request_id]]
        if e.type == RequestImported.event_type:
            assert e.payload.agency_responsible == source["Owner"]
            assert e.payload.backend_service_code == source["RequestType"]
            flag = "the point is outside the body's area" if source["SRNumber"] == moved else None
            assert e.payload.location_flag == flag
        else:
            assert e.payload.service_code == EXPECTED[source["RequestType"]], source["SRNumber"]
            location = e.payload.location
            assert location.address_string == (source["Address"] or None)
            if source["Latitude"] and source["SRNumber"] != moved:
                assert (location.lat, location.long) == (
                    float(source["Latitude"]),
                    float(source["Longitude"]),
                )
            else:
                assert not location.has_point
    agencies = Counter(e.payload.agency_responsible for e in events if e.type == RequestImported.event_type)
    assert len(agencies) >= 4  # BOS, OCB, ITA, BSL, LADWP: several agencies behind one body
