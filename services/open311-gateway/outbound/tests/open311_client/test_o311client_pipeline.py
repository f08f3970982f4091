"""The whole outbound path with the Open311 method: a report submitted on the log is routed and queued by the
dispatch core, sent by the Open311 sender from the sender loop to the deviant server, its id comes back as
`ExternalReferenceAssigned`; a batch report's token is resolved by the poller; the back-end's update comes back as a
status change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from civicloop_events import Location, ServiceRequestSubmitted
from civicloop_events.payloads import ExternalReferenceAssigned, SendMethod, SentToBackend
from civicloop_events.request_numbers import new_request_number
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollerConfig
from civicloop_outbound.bootstrap import Outbound, open311_sender
from civicloop_outbound.domain.ports import BodyRecord
from civicloop_outbound.settings import OutboundSettings
from civicloop_testing.events import config_event, publish_events, request_event
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings
from o311client_harness import RESIDENT, deviant_body, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_submitted_report_goes_out_by_open311_and_its_status_comes_back(
    deviant, o311_dsn, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    state.token_delay_s = 0.5
    jurisdiction = f"e2e-{uuid.uuid4().hex[:6]}.example.gov"
    settings = run_settings(
        OutboundSettings,
        o311_dsn,
        kafka_bootstrap,
        o311_topics,
        log_level="WARNING",
        outbound_poll_interval_s=0.1,
        outbound_backoff_initial_s=0.2,
        outbound_backoff_max_s=0.5,
        consumer_backoff_initial_s=0.01,
        outbound_config_consumer_name=f"o311e2e-config.{uuid.uuid4().hex[:6]}",
        outbound_dispatch_consumer_name=f"o311e2e-dispatch.{uuid.uuid4().hex[:6]}",
    )
    outbound = Outbound(
        settings=settings,
        pool=o311_pool,
        producer=o311_producer,
        vault=None,
        senders={SendMethod.open311: open311_sender(settings, o311_pool, o311_http)},
    )
    body_def = deviant_body(url, "public-works")
    outbound.start()
    try:
        await publish_events(
            kafka_bootstrap,
            o311_topics.jurisdiction_config,
            [config_event(body_def, jurisdiction_id=jurisdiction)],
        )

        async def submit(code: str) -> str:
            number = new_request_number()
            await o311_producer.publish(
                request_event(
                    ServiceRequestSubmitted(
                        service_code=code,
                        description=f"{code} on Elm",
                        location=Location(lat=39.8, long=-89.6, address_string="4 Elm St"),
                    ),
                    request_id=number,
                    actor=RESIDENT,
                    source="web",
                    jurisdiction_id=jurisdiction,
                )
            )
            return number

        async def body_folded() -> bool:
            async with o311_pool.connection() as conn:
                cur = await conn.execute(
                    "select 1 from outbound.bodies where jurisdiction_id = %s", (jurisdiction,)
                )
                return bool(await cur.fetchone())

        await eventually(body_folded, timeout=30, what="the body's definition")
        realtime, batch = await submit("POTHOLE"), await submit("BULKY")

        async def assigned(number: str):
            events = await read_events(
                kafka_bootstrap,
                o311_topics,
                request_id=number,
                types=(ExternalReferenceAssigned.event_type,),
            )
            return events or None

        [ref] = await eventually(lambda: assigned(realtime), timeout=45, what="the realtime reference")
        assert ref.payload.body_id == "public-works" and ref.payload.external_id.isdigit()
        sent = await read_events(
            kafka_bootstrap,
            o311_topics,
            request_id=realtime,
            types=(SentToBackend.event_type,),
        )
        assert sent and sent[0].payload.destination == f"{url}/v2/requests.xml"
        assert any(dict(p).get("attribute[civicloop_id]") == realtime for p in state.posts)

        # The batch report went out with a token: the poller turns it into the reference once it resolves.
        async def token_stored() -> bool:
            async with o311_pool.connection() as conn:
                cur = await conn.execute(
                    "select 1 from outbound.open311_tokens where jurisdiction_id = %s and request_id = %s",
                    (jurisdiction, batch),
                )
                return bool(await cur.fetchone())

        await eventually(token_stored, timeout=45, what="the batch token")
        poller = Open311Poller(
            o311_pool, o311_producer, o311_http, config=PollerConfig(token_backoff_initial_s=0.2)
        )

        async def resolved():
            await poller.poll_tokens()
            return await assigned(batch)

        [batch_ref] = await eventually(resolved, timeout=20, what="the batch reference")
        assert batch_ref.payload.external_id != ref.payload.external_id

        # The back-end closes the realtime one; the poller hears it.
        state.updates = [
            {
                "update_id": "e2e-1",
                "service_request_id": ref.payload.external_id,
                "status": "closed",
                "external_status_code": "DONE",
                "description": "Patched",
                "updated_datetime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ]
        report = await poller.poll_updates(BodyRecord(jurisdiction, body_def))
        assert report.status_changes == 1
        [change] = await read_events(
            kafka_bootstrap,
            o311_topics,
            request_id=realtime,
            types=("request.status.changed",),
        )
        assert (change.payload.status, change.payload.public_note) == ("closed", "Patched")
    finally:
        await outbound.stop()
