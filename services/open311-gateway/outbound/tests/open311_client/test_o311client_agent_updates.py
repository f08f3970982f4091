"""An agent's reopening and public comments reach an Open311 back-end as `POST servicerequestupdates` on its id of
the request, through the dispatcher and the sender loop on the real broker and database, to the deviant server. What
it answered is kept; our own update does not come back through the poller; a request it gave no id for, and a
back-end that refuses updates (remembered until the body is defined again), are recorded as undeliverable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from civicloop_events import Actor, ActorKind, Event, Location, ServiceRequestSubmitted
from civicloop_events.payloads import (
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    RequestStatus,
    SendMethod,
    StatusChanged,
)
from civicloop_events.payloads.base import EventPayload
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

AGENT = Actor(kind=ActorKind.agent, id="agent-7")


async def rows_of(pool: Any, request_id: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select seq, purpose, state, answer, last_error, external_id from outbound.outbound_queue"
            " where request_id = %s order by seq",
            (request_id,),
        )
        names = [c.name for c in cur.description or []]
        return [dict(zip(names, r, strict=True)) for r in await cur.fetchall()]


async def test_reopen_and_comments_are_posted_as_updates_and_refusals_are_remembered(
    deviant, o311_dsn, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    jurisdiction = f"upd-{uuid.uuid4().hex[:6]}.example.gov"
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
        outbound_config_consumer_name=f"o311upd-config.{uuid.uuid4().hex[:6]}",
        outbound_dispatch_consumer_name=f"o311upd-dispatch.{uuid.uuid4().hex[:6]}",
    )
    outbound = Outbound(
        settings=settings,
        pool=o311_pool,
        producer=o311_producer,
        vault=None,
        senders={SendMethod.open311: open311_sender(settings, o311_pool, o311_http)},
    )
    body_def = deviant_body(url, "public-works")

    async def define_body() -> None:
        await publish_events(
            kafka_bootstrap,
            o311_topics.jurisdiction_config,
            [config_event(body_def, jurisdiction_id=jurisdiction)],
        )

    async def body_folded() -> bool:
        async with o311_pool.connection() as conn:
            cur = await conn.execute(
                "select 1 from outbound.bodies where jurisdiction_id = %s", (jurisdiction,)
            )
            return bool(await cur.fetchone())

    async def submit(code: str) -> str:
        number = new_request_number()
        payload = ServiceRequestSubmitted(
            service_code=code, description=f"{code} on Elm", location=Location(lat=39.8, long=-89.6)
        )
        await o311_producer.publish(
            request_event(
                payload, request_id=number, actor=RESIDENT, source="web", jurisdiction_id=jurisdiction
            )
        )
        return number

    async def by_agent(number: str, payload: EventPayload) -> Event[Any]:
        event = request_event(
            payload, request_id=number, actor=AGENT, source="agent", jurisdiction_id=jurisdiction
        )
        await o311_producer.publish(event)
        return event

    async def settled(number: str, count: int) -> list[dict[str, Any]]:
        async def done() -> list[dict[str, Any]] | None:
            rows = await rows_of(o311_pool, number)
            return rows if len(rows) == count and all(r["state"] != "queued" for r in rows) else None

        return await eventually(done, timeout=45, what=f"{count} rows of {number} settled")

    outbound.start()
    try:
        await define_body()
        await eventually(body_folded, timeout=30, what="the body's definition")
        realtime, blackbox = await submit("POTHOLE"), await submit("GRAFFITI")
        [delivered] = await settled(realtime, 1)
        external_id = delivered["external_id"]
        assert delivered["state"] == "sent" and external_id

        await by_agent(realtime, CommentAdded(text="Cones are out", visibility=CommentVisibility.internal))
        await by_agent(
            realtime, CommentAdded(text="Crew booked for Monday", visibility=CommentVisibility.public)
        )
        await by_agent(
            realtime, StatusChanged(status=RequestStatus.closed, previous_status=RequestStatus.open)
        )
        await by_agent(
            realtime,
            StatusChanged(
                status=RequestStatus.open,
                previous_status=RequestStatus.closed,
                reason="not_fixed",
                public_note="Still a hole",
            ),
        )
        await by_agent(blackbox, CommentAdded(text="Painting over it", visibility=CommentVisibility.public))
        _, comment_row, reopen_row = await settled(realtime, 3)
        comment, reopen = state.update_posts
        for posted, row in ((comment, comment_row), (reopen, reopen_row)):
            assert posted["service_request_id"] == [external_id]
            assert posted["api_key"] == [state.api_key] and posted["jurisdiction_id"] == ["deviant.example"]
            assert row["state"] == "sent"
            assert datetime.fromisoformat(
                posted["updated_datetime"][0].replace("Z", "+00:00")
            ) <= datetime.now(UTC)
        assert (comment["status"], comment["description"]) == (["OPEN"], ["Crew booked for Monday"])
        assert (reopen["status"], reopen["description"]) == (["OPEN"], ["Still a hole"])
        assert comment["update_id"] != reopen["update_id"]
        assert (comment_row["answer"], reopen_row["answer"]) == (
            "HTTP 200, update_id U-1",
            "HTTP 200, update_id U-2",
        )
        assert all("Cones are out" not in v for p in state.update_posts for vs in p.values() for v in vs)

        # The crash window: the back-end took the comment but our commit was lost, so the row is sent again with
        # the same update_id; the back-end drops the repeat, and the row is delivered, once.
        async with o311_pool.connection() as conn:
            await conn.execute(
                "update outbound.outbound_queue set state = 'queued', sent_at = null, answer = null where seq = %s",
                (comment_row["seq"],),
            )
        outbound.loop.wake()
        await settled(realtime, 3)  # the reset row is queued until sent again
        resent = next(r for r in await rows_of(o311_pool, realtime) if r["seq"] == comment_row["seq"])
        assert resent["state"] == "sent" and "already has this update_id" in resent["answer"]
        assert len(state.update_posts) == 2

        _, unsent = await settled(blackbox, 2)
        assert unsent["state"] == "undeliverable" and "no id" in unsent["last_error"]

        # The back-end lists our own update back: the poller knows it and does not turn it into news.
        state.updates = [
            {
                "update_id": "U-1",
                "service_request_id": external_id,
                "status": "open",
                "description": "Crew booked for Monday",
                "updated_datetime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ]
        poller = Open311Poller(o311_pool, o311_producer, o311_http, config=PollerConfig())
        report = await poller.poll_updates(BodyRecord(jurisdiction, body_def))
        assert (report.duplicates, report.applied) == (1, 0)

        # A back-end without the endpoint: refused once, remembered, later updates not even tried.
        state.updates_refused_with = 405
        await by_agent(realtime, CommentAdded(text="Monday it is", visibility=CommentVisibility.public))
        refused = (await settled(realtime, 4))[-1]
        assert refused["state"] == "undeliverable" and "405" in refused["last_error"]
        attempts = state.update_attempts
        await by_agent(realtime, CommentAdded(text="Tuesday now", visibility=CommentVisibility.public))
        skipped = (await settled(realtime, 5))[-1]
        assert skipped["state"] == "undeliverable" and "takes no updates" in skipped["last_error"]
        assert state.update_attempts == attempts
        async with o311_pool.connection() as conn:
            cur = await conn.execute(
                "select refused_status from outbound.body_update_support where jurisdiction_id = %s",
                (jurisdiction,),
            )
            assert await cur.fetchall() == [(405,)]

        # Defined again (a new endpoint, say): the refusal is forgotten and updates are tried again.
        state.updates_refused_with = None
        await define_body()

        async def forgotten() -> bool:
            async with o311_pool.connection() as conn:
                cur = await conn.execute(
                    "select 1 from outbound.body_update_support where jurisdiction_id = %s", (jurisdiction,)
                )
                return await cur.fetchone() is None

        await eventually(forgotten, timeout=30, what="the refusal forgotten")
        again = await by_agent(
            realtime, CommentAdded(text="Wednesday, promise", visibility=CommentVisibility.public)
        )
        assert (await settled(realtime, 6))[-1]["state"] == "sent"
        assert state.update_posts[-1]["description"] == ["Wednesday, promise"]

        # A restart, and the same event delivered again: nothing new goes out; the next comment does, once.
        await outbound.stop()
        outbound = Outbound(
            settings=settings,
            pool=o311_pool,
            producer=o311_producer,
            vault=None,
            senders={SendMethod.open311: open311_sender(settings, o311_pool, o311_http)},
        )
        outbound.start()
        posted = len(state.update_posts)
        await o311_producer.publish(again)
        await by_agent(realtime, CommentAdded(text="Thursday at last", visibility=CommentVisibility.public))
        assert (await settled(realtime, 7))[-1]["state"] == "sent"
        assert [p["description"] for p in state.update_posts[posted:]] == [["Thursday at last"]]
    finally:
        await outbound.stop()


async def test_a_category_change_moves_the_request_between_open311_back_ends(
    deviant, o311_dsn, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    """The new back-end gets the request, the old one a CLOSED update saying where it went; what the old one says
    about its copy afterwards is recorded but no longer changes the request."""
    state, url = deviant
    jurisdiction = f"move-{uuid.uuid4().hex[:6]}.example.gov"
    settings = run_settings(
        OutboundSettings,
        o311_dsn,
        kafka_bootstrap,
        o311_topics,
        log_level="WARNING",
        outbound_poll_interval_s=0.1,
        consumer_backoff_initial_s=0.01,
        outbound_config_consumer_name=f"o311move-config.{uuid.uuid4().hex[:6]}",
        outbound_dispatch_consumer_name=f"o311move-dispatch.{uuid.uuid4().hex[:6]}",
    )
    works = deviant_body(url, "public-works").model_copy(update={"service_codes": ["POTHOLE"]})
    parks = deviant_body(url, "parks").model_copy(update={"name": "Deviant Parks", "service_codes": ["TREE"]})
    parks = parks.model_copy(
        update={"open311": parks.open311.model_copy(update={"service_code_map": {"TREE": "RT-9"}})}
    )
    outbound = Outbound(
        settings=settings,
        pool=o311_pool,
        producer=o311_producer,
        vault=None,
        senders={SendMethod.open311: open311_sender(settings, o311_pool, o311_http)},
    )
    outbound.start()
    try:
        await publish_events(
            kafka_bootstrap,
            o311_topics.jurisdiction_config,
            [config_event(b, jurisdiction_id=jurisdiction) for b in (works, parks)],
        )

        async def both_folded() -> bool:
            async with o311_pool.connection() as conn:
                cur = await conn.execute(
                    "select count(*) from outbound.bodies where jurisdiction_id = %s", (jurisdiction,)
                )
                return (await cur.fetchone()) == (2,)

        await eventually(both_folded, timeout=30, what="both bodies' definitions")
        number = new_request_number()
        await o311_producer.publish(
            request_event(
                ServiceRequestSubmitted(
                    service_code="POTHOLE", description="Branch down", location=Location(lat=39.8, long=-89.6)
                ),
                request_id=number,
                actor=RESIDENT,
                source="web",
                jurisdiction_id=jurisdiction,
            )
        )

        async def rows(count: int) -> list[dict[str, Any]] | None:
            found = await rows_of(o311_pool, number)
            return found if len(found) == count and all(r["state"] == "sent" for r in found) else None

        [first] = await eventually(lambda: rows(1), timeout=45, what="the first delivery")
        await o311_producer.publish(
            request_event(
                CategoryChanged(service_code="TREE", previous_service_code="POTHOLE"),
                request_id=number,
                actor=AGENT,
                source="agent",
                jurisdiction_id=jurisdiction,
            )
        )
        moved = await eventually(lambda: rows(3), timeout=45, what="the move")
        by_purpose = {r["purpose"]: r for r in moved[1:]}
        assert (
            by_purpose["deliver"]["external_id"]
            and by_purpose["deliver"]["external_id"] != first["external_id"]
        )
        [notice] = state.update_posts
        assert notice["service_request_id"] == [first["external_id"]]
        assert notice["status"] == ["CLOSED"]
        assert notice["description"] == [
            "This request has moved to Deviant Parks: no further action is needed here."
        ]

        # Public Works closes its copy: heard and recorded, but the request (now with Parks) stays as it is.
        state.updates = [
            {
                "update_id": "pw-closed-1",
                "service_request_id": first["external_id"],
                "status": "closed",
                "description": "Closed: not ours any more",
                "updated_datetime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ]
        poller = Open311Poller(o311_pool, o311_producer, o311_http, config=PollerConfig())
        report = await poller.poll_updates(BodyRecord(jurisdiction, works))
        assert report.status_changes == 0 and report.notes == 0
        assert report.skipped == {"the request moved to another body (recorded; status and note kept)": 1}
        heard = await read_events(kafka_bootstrap, o311_topics, request_id=number)
        assert [e.type for e in heard if e.source.startswith("backend:")] == [
            "request.backend_update_received"
        ]
    finally:
        await outbound.stop()
