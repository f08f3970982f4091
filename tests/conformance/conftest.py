"""The gateway under test: its real ASGI app (lifespan, consumers, pool) on a database and topics of this run's own.

One gateway serves the whole session. Its configuration arrives the way production's does, as events on the real
broker: the catalogues of two jurisdictions (a realtime service with an attribute of every datatype, one without
attributes, a batch and a blackbox service), partners with known API keys, and a few requests submitted long ago
(for the date windows). Tests keep apart by their own request data, never by resetting anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from civicloop_events import Location, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import RequestStatus
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import agent_event, request_event
from civicloop_testing.lifecycle import started
from civicloop_testing.open311_catalogue import POTHOLE, SHELBYVILLE, SPRINGFIELD
from civicloop_testing.polling import eventually
from conformance_harness import (
    BULK,
    CLOSED_AT,
    HISTORY,
    NOW,
    OGDENVILLE,
    RESIDENT,
    Gateway,
    Partner,
    catalogue_served,
    gateway_settings,
    historic_submission,
    new_number,
    partner_key,
    publish_configuration,
    run_migrations,
    running_gateway,
)


@pytest.fixture(scope="session")
def partners() -> dict[str, Partner]:
    return {
        name: Partner(client_id, *partner_key())
        for name, client_id in (
            ("main", "cityapp.conformance"),
            ("other", "other-app"),
            ("revoked", "revoked-app"),
        )
    }


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def conformance_topics(kafka_bootstrap: str) -> Topics:
    return await make_topics(kafka_bootstrap)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway(
    pg_admin_dsn: str, kafka_bootstrap: str, conformance_topics: Topics, partners: dict[str, Partner]
) -> AsyncIterator[Gateway]:
    """The gateway in multi-jurisdiction mode with no default jurisdiction, its configuration folded."""
    topics = conformance_topics
    dsn = create_database(pg_admin_dsn, prefix="cl_conformance")
    configured_at = datetime.now(UTC).replace(microsecond=0)
    try:
        run_migrations(dsn)
        await publish_configuration(
            kafka_bootstrap,
            topics,
            [
                (SPRINGFIELD, partners["main"]),
                (SPRINGFIELD, partners["other"]),
                (SHELBYVILLE, partners["other"]),
            ],
            revoked=[(SPRINGFIELD, partners["revoked"])],
        )
        producer = EventProducer(kafka_bootstrap, topics.request_events, client_id="conformance-requests")
        await producer.start()
        history = {name: new_number() for name in HISTORY}
        for name, (code, when) in HISTORY.items():
            await producer.publish(
                historic_submission(history[name], SPRINGFIELD, code, when, f"Reported long ago ({name})")
            )
        await producer.publish(
            agent_event(
                StatusChanged(
                    status=RequestStatus.closed,
                    previous_status=RequestStatus.open,
                    public_note="Filled and compacted.",
                ),
                request_id=history["closed_20d"],
                agent="crew-4",
                jurisdiction_id=SPRINGFIELD,
                occurred_at=CLOSED_AT,
            )
        )
        settings = gateway_settings(dsn, topics, kafka_bootstrap)
        async with running_gateway(settings) as (app, client):
            await eventually(lambda: catalogue_served(client), timeout=45, what="the published catalogue")

            async def history_served() -> bool:
                for number in history.values():
                    r = await client.get(f"requests/{number}.json", params={"jurisdiction_id": SPRINGFIELD})
                    if r.status_code != 200:
                        return False
                return True

            await eventually(history_served, timeout=30, what="the requests submitted long ago")

            async def closure_served() -> bool:
                r = await client.get(
                    f"requests/{history['closed_20d']}.json", params={"jurisdiction_id": SPRINGFIELD}
                )
                return r.json()[0].get("status") == "closed"

            await eventually(closure_served, timeout=30, what="the closure of a request made long ago")
            yield Gateway(
                app=app,
                client=client,
                settings=settings,
                topics=topics,
                bootstrap=kafka_bootstrap,
                partner=partners["main"],
                other_partner=partners["other"],
                revoked_partner=partners["revoked"],
                requests_producer=producer,
                history=history,
                configured_at=configured_at,
            )
        await producer.stop()
    finally:
        drop_database(pg_admin_dsn, dsn)


@pytest.fixture(params=("xml", "json"))
def fmt(request: pytest.FixtureRequest) -> str:
    """Every §9 check runs for both formats (G-02)."""
    return request.param


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ogdenville_bulk(gateway) -> int:
    """1001 requests of the last 90 days in Ogdenville (a city no other test touches)."""
    start = NOW - timedelta(days=10)
    events = [
        request_event(
            ServiceRequestSubmitted(
                service_code=POTHOLE,
                description=f"Bulk pothole {i}",
                location=Location(address_string=f"{i} Bulk Street"),
            ),
            request_id=new_number(),
            actor=RESIDENT,
            source="web",
            jurisdiction_id=OGDENVILLE,
            occurred_at=start + timedelta(minutes=i),
        )
        for i in range(BULK)
    ]
    bulk = EventProducer(gateway.bootstrap, gateway.topics.request_events, client_id="conformance-bulk")
    async with started(bulk) as producer:
        for i in range(0, BULK, 200):
            await asyncio.gather(*(producer.publish(e) for e in events[i : i + 200]))

    async def all_folded() -> bool:
        r = await gateway.get("requests", "json", jurisdiction_id=OGDENVILLE, page="2", page_size="1000")
        return r.status_code == 200 and len(r.json()) == BULK - 1000

    await eventually(all_folded, timeout=60, what=f"{BULK} Ogdenville requests", interval=0.5)
    return BULK
