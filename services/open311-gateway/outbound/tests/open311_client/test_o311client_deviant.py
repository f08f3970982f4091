"""The Open311 sender, token poller, updates poller and import against a deviant Open311 server on 127.0.0.1, with
events on the real broker and state in the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from civicloop_events.payloads import (
    BackendUpdateReceived,
    ExternalReferenceAssigned,
    RequestImported,
    SendFailed,
    ServiceRequestSubmitted,
)
from civicloop_events.request_numbers import new_request_number
from civicloop_open311.wire import as_datetime as wire_dates
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollerConfig
from civicloop_outbound.adapters.open311_sender import Open311Sender, remember_reference
from civicloop_outbound.domain.ports import BodyRecord, PermanentFailure, TemporaryFailure
from civicloop_testing.polling import eventually
from o311client_harness import JURISDICTION, define_body, deviant_body, outbound_item, read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def body_id() -> str:
    return f"deviant-{uuid.uuid4().hex[:8]}"


async def defined(pool: Any, url: str, **connection: Any) -> BodyRecord:
    """A body of its own on the deviant server at `url`, folded in JURISDICTION."""
    return await define_body(pool, JURISDICTION, deviant_body(url, body_id(), **connection))


async def test_realtime_send_is_strict_on_the_wire_and_reads_a_wrapped_numeric_id(
    deviant, o311_pool, o311_http
):
    state, url = deviant
    body = await defined(o311_pool, url)
    number = new_request_number()
    sender = Open311Sender(o311_pool, o311_http)
    result = await sender.send(body, outbound_item(number, "POTHOLE", attributes={"HAZ": ["wires", "glass"]}))

    assert result.external_id == "1001"  # {"service_requests":{"request":{"service_request_id":1001}}}, a 201
    assert result.destination.endswith("/v2/requests.xml")
    sent = state.posts[-1]
    form = dict(sent)
    assert form["api_key"] == "deviant-key" and form["jurisdiction_id"] == "deviant.example"
    assert form["service_code"] == "RT-9"  # service_code_map applied
    assert (form["lat"], form["long"]) == ("39.7817", "-89.6501")
    assert form["attribute[civicloop_id]"] == number and form["attribute[origin]"] == "civicloop"
    assert [v for k, v in sent if k == "attribute[HAZ]"] == ["wires", "glass"]  # the `repeat` style
    assert form["description"].endswith(f"[CivicLoop {number}]")
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select request_id from outbound.external_refs where body_id = %s and external_id = '1001'",
            (body.body_id,),
        )
        assert await cur.fetchone() == (number,)


async def test_errors_are_sorted_into_permanent_and_temporary(deviant, o311_pool, o311_http):
    _, url = deviant
    body = await defined(o311_pool, url, service_code_map={})
    sender = Open311Sender(o311_pool, o311_http)
    with pytest.raises(PermanentFailure, match="Service Code not found"):
        await sender.send(body, outbound_item(new_request_number(), "UNKNOWN"))
    with pytest.raises(TemporaryFailure, match="HTTP 502"):
        await sender.send(body, outbound_item(new_request_number(), "DOWN"))
    with pytest.raises(TemporaryFailure, match="HTTP 429") as busy:
        await sender.send(body, outbound_item(new_request_number(), "BUSY"))
    assert busy.value.retry_after_s == 30 and "Retry-After 30 s" in str(busy.value)
    wrong_key = await defined(o311_pool, url, api_key_ref="absent.key")
    with pytest.raises(PermanentFailure, match="CIVICLOOP_SECRET_ABSENT_KEY"):
        await sender.send(wrong_key, outbound_item(new_request_number(), "POTHOLE"))
    unreachable = await define_body(o311_pool, JURISDICTION, deviant_body("http://127.0.0.1:9", body_id()))
    with pytest.raises(TemporaryFailure, match="ConnectError"):
        await sender.send(unreachable, outbound_item(new_request_number(), "POTHOLE"))


async def referenced(pool: Any, url: str, external_id: str, **connection: Any) -> tuple[BodyRecord, str]:
    """A body of its own on the deviant server, and a request of ours that its back-end knows as `external_id`."""
    body = await defined(pool, url, **connection)
    number = new_request_number()
    async with pool.connection() as conn:
        await remember_reference(conn, JURISDICTION, body.body_id, external_id, number)
    return body, number


async def _batch_sent(deviant, pool, http, *, token_delay_s: float):
    """A batch report sent to the deviant server, which answers with a token that resolves after `token_delay_s`;
    the body, the request number and what the sender made of the answer."""
    state, url = deviant
    state.token_delay_s = token_delay_s
    body = await defined(pool, url)
    number = new_request_number()
    return body, number, await Open311Sender(pool, http).send(body, outbound_item(number, "BULKY"))


async def test_batch_token_resolves_after_a_delay_and_becomes_an_external_reference(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    body, number, result = await _batch_sent(deviant, o311_pool, o311_http, token_delay_s=1.5)
    assert result.external_id is None  # a token, not yet an id

    poller = Open311Poller(
        o311_pool,
        o311_producer,
        o311_http,
        config=PollerConfig(token_backoff_initial_s=0.2, token_backoff_max_s=0.5),
    )

    async def resolved() -> bool:
        await poller.poll_tokens()
        async with o311_pool.connection() as conn:
            cur = await conn.execute(
                "select state, external_id, attempts from outbound.open311_tokens where body_id = %s",
                (body.body_id,),
            )
            row = await cur.fetchone()
        return row if row[0] == "resolved" else False

    _, external_id, attempts = await eventually(resolved, timeout=15, what="the token's id")
    assert external_id == "1001" and attempts >= 2  # it was pending at least once
    events = await read_events(
        kafka_bootstrap,
        o311_topics,
        request_id=number,
        types=(ExternalReferenceAssigned.event_type,),
    )
    assert [(e.payload.body_id, e.payload.external_id) for e in events] == [(body.body_id, "1001")]
    assert events[0].actor.id == f"backend:{body.body_id}"
    await poller.poll_tokens()  # resolved tokens are not polled again
    assert len(await read_events(kafka_bootstrap, o311_topics, request_id=number)) == 1


async def test_a_token_that_never_resolves_is_given_up_visibly(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, _ = deviant
    _, number, _ = await _batch_sent(deviant, o311_pool, o311_http, token_delay_s=3600)
    poller = Open311Poller(
        o311_pool,
        o311_producer,
        o311_http,
        config=PollerConfig(token_max_attempts=3, token_backoff_initial_s=0.05),
    )
    for _ in range(20):
        await poller.poll_tokens()
        await asyncio.sleep(0.1)
    assert state.token_polls == 3  # bounded
    [failed] = await read_events(kafka_bootstrap, o311_topics, request_id=number)
    assert failed.type == SendFailed.event_type and failed.payload.retry_at is None
    assert "never gave a service_request_id" in failed.payload.error


async def test_blackbox_gives_neither_id_nor_token(deviant, o311_pool, o311_http):
    _, url = deviant
    body = await defined(o311_pool, url)
    result = await Open311Sender(o311_pool, o311_http).send(
        body, outbound_item(new_request_number(), "GRAFFITI")
    )
    assert result.external_id is None
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select count(*) from outbound.open311_tokens where body_id = %s", (body.body_id,)
        )
        assert (await cur.fetchone())[0] == 0


async def test_updates_feed_maps_statuses_and_dedupes_across_polls(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body, number = await referenced(o311_pool, url, "77")
    now = datetime.now(UTC)
    state.updates = [
        # a back-end code the body maps (crew_assigned -> in_progress), with an offset without minutes
        {
            "update_id": "u-1",
            "service_request_id": "77",
            "status": "OPEN",
            "external_status_code": "CREW_ASSIGNED",
            "updated_datetime": (now - timedelta(minutes=30))
            .astimezone(timezone(timedelta(hours=-5)))
            .strftime("%Y-%m-%dT%H:%M:%S-05"),
            "description": "Crew assigned",
            "media_url": "",
        },
        # fractional seconds, and an empty description: the note is boilerplate
        {
            "update_id": "u-2",
            "service_request_id": "77",
            "status": "closed",
            "updated_datetime": (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "description": "",
            "media_url": "https://img.example/after.jpg",
        },
        {
            "update_id": "u-3",
            "service_request_id": "not-ours",
            "status": "closed",
            "updated_datetime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "description": "someone else's",
        },
        {
            "service_request_id": "77",
            "status": "open",
            "updated_datetime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "description": "no update_id: skipped",
        },
    ]
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    first = await poller.poll_updates(body)
    assert (first.fetched, first.applied, first.status_changes, first.unknown_request) == (3, 2, 2, 1)
    query = state.update_queries[-1]
    assert query["jurisdiction_id"] == "deviant.example" and "start_date" in query and "end_date" in query

    second = await poller.poll_updates(body)  # the same feed again: nothing new
    assert (second.applied, second.duplicates) == (0, 2)
    assert state.update_queries[-1]["start_date"] > query["start_date"]  # resumed from the stored window end

    events = await read_events(kafka_bootstrap, o311_topics, request_id=number)
    kinds = [(e.type, getattr(e.payload, "status", None)) for e in events]
    assert kinds.count((BackendUpdateReceived.event_type, None)) == 2
    changes = [e for e in events if e.type == "request.status.changed"]
    assert [(c.payload.previous_status, c.payload.status) for c in changes] == [
        (None, "in_progress"),
        ("in_progress", "closed"),
    ]
    assert changes[0].payload.public_note == "Crew assigned"
    assert (
        changes[1].payload.public_note == "Deviant Public Works marked this report as closed."
    )  # boilerplate
    assert {c.actor.id for c in changes} == {f"backend:{body.body_id}"}
    assert {c.source for c in changes} == {f"backend:{body.body_id}"}
    received = [e for e in events if e.type == BackendUpdateReceived.event_type]
    assert received[1].payload.media_url == "https://img.example/after.jpg"
    assert received[0].payload.external_status_code == "CREW_ASSIGNED"


async def test_requests_updated_after_synthesises_update_ids(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body, number = await referenced(
        o311_pool, url, "5005", updates_method="requests_updated_after", format="json"
    )
    state.requests = [
        {
            "service_request_id": 5005,
            "status": "closed",
            "status_notes": "Filled",
            "service_code": "RT-9",
            "requested_datetime": "2026-11-20T10:00:00-05",
            "updated_datetime": "2026-11-22T10:00:00.5Z",
            "lat": "39.78",
            "long": "-89.65",
        }
    ]
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    assert (await poller.poll_updates(body)).status_changes == 1
    assert "updated_after" in state.request_queries[-1]
    assert (await poller.poll_updates(body)).duplicates == 1
    state.requests[0] = {
        **state.requests[0],
        "status": "open",
        "updated_datetime": "2026-11-22T11:00:00Z",
        "status_notes": "Reopened: sinking again",
    }
    assert (await poller.poll_updates(body)).status_changes == 1  # a new (time, status): a new update
    changes = await read_events(
        kafka_bootstrap, o311_topics, request_id=number, types=("request.status.changed",)
    )
    assert [(c.payload.status, c.payload.public_note) for c in changes] == [
        ("closed", "Filled"),
        ("open", "Reopened: sinking again"),
    ]


async def test_import_brings_in_back_end_requests_once_and_never_our_own(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body = await defined(
        o311_pool, url, import_requests=True, import_exclude_service_codes=["INTERNAL"], format="json"
    )
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    assert (await poller.poll_imports(body)).fetched == 0  # a 404 for an empty list reads as empty
    created = "2026-11-22T08:00:00.000Z"
    state.requests = [
        {
            "service_request_id": 9001,
            "status": "open",
            "service_code": "RT-9",
            "description": "Hole on Elm",
            "requested_datetime": created,
            "lat": "39.79",
            "long": "-89.64",
        },
        {
            "service_request_id": "9002",
            "status": "closed",
            "service_code": "TREE",
            "description": "Tree",
            "requested_datetime": created,
            "address": "2 Oak Ave",
            "status_notes": "Removed",
        },
        {
            "service_request_id": "9003",
            "service_code": "RT-9",
            "description": "Ours\n\n[CivicLoop ABCD-1234]",
            "status": "open",
            "requested_datetime": created,
            "lat": 39.7,
            "long": -89.6,
        },
        {
            "service_request_id": "9004",
            "service_code": "INTERNAL",
            "status": "open",
            "requested_datetime": created,
            "lat": 39.7,
            "long": -89.6,
        },
        {
            "service_request_id": "9005",
            "service_code": "MYSTERY",
            "status": "open",
            "requested_datetime": created,
            "lat": 39.7,
            "long": -89.6,
        },
    ]
    report = await poller.import_window(
        body, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
    )
    assert report.imported == 2
    assert set(report.skipped) == {
        "sent by CivicLoop (description carries the CivicLoop marker)",
        "service_code INTERNAL is excluded",
        "no category matches the back-end's service_code 'MYSTERY' and no fallback is set",
    }
    again = await poller.import_window(
        body, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
    )
    assert again.imported == 0 and again.skipped == {"already decided": 5}

    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select external_id, request_id from outbound.backend_imports where body_id = %s"
            " and outcome = 'imported' order by external_id",
            (body.body_id,),
        )
        rows = await cur.fetchall()
    assert [r[0] for r in rows] == ["9001", "9002"]
    hole = await read_events(kafka_bootstrap, o311_topics, request_id=rows[0][1])
    assert [e.type for e in hole] == [
        RequestImported.event_type,
        ServiceRequestSubmitted.event_type,
        ExternalReferenceAssigned.event_type,
    ]
    assert hole[1].payload.service_code == "POTHOLE"  # RT-9 mapped back through service_code_map
    assert hole[1].source == f"backend:{body.body_id}" and hole[1].actor.kind == "system"
    assert hole[1].occurred_at == datetime(2026, 11, 22, 8, tzinfo=UTC)
    tree = await read_events(kafka_bootstrap, o311_topics, request_id=rows[1][1])
    assert tree[1].payload.service_code == "TREE" and tree[1].payload.location.address_string == "2 Oak Ave"
    assert tree[-1].type == "request.status.changed" and tree[-1].payload.status == "closed"


async def test_rounds_poll_only_what_is_due_and_a_down_back_end_is_not_hammered(
    deviant, o311_pool, o311_http, o311_producer
):
    state, url = deviant
    state.updates_down = True
    jurisdiction = f"rounds-{uuid.uuid4().hex[:6]}.example.gov"
    down = await define_body(o311_pool, jurisdiction, deviant_body(url, "updates-down", poll_interval_s=60))
    await define_body(
        o311_pool,
        jurisdiction,
        deviant_body(
            url, "import-only", updates_method="none", import_requests=True, format="json", poll_interval_s=60
        ),
    )
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    first = await poller.run_once(jurisdiction_id=jurisdiction)
    assert any(
        reason.startswith("error: HTTP 503") for reason in first[f"{jurisdiction}/updates-down"].skipped
    )
    for _ in range(3):
        await poller.run_once(jurisdiction_id=jurisdiction)
    assert (
        len(state.update_queries) == 2
    )  # the updates poll once, the mop-up once; neither again within the hour
    assert len(state.request_queries) == 1  # the import-only body: once per interval, not every round
    window_end, tried = await poller.poll_state(down, "updates")
    assert window_end is not None and tried is not None
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select last_error from outbound.backend_poll_state where jurisdiction_id = %s"
            " and body_id = 'updates-down' and kind = 'updates'",
            (jurisdiction,),
        )
        assert "HTTP 503" in (await cur.fetchone())[0]
    forced = await poller.run_once(jurisdiction_id=jurisdiction, force=True)
    assert len(state.update_queries) == 3 and len(state.request_queries) == 2
    assert forced[f"{jurisdiction}/import-only"].fetched == 0


async def test_requests_window_reads_the_last_90_days_by_creation_date(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body, number = await referenced(o311_pool, url, "W-1", updates_method="requests_window", format="json")
    state.requests = [
        {
            "service_request_id": "W-1",
            "status": "closed",
            "external_status_code": "done",
            "requested_datetime": "2026-10-01T10:00:00Z",
            "updated_datetime": "2026-11-22T10:00:00Z",
        }
    ]
    report = await Open311Poller(o311_pool, o311_producer, o311_http).poll_updates(body)
    assert report.status_changes == 1
    [query] = state.request_queries
    span = wire_dates(query["end_date"]) - wire_dates(query["start_date"])
    assert span.days == 90 and "updated_after" not in query
    [change] = await read_events(
        kafka_bootstrap, o311_topics, request_id=number, types=("request.status.changed",)
    )
    assert change.payload.status == "closed" and change.payload.external_status_code == "done"
