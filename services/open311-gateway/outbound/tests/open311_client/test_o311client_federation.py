"""Federation: jurisdiction A's Open311 client against jurisdiction B's real CivicLoop gateway, run as a process.

B has its own database and topics; A is this test's database and topics. A holds a partner key of B's (published
in B as `PartnerAuthorised`). A sends a pothole to B and keeps B's number as the external id; B's agent moves the
request on B's log; A's poller hears it through B's `servicerequestupdates`. A request made directly in B is
imported into A once; A's own submission is never imported back.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from civicloop_events import Location, ServiceDefined, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    BackendUpdateReceived,
    BodyDefined,
    Open311Connection,
    PartnerAuthorised,
    RequestImported,
    RequestStatus,
    SendMethod,
    ServiceType,
)
from civicloop_events.producer import EventProducer
from civicloop_events.request_numbers import new_request_number
from civicloop_gateway.domain.partner_keys import issue_key
from civicloop_outbound.adapters.open311_client import discover
from civicloop_outbound.adapters.open311_polling import Open311Poller
from civicloop_outbound.adapters.open311_sender import Open311Sender
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import agent_event, config_event, request_event
from civicloop_testing.polling import eventually
from civicloop_testing.processes import ServiceProcess
from o311client_harness import JURISDICTION, RESIDENT, define_body, outbound_item, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

B_JURISDICTION = "shelbyville.example.gov"
A_CLIENT = "springfield-civicloop"


class JurisdictionB:
    def __init__(self, process: ServiceProcess, producer: EventProducer, key: str) -> None:
        self.process, self.producer, self.key = process, producer, key

    @property
    def open311(self) -> str:
        return f"{self.process.url}/open311/v2"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def jurisdiction_b(pg_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[JurisdictionB]:
    dsn = create_database(pg_admin_dsn, prefix="cl_o311fed_b")
    topics = await make_topics(kafka_bootstrap)
    env = {
        **os.environ,
        "CIVICLOOP_PG_DSN": dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_TOPIC_PREFIX": topics.prefix,
        "CIVICLOOP_TOPIC_PARTITIONS": str(topics.partitions),
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_LOG_LEVEL": "WARNING",
        "CIVICLOOP_JURISDICTIONS_MODE": "multi",
    }
    env.pop("CIVICLOOP_DEFAULT_JURISDICTION_ID", None)
    process = ServiceProcess("open311-gateway", "civicloop-gateway", env, log_prefix="o311fed-b")
    process.env["CIVICLOOP_PUBLIC_BASE_URL"] = process.url  # what B's discovery document tells partners
    key = issue_key()
    config = EventProducer(kafka_bootstrap, topics.jurisdiction_config, client_id="o311fed-b-config")
    requests = EventProducer(kafka_bootstrap, topics.request_events, client_id="o311fed-b-requests")
    await config.start()
    await requests.start()
    try:
        process.run_cli("migrate")
        for payload in (
            PartnerAuthorised(
                client_id=A_CLIENT,
                name="Springfield's CivicLoop",
                key_id=key.key_id,
                key_sha256=key.key_sha256,
            ),
            ServiceDefined(service_code="ROAD_DAMAGE", service_name="Road damage", type=ServiceType.realtime),
        ):
            await config.publish(config_event(payload, jurisdiction_id=B_JURISDICTION, admin="b-admin"))
        process.start()
        await process.wait_ready(90)
        b = JurisdictionB(process, requests, key.key)
        async with httpx.AsyncClient(base_url=b.open311 + "/", timeout=10) as client:

            async def served() -> bool:
                r = await client.get("services.json", params={"jurisdiction_id": B_JURISDICTION})
                return r.status_code == 200 and any(s["service_code"] == "ROAD_DAMAGE" for s in r.json())

            await eventually(served, timeout=60, what="B's catalogue")
        yield b
    finally:
        process.stop()
        await config.stop()
        await requests.stop()
        drop_database(pg_admin_dsn, dsn)


def body_in_a(endpoint: str, fmt: str, body_id: str) -> BodyDefined:
    return BodyDefined(
        body_id=body_id,
        name="Shelbyville Public Works",
        send_method=SendMethod.open311,
        service_codes=["POTHOLE"],
        open311=Open311Connection(
            endpoint=endpoint,
            jurisdiction_id=B_JURISDICTION,
            api_key_ref=f"{body_id}.partner",
            format=fmt,
            multivaluelist_style="brackets",
            id_field="civicloop_ref",
            service_code_map={"POTHOLE": "ROAD_DAMAGE"},
            updates_method="servicerequestupdates",
            import_requests=True,
            poll_interval_s=60,
        ),
    )


async def test_a_sends_to_b_hears_b_back_and_imports_only_what_b_made(
    jurisdiction_b, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap, monkeypatch
):
    b = jurisdiction_b
    body_id = f"shelbyville-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv(f"CIVICLOOP_SECRET_{body_id.upper().replace('-', '_')}_PARTNER", b.key)
    # 0. A configures B from B's discovery document (§10.1).
    found = await discover(o311_http, f"{b.open311}/discovery.json")
    assert found is not None
    endpoint, fmt = found
    assert (endpoint.url.rstrip("/"), fmt) == (b.open311, "json")
    body = await define_body(o311_pool, JURISDICTION, body_in_a(endpoint.url, fmt, body_id))

    # 1. A sends a pothole to B; B's number is the external id.
    ours = new_request_number()
    result = await Open311Sender(o311_pool, o311_http).send(
        body, outbound_item(ours, "POTHOLE", description="Pothole on the county road")
    )
    assert result.external_id and result.external_id != ours
    b_number = result.external_id
    in_b = await o311_http.get(
        f"{b.open311}/requests/{b_number}.json", params={"jurisdiction_id": B_JURISDICTION}
    )
    assert in_b.status_code == 200
    [record] = in_b.json()
    assert record["service_code"] == "ROAD_DAMAGE" and record["description"].endswith(f"[CivicLoop {ours}]")

    # 2. B's agent starts work on it, on B's own log.
    await b.producer.publish(
        agent_event(
            StatusChanged(
                status=RequestStatus.in_progress,
                previous_status=RequestStatus.open,
                public_note="Crew on the way",
            ),
            request_id=b_number,
            agent="b-crew-7",
            jurisdiction_id=B_JURISDICTION,
        )
    )

    async def in_b_feed() -> bool:
        now = datetime.now(UTC)
        r = await o311_http.get(
            f"{b.open311}/servicerequestupdates.json",
            params={
                "jurisdiction_id": B_JURISDICTION,
                "start_date": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end_date": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        return r.status_code == 200 and any(
            u["service_request_id"] == b_number and u["status"] == "in_progress" for u in r.json()
        )

    await eventually(in_b_feed, timeout=30, what="B's update in its servicerequestupdates")

    # 3. A's poller hears it, once.
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    first = await poller.poll_updates(body)
    assert first.status_changes == 1
    second = await poller.poll_updates(body)
    assert second.applied == 0 and second.status_changes == 0
    events = await read_events(kafka_bootstrap, o311_topics, request_id=ours)
    received = [e for e in events if e.type == BackendUpdateReceived.event_type]
    changed = [e for e in events if e.type == "request.status.changed"]
    assert [r.payload.backend_status for r in received if r.payload.backend_status != "open"] == [
        "in_progress"
    ]
    assert all(r.payload.external_id == b_number for r in received)
    assert [(c.payload.status, c.payload.public_note, c.actor.id) for c in changed] == [
        ("in_progress", "Crew on the way", f"backend:{body_id}")
    ]

    # 4. A resident reports directly to B; A imports that one, once, and not its own.
    direct = new_request_number()
    await b.producer.publish(
        request_event(
            ServiceRequestSubmitted(
                service_code="ROAD_DAMAGE",
                description="Cracked kerb on Main",
                location=Location(lat=39.76, long=-89.61, address_string="9 Main St, Shelbyville"),
            ),
            request_id=direct,
            actor=RESIDENT,
            source="web",
            jurisdiction_id=B_JURISDICTION,
        )
    )

    async def listed_in_b() -> bool:
        r = await o311_http.get(
            f"{b.open311}/requests/{direct}.json", params={"jurisdiction_id": B_JURISDICTION}
        )
        return r.status_code == 200 and bool(r.json())

    await eventually(listed_in_b, timeout=30, what="the direct request in B")
    now = datetime.now(UTC)
    report = await poller.import_window(body, now - timedelta(hours=1), now + timedelta(minutes=1))
    assert report.imported == 1
    assert report.skipped.get("sent by CivicLoop (known reference)") == 1
    again = await poller.import_window(body, now - timedelta(hours=1), now + timedelta(minutes=1))
    assert again.imported == 0

    imported = [
        e
        for e in await read_events(kafka_bootstrap, o311_topics, types=(RequestImported.event_type,))
        if e.payload.body_id == body_id
    ]
    assert [e.payload.external_id for e in imported] == [direct]
    submitted = await read_events(
        kafka_bootstrap,
        o311_topics,
        request_id=imported[0].request_id,
        types=(ServiceRequestSubmitted.event_type,),
    )
    assert [(s.payload.service_code, s.payload.description) for s in submitted] == [
        ("POTHOLE", "Cracked kerb on Main")
    ]
