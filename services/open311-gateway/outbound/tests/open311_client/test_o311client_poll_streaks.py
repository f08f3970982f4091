"""A back-end whose polls keep failing is said once per streak on `jurisdiction.config` (`poll_failing` after
`poll_failing_after` failed rounds in a row, `poll_recovered` on the first success after), its error a status and
never the URL or the key; a nudge (`poll_nudged`) makes the body's next poll due at once, once. Against the deviant
Open311 server on 127.0.0.1, with the real broker and database."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from civicloop_events import Event
from civicloop_events.payloads import BodyPollFailing, BodyPollNudged, BodyPollRecovered
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollerConfig
from civicloop_outbound.adapters.postgres_config import apply_outbound_config_event
from civicloop_outbound.entrypoints.cli import app as cli
from civicloop_testing.events import config_event, read_all_events
from o311client_harness import define_body, deviant_body
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def city(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}.example.gov"


async def streak_events(kafka_bootstrap: str, topics: Any, jurisdiction: str) -> list[Event[Any]]:
    events = await read_all_events(kafka_bootstrap, topics.jurisdiction_config, 1)  # one partition
    kinds = (BodyPollFailing.event_type, BodyPollRecovered.event_type)
    return sorted(
        (e for e in events if e.jurisdiction_id == jurisdiction and e.type in kinds),
        key=lambda e: e.recorded_at,
    )


async def test_failing_polls_are_said_once_per_streak_and_the_recovery_once(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    jurisdiction = city("streaks")
    await define_body(o311_pool, jurisdiction, deviant_body(url, "works", poll_interval_s=60))
    poller = Open311Poller(
        o311_pool,
        o311_producer,
        o311_http,
        config=PollerConfig(streaks_topic=o311_topics.jurisdiction_config, poll_failing_after=3),
    )
    state.updates_down = True
    said: list[list[str]] = []
    for _ in range(5):
        await poller.run_once(jurisdiction_id=jurisdiction, force=True)
        said.append([e.type for e in await streak_events(kafka_bootstrap, o311_topics, jurisdiction)])
    assert said == [[], [], ["jurisdiction.body.poll_failing"]] + [["jurisdiction.body.poll_failing"]] * 2
    [failing] = await streak_events(kafka_bootstrap, o311_topics, jurisdiction)
    assert failing.request_id is None and failing.actor.id == "outbound" and failing.source == "outbound"
    assert (failing.payload.body_id, failing.payload.failures, failing.payload.error) == (
        "works",
        3,
        "HTTP 503",
    )
    assert "127.0.0.1" not in failing.model_dump_json() and state.api_key not in failing.model_dump_json()

    state.updates_down = False
    await poller.run_once(jurisdiction_id=jurisdiction, force=True)
    await poller.run_once(jurisdiction_id=jurisdiction, force=True)
    failing, recovered = await streak_events(kafka_bootstrap, o311_topics, jurisdiction)
    assert recovered.type == BodyPollRecovered.event_type
    assert recovered.payload.failing_since == failing.payload.failing_since
    assert recovered.payload.failures == 5

    # A short streak that ends before the threshold says nothing.
    state.updates_down = True
    await poller.run_once(jurisdiction_id=jurisdiction, force=True)
    await poller.run_once(jurisdiction_id=jurisdiction, force=True)
    state.updates_down = False
    await poller.run_once(jurisdiction_id=jurisdiction, force=True)
    assert len(await streak_events(kafka_bootstrap, o311_topics, jurisdiction)) == 2


async def test_rounds_that_do_not_poll_the_body_leave_its_streak_alone(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap, o311_dsn
):
    state, url = deviant
    jurisdiction = city("streak-idle")
    await define_body(o311_pool, jurisdiction, deviant_body(url, "works", poll_interval_s=3600))
    poller = Open311Poller(
        o311_pool,
        o311_producer,
        o311_http,
        config=PollerConfig(streaks_topic=o311_topics.jurisdiction_config, poll_failing_after=3),
    )
    state.updates_down = True
    # The first round's updates poll fails (before its mop-up), the second round's mop-up fails, then nothing is
    # due for an hour: rounds that poll nothing count for nothing.
    for _ in range(5):
        await poller.run_once(jurisdiction_id=jurisdiction)
    assert await streak_events(kafka_bootstrap, o311_topics, jurisdiction) == []
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select failures, last_error from outbound.body_poll_streaks where jurisdiction_id = %s",
            (jurisdiction,),
        )
        assert await cur.fetchone() == (2, "HTTP 503")
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["open311", "status", "-j", jurisdiction, "--json"],
        env={"CIVICLOOP_PG_DSN": o311_dsn, "CIVICLOOP_ENV": "test"},
    )
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["failing_polls"] == 2


async def test_a_nudge_makes_the_next_poll_due_at_once_and_only_once(
    deviant, o311_pool, o311_http, o311_producer
):
    state, url = deviant
    jurisdiction = city("nudged")
    await define_body(o311_pool, jurisdiction, deviant_body(url, "works", poll_interval_s=3600))
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    await poller.run_once(jurisdiction_id=jurisdiction)
    first = len(state.update_queries)  # the updates poll and the day's mop-up
    await poller.run_once(jurisdiction_id=jurisdiction)
    assert len(state.update_queries) == first  # not due again for an hour

    nudge = config_event(
        BodyPollNudged(body_id="works", failing_since=datetime.now(UTC)),
        jurisdiction_id=jurisdiction,
        admin="selfheal",
    )
    async with o311_pool.connection() as conn, conn.transaction():
        await apply_outbound_config_event(conn, nudge)
    await poller.run_once(jurisdiction_id=jurisdiction)
    assert len(state.update_queries) == first + 1  # polled at once
    await poller.run_once(jurisdiction_id=jurisdiction)
    assert len(state.update_queries) == first + 1  # and only once
