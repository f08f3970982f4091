"""The request index: folded by a consumer, it finds a request's records, and the history read through it equals the
whole topic's scan, records the index has not folded yet included."""

import asyncio
from functools import partial

import pytest
import pytest_asyncio
from civicloop_events import encode_event
from civicloop_events.cli import REQUEST_INDEX_CONSUMER, _replay
from civicloop_events.history import indexed_history, scanned_history
from civicloop_events.producer import EventProducer
from civicloop_events.request_index import index_request_events, indexed_positions, request_index_ddl
from civicloop_testing.consumers import assert_applied
from runner_kit import comment, consumer_database, runner_on

pytestmark = pytest.mark.integration

SCHEMA = "idxtest"
CONSUMER = REQUEST_INDEX_CONSUMER


@pytest_asyncio.fixture(loop_scope="session")
async def db(fresh_database_dsn):
    async with consumer_database(fresh_database_dsn, SCHEMA, *request_index_ddl(SCHEMA)) as pool:
        yield pool


@pytest_asyncio.fixture(loop_scope="session")
async def producer(kafka_bootstrap, fresh_topics):
    p = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await p.start()
    yield p
    await p.stop()


async def fold_index(kafka_bootstrap, topics, db, producer, positions):
    index = partial(index_request_events, schema=SCHEMA, consumer=CONSUMER, topic=topics.request_events)
    r = runner_on(
        CONSUMER,
        kafka_bootstrap,
        topics,
        db,
        producer,
        schema=SCHEMA,
        batch_handler=lambda conn, events: index(conn, events=events),
    )
    await r.start()
    task = asyncio.create_task(r.run())
    try:
        await assert_applied(db, schema=SCHEMA, consumer=CONSUMER, positions=positions)
    finally:
        await r.stop()
        await asyncio.wait_for(task, 10)


async def test_the_indexed_history_equals_the_whole_scan_and_reads_past_the_index(
    kafka_bootstrap, fresh_topics, db, producer, fresh_database_dsn
):
    topic = fresh_topics.request_events
    mine = [comment("IDXA-0001", f"mine {i}") for i in range(5)]
    others = [comment(f"IDXB-{i:04d}", "someone else's") for i in range(30)]
    positions = []
    for i, event in enumerate(others):
        positions.append(await producer.publish(event))
        if i % 6 == 0:
            positions.append(await producer.publish(mine[i // 6]))
    # An older publisher's second record of one of mine: the index, as the scan, reports it once, at its first.
    positions.append(await producer.publish_raw(topic, encode_event(mine[1]), key=mine[1].key, headers=[]))
    await fold_index(kafka_bootstrap, fresh_topics, db, producer, positions)
    late = comment("IDXA-0001", "after the index stopped")
    await producer.publish(late)  # on the log, not in the index yet

    async with db.connection() as conn:
        index = await indexed_positions(
            conn, schema=SCHEMA, consumer=CONSUMER, topic=topic, request_id="IDXA-0001"
        )
    assert sum(len(o) for o in index.offsets.values()) == 5
    indexed = await indexed_history(kafka_bootstrap, topic, "IDXA-0001", index)
    scanned = await scanned_history(kafka_bootstrap, topic, "IDXA-0001")

    assert indexed == scanned
    assert [h["event_id"] for h in indexed] == [str(e.event_id) for e in [*mine, late]]


async def test_replay_says_how_it_read_and_falls_back_to_the_scan_without_an_index(
    kafka_bootstrap, fresh_topics, db, producer, fresh_database_dsn
):
    topic = fresh_topics.request_events
    events = [comment("IDXC-0001", "one"), comment("IDXD-0001", "other"), comment("IDXC-0001", "two")]
    positions = [await producer.publish(e) for e in events]
    await fold_index(kafka_bootstrap, fresh_topics, db, producer, positions)
    expected = [str(events[0].event_id), str(events[2].event_id)]

    async def replay(**index):
        options = {"index_dsn": None, "index_schema": SCHEMA, "index_consumer": CONSUMER, **index}
        history, how = await _replay(kafka_bootstrap, topic, "IDXC-0001", **options)
        assert [h["event_id"] for h in history] == expected
        return how

    assert await replay(index_dsn=fresh_database_dsn) == "read through the request index"
    assert "whole topic" in await replay()
    assert "no request index in schema 'elsewhere'" in await replay(
        index_dsn=fresh_database_dsn, index_schema="elsewhere"
    )
