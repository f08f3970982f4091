"""/public and the weekly CSV on the real database and broker: a small world of requests published to the log, folded
by the public consumer, read through the app; none of the residents' or staff's strings appears in either."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from asgi_lifespan import LifespanManager
from civicloop_events import Actor, Event, Location
from civicloop_events.payloads import (
    AreaRef,
    CategorySla,
    CommentAdded,
    LocationMethod,
    LocationResolved,
    OpeningHours,
    ServiceRequestSubmitted,
    SlaDefined,
    StatusChanged,
    SurveyAnswered,
    Weekday,
)
from civicloop_events.personal_data import SealedPersonalData
from civicloop_places import public_place
from civicloop_projections.domain.public_stats import WEEKLY_COLUMNS
from civicloop_projections.entrypoints.http import create_app
from civicloop_testing.events import config_event, publish_events, request_event
from civicloop_testing.staff_tokens import verifier_for_tests
from httpx import ASGITransport, AsyncClient
from projection_events import new_jurisdiction, new_number
from projection_harness import caught_up, consumers_running

RESIDENTS = [
    ("Maribel Okonkwo-Lindqvist", "410-555-0134", "maribel.ol@example.org", 2111),
    ("Theodore Vasquez-Hale", "+44 20 7946 0958", "teddy.vh@example.net", 3417),
    ("Ingrid Ferreira-Abbott", "(443) 555-0199", "ingrid.fa@example.com", 4789),
    ("Kwame Delacroix-Moss", "667.555.0177", "kwame.dm@example.org", 5623),
    ("Yolanda Petrakis-Byrne", "0049 30 901820", "yolanda.pb@example.de", 6031),
    ("Osvaldo Nakamura-Reid", "202 555 0143", "osvaldo.nr@example.us", 7759),
]
STAFF = Actor(kind="agent", id="agent-hidden-42")
# Five requests at one spot (one H3 cell) and one far away (a cell of its own, below k = 3).
NEAR = [(39.29043, -76.61221)] * 5
FAR = (39.35000, -76.70000)


def _world(jurisdiction: str, now: datetime) -> tuple[list[Event], list[str]]:
    events: list[Event] = []
    personal: list[str] = [STAFF.id or ""]
    at = lambda minutes: now - timedelta(minutes=60 - minutes)  # noqa: E731 (within the last hour)
    for i, (name, phone, email, house) in enumerate(RESIDENTS):
        number, resident = new_number(), uuid4()
        lat, long = NEAR[i] if i < 5 else FAR
        address = f"{house} Pennington Ave, Apt 2"
        personal += [name, phone, email, address, str(resident), f"{lat:.5f}", f"{long:.5f}"]
        code = "pothole" if i < 4 else "graffiti"

        def on(payload, minutes: float, actor: Actor = STAFF, number: str = number) -> Event:
            return request_event(
                payload,
                request_id=number,
                actor=actor,
                source="web",
                jurisdiction_id=jurisdiction,
                occurred_at=at(minutes),
            )

        events.append(
            on(
                ServiceRequestSubmitted(
                    service_code=code,
                    description=f"{name} here, call {phone} or write to {email}",
                    location=Location(lat=lat, long=long, address_string=address),
                    contact=SealedPersonalData(
                        resident_id=resident, nonce="bm9uY2Vub25jZTEy", ciphertext="c2VhbGVk"
                    ),
                    preferred_channel="sms",
                ),
                i,
                Actor(kind="resident"),
            )
        )
        areas = [AreaRef(area_id="d3", kind="district", name="District 3", version=1)] if i < 5 else []
        events.append(
            on(
                LocationResolved(
                    lat=lat,
                    long=long,
                    address=address,
                    method=LocationMethod.submitted,
                    provider="reporter",
                    confidence=1.0,
                    service_areas=areas,
                    inside_jurisdiction=True,
                    public=public_place(lat, long, address),
                ),
                i + 0.5,
            )
        )
        events.append(on(CommentAdded(text=f"{name} phoned from {phone}", visibility="internal"), 20))
        if i < 3:  # three closed, each with a survey answer: 10, 9 and 3 (NPS 33)
            events.append(on(StatusChanged(status="acknowledged", public_note=f"Thanks {email}"), 30))
            events.append(
                on(StatusChanged(status="closed", reason="fixed", public_note=f"Done, ring {phone}"), 40)
            )
            events.append(
                on(
                    SurveyAnswered(resident_id=resident, fixed=True, nps_score=[10, 9, 3][i], channel="sms"),
                    50,
                )
            )
    return events, personal


async def test_public_page_and_weekly_csv_show_figures_and_nothing_personal(projections, request_producer):
    jurisdiction = new_jurisdiction()
    now = datetime.now(UTC)
    events, personal = _world(jurisdiction, now)
    positions = await request_producer.publish_many(events)
    async with consumers_running(projections):
        await caught_up(projections, projections.settings.public_consumer_name, positions)

    app = create_app(projections.settings, staff_verifier=verifier_for_tests(), start_consumers=False)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://public.test") as client,
    ):
        page = await client.get("/public", params={"jurisdiction_id": jurisdiction})
        weekly = await client.get("/api/public/weekly.csv", params={"jurisdiction_id": jurisdiction})
        async with projections.pool.connection() as conn:
            cur = await conn.execute(
                "select public_note, block_address from projections.public_requests where jurisdiction_id = %s",
                (jurisdiction,),
            )
            stored = repr(await cur.fetchall())
            # Gone from the table, still on the page: it is served from memory within public_cache_s.
            await conn.execute(
                "delete from projections.public_requests where jurisdiction_id = %s", (jurisdiction,)
            )
        again = await client.get("/public", params={"jurisdiction_id": jurisdiction})

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"].startswith("public, max-age=")
    assert again.text == page.text  # served from memory
    html = page.text
    assert "<script" not in html
    assert re.search(r"<dt>Filed</dt><dd>6</dd>", html)
    assert re.search(r"<dt>Resolved</dt><dd>3</dd>", html)
    assert re.search(r"<dt>Open now</dt><dd>3</dd>", html)
    assert re.search(r"<dt>Net Promoter Score</dt><dd>33</dd>", html)
    assert '<th scope="row">pothole</th><td class="n">4</td><td class="n">3</td>' in html
    assert '<th scope="row">District 3</th><td class="n">5</td>' in html
    assert html.count("<circle ") == 1  # the far cell holds one request, below k = 3
    assert "1 request not drawn" in html

    assert weekly.status_code == 200
    assert weekly.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(weekly.text)))
    assert tuple(rows[0].keys()) == WEEKLY_COLUMNS
    overall = [r for r in rows if r["dimension"] == "all"]
    assert sum(int(r["filed"]) for r in overall) == 6
    assert sum(int(r["resolved"]) for r in overall) == 3
    assert overall[-1]["open_at_week_end"] == "3"
    assert {(r["dimension"], r["key"]) for r in rows} >= {
        ("category", "pothole"),
        ("category", "graffiti"),
        ("service_area", "District 3"),
    }

    for text in (html, weekly.text):
        for value in personal:
            assert value not in text, value
    for value in personal:
        assert value not in stored, value
    assert "[phone removed]" in stored and "block of Pennington Ave" in stored


async def test_weekly_csv_counts_iso_weeks_in_the_jurisdictions_time_zone(projections, request_producer):
    jurisdiction = new_jurisdiction()
    a, b, d = new_number(), new_number(), new_number()

    def on(number: str, payload, when: str) -> Event:
        return request_event(
            payload,
            request_id=number,
            actor=STAFF,
            source="web",
            jurisdiction_id=jurisdiction,
            occurred_at=datetime.fromisoformat(when),
        )

    def submission(lat: float) -> ServiceRequestSubmitted:
        return ServiceRequestSubmitted(service_code="pothole", location=Location(lat=lat, long=-76.6))

    events = [
        on(a, submission(39.29), "2026-03-02T15:00:00+00:00"),  # Monday of 2026-W10
        on(a, StatusChanged(status="closed", reason="fixed"), "2026-03-03T15:00:00+00:00"),  # 24 h later
        on(b, submission(39.30), "2026-03-04T15:00:00+00:00"),
        # Monday 03:00 UTC is Sunday 23:00 in New York: still 2026-W10 there.
        on(d, submission(39.31), "2026-03-09T03:00:00+00:00"),
        on(b, StatusChanged(status="closed", reason="fixed"), "2026-03-17T15:00:00+00:00"),  # 2026-W12
        on(b, SurveyAnswered(resident_id=uuid4(), nps_score=10, channel="sms"), "2026-03-18T15:00:00+00:00"),
    ]
    positions = await request_producer.publish_many(events)
    async with consumers_running(projections):
        await caught_up(projections, projections.settings.public_consumer_name, positions)

    settings = projections.settings.model_copy(update={"public_time_zone": "America/New_York"})
    app = create_app(settings, staff_verifier=verifier_for_tests(), start_consumers=False)
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://public.test") as client,
    ):
        weekly = await client.get("/api/public/weekly.csv", params={"jurisdiction_id": jurisdiction})
    rows = list(csv.DictReader(io.StringIO(weekly.text)))
    figures = ("iso_week", "filed", "resolved", "open_at_week_end", "median_hours_to_resolve", "nps")
    overall = [tuple(r[f] for f in figures) for r in rows if r["dimension"] == "all"]
    assert overall[:4] == [
        ("2026-W10", "3", "1", "2", "24", ""),
        ("2026-W11", "0", "0", "2", "", ""),
        ("2026-W12", "0", "1", "1", "312", "100"),
        ("2026-W13", "0", "0", "1", "", ""),
    ]
    assert overall[-1][0] == datetime.now(ZoneInfo("America/New_York")).strftime("%G-W%V")
    pothole = [tuple(r[f] for f in figures) for r in rows if r["dimension"] == "category"]
    assert pothole[:3] == overall[:3] and len(pothole) == len(overall)  # open until now: a row every week


async def test_weekly_csv_takes_the_sla_verdicts_and_the_time_zone_of_the_sla_definition(
    projections, request_producer
):
    jurisdiction = new_jurisdiction()
    every_day = [OpeningHours(day=day, opens="00:00", closes="24:00") for day in Weekday]
    definition = SlaDefined(
        time_zone="America/New_York",
        opening_hours=every_day,
        categories=[CategorySla(service_code="pothole", resolve_within_minutes=60)],
    )
    config = await publish_events(
        projections.settings.kafka_bootstrap,
        projections.settings.topics.jurisdiction_config,
        [
            config_event(
                definition, jurisdiction_id=jurisdiction, occurred_at=datetime(2026, 2, 1, tzinfo=UTC)
            )
        ],
    )

    def on(number: str, payload, when: str) -> Event:
        return request_event(
            payload,
            request_id=number,
            actor=STAFF,
            source="web",
            jurisdiction_id=jurisdiction,
            occurred_at=datetime.fromisoformat(when),
        )

    def submission(code: str) -> ServiceRequestSubmitted:
        return ServiceRequestSubmitted(service_code=code, location=Location(lat=39.29, long=-76.6))

    fast, slow, untimed, late_sunday = new_number(), new_number(), new_number(), new_number()
    closed = StatusChanged(status="closed", reason="fixed")
    events = [
        on(fast, submission("pothole"), "2026-03-02T15:00:00+00:00"),  # Monday 10:00 in New York, 2026-W10
        on(fast, closed, "2026-03-02T15:30:00+00:00"),  # within the hour: met
        on(slow, submission("pothole"), "2026-03-02T15:00:00+00:00"),
        on(slow, closed, "2026-03-06T15:00:00+00:00"),  # four days: missed
        on(untimed, submission("graffiti"), "2026-03-02T15:00:00+00:00"),  # no target: not judged
        on(untimed, closed, "2026-03-03T15:00:00+00:00"),
        # Monday 04:00 UTC is Sunday 23:00 in New York: 2026-W09 by the definition's zone (W10 in UTC).
        on(late_sunday, submission("pothole"), "2026-03-02T04:00:00+00:00"),
    ]
    positions = await request_producer.publish_many(events)
    s = projections.settings
    async with consumers_running(projections):
        await caught_up(projections, s.sla_definitions_consumer_name, config)
        await caught_up(projections, s.sla_consumer_name, positions)
        await caught_up(projections, s.public_consumer_name, positions)

    app = create_app(s, staff_verifier=verifier_for_tests(), start_consumers=False)  # public_time_zone: UTC
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager,
        AsyncClient(transport=ASGITransport(app=manager.app), base_url="http://public.test") as client,
    ):
        weekly = await client.get("/api/public/weekly.csv", params={"jurisdiction_id": jurisdiction})
    rows = list(csv.DictReader(io.StringIO(weekly.text)))
    figures = ("iso_week", "filed", "resolved", "open_at_week_end", "sla_judged", "sla_on_time_share")
    overall = [tuple(r[f] for f in figures) for r in rows if r["dimension"] == "all"]
    assert overall[:2] == [("2026-W09", "1", "0", "1", "0", ""), ("2026-W10", "3", "3", "1", "2", "0.5")]
    by_category = {r["key"]: tuple(r[f] for f in figures) for r in rows if r["iso_week"] == "2026-W10"}
    assert by_category["graffiti"] == ("2026-W10", "1", "1", "0", "0", "")
