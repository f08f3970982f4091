"""Producer and consumer runner against the real broker and PostgreSQL."""

import asyncio
import json

import psycopg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from civicloop_events import Actor, CommentAdded, Event, StatusChanged
from civicloop_events.applied import PositionKey, listener_for
from civicloop_events.consumer import ConsumerRunner, read_positions
from civicloop_events.producer import EventProducer, Position
from civicloop_runtime.telemetry import configure_tracing
from civicloop_testing import read_all_records
from civicloop_testing.consumers import assert_applied
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from runner_kit import applied_within, comment, consumer_database, runner_on

pytestmark = pytest.mark.integration

SCHEMA = "evtest"


@pytest_asyncio.fixture(loop_scope="session")
async def db(fresh_database_dsn):
    applied = f"create table {SCHEMA}.applied (event_id uuid, request_id text, note text)"
    async with consumer_database(fresh_database_dsn, SCHEMA, applied) as pool:
        yield pool


@pytest_asyncio.fixture(loop_scope="session")
async def producer(kafka_bootstrap, fresh_topics):
    p = EventProducer(kafka_bootstrap, fresh_topics.request_events)
    await p.start()
    yield p
    await p.stop()


async def record_applied(conn, event):
    if event.payload.__class__ is CommentAdded and event.payload.text == "poison":
        raise RuntimeError("this handler rejects poison")
    await conn.execute(
        f"insert into {SCHEMA}.applied values (%s, %s, %s)",
        (event.event_id, event.request_id, getattr(event.payload, "text", None)),
    )


def runner(name, kafka_bootstrap, fresh_topics, db, producer, **kw):
    kw.setdefault("backoff_initial_s", 0.01)
    return runner_on(
        name, kafka_bootstrap, fresh_topics, db, producer, schema=SCHEMA, handler=record_applied, **kw
    )


async def applied_rows(db):
    async with db.connection() as conn:
        cur = await conn.execute(f"select event_id, note from {SCHEMA}.applied order by note")
        return await cur.fetchall()


async def run_until(r: ConsumerRunner, db, positions: list[Position]):
    await r.start()
    task = asyncio.create_task(r.run())
    try:
        await assert_applied(db, schema=SCHEMA, consumer=r.name, positions=positions)
    finally:
        await r.stop()
        await asyncio.wait_for(task, 10)


async def test_duplicate_publication_is_applied_once(kafka_bootstrap, fresh_topics, db, producer):
    event = comment("AAAA-0001", "once")
    first = await producer.publish(event)
    second = await producer.publish(event)  # a producer that retried after a crash re-sends the same event_id
    assert (first.partition, first.offset + 1) == (second.partition, second.offset)

    await run_until(
        runner("t.dupes.v1", kafka_bootstrap, fresh_topics, db, producer),
        db,
        [second],
    )

    rows = [r for r in await applied_rows(db) if r[1] == "once"]
    assert rows == [(event.event_id, "once")]
    async with db.connection() as conn:
        positions = await read_positions(conn, SCHEMA, "t.dupes.v1", fresh_topics.request_events)
    assert positions[second.partition] == second.offset + 1


async def test_poison_and_undecodable_records_go_to_the_dead_letter_topic(
    kafka_bootstrap, fresh_topics, db, producer
):
    bad = comment("AAAA-0002", "poison")
    p_bad = await producer.publish(bad)
    p_junk = await producer.publish_raw(
        fresh_topics.request_events, b"{not an event", key=b"AAAA-0002", headers=[]
    )
    good = comment("AAAA-0002", "after the poison")
    p_good = await producer.publish(good)
    assert p_bad.partition == p_junk.partition == p_good.partition  # same key, same partition, in order

    r = runner("t.poison.v1", kafka_bootstrap, fresh_topics, db, producer, max_attempts=3)
    await run_until(r, db, [p_good])

    assert ("after the poison",) in [(n,) for _, n in await applied_rows(db)]
    dlq = AIOKafkaConsumer(
        fresh_topics.dead_letters, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await dlq.start()
    try:
        got = []
        async with asyncio.timeout(20):
            while len(got) < 2:
                batch = await dlq.getmany(timeout_ms=500)
                got += [m for ms in batch.values() for m in ms]
    finally:
        await dlq.stop()
    reasons = sorted(dict(m.headers)["dlq.reason"].decode() for m in got)
    assert reasons == ["handler_failed", "undecodable"]
    poisoned = next(m for m in got if dict(m.headers)["dlq.reason"] == b"handler_failed")
    assert json.loads(poisoned.value)["event_id"] == str(bad.event_id)
    assert dict(poisoned.headers)["dlq.offset"] == str(p_bad.offset).encode()


async def test_trace_context_follows_the_event_into_the_consumer(kafka_bootstrap, fresh_topics, db, producer):
    exporter = InMemorySpanExporter()
    configure_tracing("civicloop-test", extra_processor=SimpleSpanProcessor(exporter))
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("http POST /api/v1/requests") as root:
        pos = await producer.publish(
            Event.create(
                StatusChanged(status="acknowledged", previous_status="open"),
                request_id="AAAA-0003",
                jurisdiction_id="demo",
                actor=Actor(kind="agent", id="a1"),
                source="agent",
            )
        )
    await run_until(runner("t.trace.v1", kafka_bootstrap, fresh_topics, db, producer), db, [pos])

    spans = exporter.get_finished_spans()
    consumed = [
        s
        for s in spans
        if s.name == "apply request.status.changed"
        and s.attributes.get("civicloop.request_id") == "AAAA-0003"
    ]
    assert consumed, [s.name for s in spans]
    assert consumed[0].context.trace_id == root.get_span_context().trace_id


async def dead_letters(kafka_bootstrap, topic, count):
    dlq = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await dlq.start()
    try:
        got = []
        async with asyncio.timeout(20):
            while len(got) < count:
                batch = await dlq.getmany(timeout_ms=500)
                got += [m for ms in batch.values() for m in ms]
        return got
    finally:
        await dlq.stop()


async def inbox_ids(db, consumer):
    async with db.connection() as conn:
        cur = await conn.execute(f"select event_id from {SCHEMA}.inbox where consumer = %s", (consumer,))
        return {r[0] for r in await cur.fetchall()}


async def test_a_record_that_fails_for_good_is_dead_lettered_while_the_rest_of_its_batch_commits(
    kafka_bootstrap, fresh_topics, db, producer
):
    before = comment("AAAA-0004", "before the failing one")
    bad = comment("AAAA-0004", "poison")
    after = comment("AAAA-0004", "after the failing one")
    # The same event again later in the batch is tried anew, as it would be on its own, and fails again.
    published = [await producer.publish(e) for e in (before, bad, after, bad)]
    assert len({p.partition for p in published}) == 1

    poison_attempts = []

    async def counting(conn, event):
        if event.event_id == bad.event_id:
            poison_attempts.append(event.event_id)
        await record_applied(conn, event)

    r = runner("t.batchpoison.v1", kafka_bootstrap, fresh_topics, db, producer, max_attempts=2)
    r.handler = counting
    await run_until(r, db, published)

    assert len(poison_attempts) == 2 * 2  # each copy tried max_attempts times, no more

    notes = [n for _, n in await applied_rows(db)]
    assert notes.count("before the failing one") == 1 and notes.count("after the failing one") == 1
    assert await inbox_ids(db, r.name) == {before.event_id, after.event_id}  # none for the dead-lettered
    async with db.connection() as conn:
        positions = await read_positions(conn, SCHEMA, r.name, fresh_topics.request_events)
    assert positions[published[0].partition] == published[-1].offset + 1
    got = [
        m for m in await dead_letters(kafka_bootstrap, fresh_topics.dead_letters, 2) if m.key == b"AAAA-0004"
    ]
    assert sorted(int(dict(m.headers)["dlq.offset"]) for m in got) == [
        published[1].offset,
        published[3].offset,
    ]


async def test_duplicates_inside_one_batch_are_applied_once(kafka_bootstrap, fresh_topics, db, producer):
    a, b, c = (comment("AAAA-0005", f"dup {x}") for x in "abc")
    published = [await producer.publish(e) for e in (a, b, a, c, a, b)]

    r = runner("t.batchdupes.v1", kafka_bootstrap, fresh_topics, db, producer)
    await run_until(r, db, published)

    rows = [(i, n) for i, n in await applied_rows(db) if n.startswith("dup ")]
    assert rows == [(a.event_id, "dup a"), (b.event_id, "dup b"), (c.event_id, "dup c")]
    assert await inbox_ids(db, r.name) == {a.event_id, b.event_id, c.event_id}
    async with db.connection() as conn:
        positions = await read_positions(conn, SCHEMA, r.name, fresh_topics.request_events)
    assert positions[published[0].partition] == published[-1].offset + 1


class Killed(BaseException):
    """The process dying under the handler: nothing catches it."""


@pytest.mark.parametrize("how", ["killed", "cancelled"])
async def test_a_consumer_stopped_in_the_middle_of_a_batch_leaves_nothing_and_a_new_one_applies_all_once(
    how, kafka_bootstrap, fresh_topics, db, producer
):
    key = "AAAA-0006" if how == "killed" else "AAAA-0007"
    events = [comment(key, f"{how} {i}") for i in range(10)]
    published = [await producer.publish(e) for e in events]
    name = f"t.batchkill.{how}.v1"
    ran: list[str] = []
    in_the_middle = asyncio.Event()

    async def dies_at_the_sixth(conn, event):
        await record_applied(conn, event)
        ran.append(event.payload.text)
        if len(ran) == 6:
            if how == "killed":
                raise Killed
            in_the_middle.set()
            await asyncio.Event().wait()  # cancelled here, its batch open

    first = runner(name, kafka_bootstrap, fresh_topics, db, producer)
    first.handler = dies_at_the_sixth
    await first.start()
    task = asyncio.create_task(first.run())
    try:
        if how == "killed":
            with pytest.raises(Killed):
                await asyncio.wait_for(task, 30)
        else:
            await asyncio.wait_for(in_the_middle.wait(), 30)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await first.stop()

    # Six handlers ran inside one open batch; none of it is visible: effects, inbox rows and position alike.
    assert ran == [f"{how} {i}" for i in range(6)]
    assert [n for _, n in await applied_rows(db) if n.startswith(how)] == []
    assert await inbox_ids(db, name) == set()
    async with db.connection() as conn:
        assert await read_positions(conn, SCHEMA, name, fresh_topics.request_events) == {}

    await run_until(runner(name, kafka_bootstrap, fresh_topics, db, producer), db, published)
    rows = sorted((n, i) for i, n in await applied_rows(db) if n.startswith(how))
    assert rows == sorted((e.payload.text, e.event_id) for e in events)  # each exactly once


@pytest.mark.parametrize(
    ("bounds", "expected_sizes"),
    [({"batch_max_records": 3}, [3, 3, 1]), ({"batch_max_ms": 0.001}, [1] * 7)],
    ids=["records", "time"],
)
async def test_a_batch_is_cut_at_its_bounds(
    bounds, expected_sizes, kafka_bootstrap, fresh_topics, db, producer
):
    key = f"AAAA-001{len(expected_sizes)}"
    events = [comment(key, f"bounded {key} {i}") for i in range(7)]
    published = [await producer.publish(e) for e in events]
    transactions: list[int] = []

    async def noting_the_transaction(conn, event):
        await record_applied(conn, event)
        cur = await conn.execute("select txid_current()")
        transactions.append((await cur.fetchone())[0])

    r = runner(f"t.bounded.{len(expected_sizes)}.v1", kafka_bootstrap, fresh_topics, db, producer, **bounds)
    r.handler = noting_the_transaction
    await run_until(r, db, published)

    sizes = [transactions.count(t) for t in dict.fromkeys(transactions)]
    assert sizes == expected_sizes
    assert sorted(n for _, n in await applied_rows(db) if n.startswith(f"bounded {key}")) == sorted(
        e.payload.text for e in events
    )


async def test_on_committed_is_called_once_the_batch_is_visible_to_other_sessions(
    kafka_bootstrap, fresh_topics, db, producer, fresh_database_dsn
):
    handled = 0

    async def counting(conn, event):
        nonlocal handled
        handled += 1
        await record_applied(conn, event)

    seen: list[tuple[int, int]] = []  # (handled, visible from another session) at each call

    def visible_elsewhere() -> None:
        with psycopg.connect(fresh_database_dsn) as conn:  # another session: sees committed rows only
            row = conn.execute(f"select count(*) from {SCHEMA}.applied where note like 'woken%%'").fetchone()
        seen.append((handled, row[0]))

    positions = [await producer.publish(comment(f"AAAA-00{i}", f"woken {i}")) for i in range(3)]
    r = runner("t.woken.v1", kafka_bootstrap, fresh_topics, db, producer, on_committed=visible_elsewhere)
    r.handler = counting
    await run_until(r, db, positions)

    assert seen, "on_committed was never called"
    assert all(h == v for h, v in seen), seen
    assert seen[-1] == (3, 3)


# -- batch handlers ------------------------------------------------------------------------------------------------


async def record_many(conn, events):
    """A batch handler: the batch's rows in one statement, unless a poison event is among them."""
    if any(getattr(e.payload, "text", None) == "poison" for e in events):
        raise RuntimeError("this handler rejects poison")
    async with conn.cursor() as cur:
        await cur.executemany(
            f"insert into {SCHEMA}.applied values (%s, %s, %s)",
            [(e.event_id, e.request_id, e.payload.text) for e in events],
        )


def batch_runner(name, kafka_bootstrap, fresh_topics, db, producer, batch_handler, **kw):
    kw.setdefault("backoff_initial_s", 0.01)
    return runner_on(
        name, kafka_bootstrap, fresh_topics, db, producer, schema=SCHEMA, batch_handler=batch_handler, **kw
    )


def test_a_runner_takes_exactly_one_of_handler_and_batch_handler(kafka_bootstrap, fresh_topics, db):
    for both_or_neither in ({"handler": record_applied, "batch_handler": record_many}, {}):
        with pytest.raises(ValueError, match="exactly one"):
            runner_on("t.one.v1", kafka_bootstrap, fresh_topics, db, None, schema=SCHEMA, **both_or_neither)


async def test_a_batch_handler_gets_each_batch_s_new_events_once_in_log_order(
    kafka_bootstrap, fresh_topics, db, producer
):
    key = "AAAA-0101"
    a, b, c, d = (comment(key, f"together {x}") for x in "abcd")
    # A duplicate publication inside the batch, and one the inbox already holds from the batch before.
    published = [await producer.publish(e) for e in (a, b, a, c, b, d, a)]
    calls: list[list[str]] = []

    async def noting(conn, events):
        calls.append([e.payload.text for e in events])
        await record_many(conn, events)

    r = batch_runner(
        "t.together.v1", kafka_bootstrap, fresh_topics, db, producer, noting, batch_max_records=4
    )
    await run_until(r, db, published)

    # Batches of four records: a b a c, then b d a; a copy already applied is never handed over again.
    assert calls == [["together a", "together b", "together c"], ["together d"]]
    rows = sorted((n, i) for i, n in await applied_rows(db) if n.startswith("together"))
    assert rows == sorted((e.payload.text, e.event_id) for e in (a, b, c, d))
    assert await inbox_ids(db, r.name) == {a.event_id, b.event_id, c.event_id, d.event_id}


async def test_a_failing_batch_handler_is_run_one_event_at_a_time_and_only_the_poison_is_dead_lettered(
    kafka_bootstrap, fresh_topics, db, producer
):
    key = "AAAA-0102"
    before, bad, after = comment(key, "batched before"), comment(key, "poison"), comment(key, "batched after")
    published = [await producer.publish(e) for e in (before, bad, after)]
    calls: list[list[str]] = []

    async def noting(conn, events):
        calls.append([e.payload.text for e in events])
        await record_many(conn, events)

    r = batch_runner("t.batchfails.v1", kafka_bootstrap, fresh_topics, db, producer, noting, max_attempts=2)
    await run_until(r, db, published)

    texts = [e.payload.text for e in (before, bad, after)]
    # Once together (rolled back), then each alone in its savepoint, the poison as often as max_attempts allows.
    assert calls == [
        texts,
        ["batched before"],
        ["poison"],
        ["poison"],
        ["batched after"],
    ]
    notes = [n for _, n in await applied_rows(db) if n.startswith("batched")]
    assert sorted(notes) == ["batched after", "batched before"]
    assert await inbox_ids(db, r.name) == {before.event_id, after.event_id}
    got = [
        m for m in await dead_letters(kafka_bootstrap, fresh_topics.dead_letters, 1) if m.key == key.encode()
    ]
    assert [int(dict(m.headers)["dlq.offset"]) for m in got] == [published[1].offset]


async def test_a_consumer_killed_inside_its_batch_handler_leaves_nothing_and_a_new_one_applies_all_once(
    kafka_bootstrap, fresh_topics, db, producer
):
    key = "AAAA-0103"
    events = [comment(key, f"batch killed {i}") for i in range(10)]
    published = [await producer.publish(e) for e in events]
    name = "t.batchhandlerkill.v1"
    written: list[str] = []

    async def dies_halfway(conn, batch):
        for event in batch:  # row by row, so the batch's transaction holds writes when it dies
            await record_many(conn, [event])
            written.append(event.payload.text)
            if len(written) == 6:
                raise Killed

    first = batch_runner(name, kafka_bootstrap, fresh_topics, db, producer, dies_halfway)
    await first.start()
    task = asyncio.create_task(first.run())
    try:
        with pytest.raises(Killed):
            await asyncio.wait_for(task, 30)
    finally:
        await first.stop()

    assert written == [f"batch killed {i}" for i in range(6)]
    assert [n for _, n in await applied_rows(db) if n.startswith("batch killed")] == []
    assert await inbox_ids(db, name) == set()
    async with db.connection() as conn:
        assert await read_positions(conn, SCHEMA, name, fresh_topics.request_events) == {}

    await run_until(
        batch_runner(name, kafka_bootstrap, fresh_topics, db, producer, record_many), db, published
    )
    rows = sorted((n, i) for i, n in await applied_rows(db) if n.startswith("batch killed"))
    assert rows == sorted((e.payload.text, e.event_id) for e in events)  # each exactly once


async def test_a_batch_s_span_links_to_the_trace_of_each_event(kafka_bootstrap, fresh_topics, db, producer):
    exporter = InMemorySpanExporter()
    configure_tracing("civicloop-test", extra_processor=SimpleSpanProcessor(exporter))
    tracer = trace.get_tracer("test")
    roots, published = [], []
    for i in range(2):
        with tracer.start_as_current_span(f"http POST {i}") as root:
            published.append(await producer.publish(comment("AAAA-0104", f"linked {i}")))
        roots.append(root.get_span_context().trace_id)

    await run_until(
        batch_runner("t.batchtrace.v1", kafka_bootstrap, fresh_topics, db, producer, record_many),
        db,
        published,
    )

    batches = [
        s
        for s in exporter.get_finished_spans()
        if s.name == "apply batch" and s.attributes.get("messaging.consumer.group.name") == "t.batchtrace.v1"
    ]
    linked = {link.context.trace_id for s in batches for link in s.links}
    assert set(roots) <= linked


async def test_publish_many_puts_every_event_on_the_log_in_order_and_says_where(
    kafka_bootstrap, fresh_topics, producer
):
    events = [comment(f"AAAA-02{i % 3}", f"many {i}") for i in range(9)]  # three requests, interleaved
    positions = await producer.publish_many(events)

    assert len(positions) == len(events)
    by_request: dict[str, list[int]] = {}
    for event, position in zip(events, positions, strict=True):
        by_request.setdefault(event.request_id, []).append(position.offset)
    # One request's events share a partition and keep the order they were given in.
    assert all(offsets == sorted(offsets) for offsets in by_request.values())
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        got = {}
        for position in positions:
            tp = TopicPartition(position.topic, position.partition)
            consumer.assign([tp])
            consumer.seek(tp, position.offset)
            record = await asyncio.wait_for(consumer.getone(), 20)
            got[position] = json.loads(record.value)["event_id"]
    finally:
        await consumer.stop()
    assert [got[p] for p in positions] == [str(e.event_id) for e in events]
    assert await producer.publish_many([]) == []


# -- a poll over several partitions --------------------------------------------------------------------------------

# Twelve requests: with the test topics' three partitions, these keys land on every one of them.
SPREAD_KEYS = [f"AAAA-05{i:02d}" for i in range(12)]


async def publish_spread(producer, label):
    events = [comment(key, f"{label} {i}") for i, key in enumerate(SPREAD_KEYS)]
    published = [await producer.publish(e) for e in events]
    assert len({p.partition for p in published}) == 3
    return events, published


async def apply_as_one_poll(r: ConsumerRunner, kafka_bootstrap, topics) -> None:
    """Everything on the request topic handed to `r` as one poll, as a poll after a pause brings it (a live poll
    holds whatever the fetcher had by then, which no test can pin)."""
    polled: dict[TopicPartition, list] = {}
    for record in await read_all_records(kafka_bootstrap, topics.request_events, topics.partitions):
        polled.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
    assert len(polled) == topics.partitions
    try:
        await r._apply_poll(polled)
    finally:
        await r.stop()


async def test_a_poll_over_several_partitions_is_one_transaction_and_notifies_each_position(
    kafka_bootstrap, fresh_topics, db, producer
):
    events, published = await publish_spread(producer, "spread")
    last = {p.partition: p for p in published}  # the last event of each partition
    transaction_of: dict[str, int] = {}

    async def noting_the_transaction(conn, event):
        await record_applied(conn, event)
        cur = await conn.execute("select txid_current()")
        transaction_of[event.payload.text] = (await cur.fetchone())[0]

    r = runner("t.spread.v1", kafka_bootstrap, fresh_topics, db, producer)
    r.handler = noting_the_transaction
    await listener_for(db).listening()
    waiting = [
        asyncio.create_task(
            applied_within(db, PositionKey(SCHEMA, r.name, p.topic, p.partition), p.offset, timeout_s=30)
        )
        for p in last.values()
    ]
    await apply_as_one_poll(r, kafka_bootstrap, fresh_topics)

    assert sorted(transaction_of) == sorted(e.payload.text for e in events)
    assert len(set(transaction_of.values())) == 1  # three partitions, one transaction
    # Each partition's position was announced: every waiter woke without the fallback's slow re-read.
    assert await asyncio.wait_for(asyncio.gather(*waiting), 20) == [True] * len(last)
    async with db.connection() as conn:
        positions = await read_positions(conn, SCHEMA, r.name, fresh_topics.request_events)
    assert positions == {p.partition: p.offset + 1 for p in last.values()}


async def others_visible(dsn, texts):
    """How many of `texts` another session sees applied (committed)."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(f"select count(*) from {SCHEMA}.applied where note = any(%s)", (texts,))
        return (await cur.fetchone())[0]


@pytest.mark.parametrize("kind", ["handler", "batch_handler"])
async def test_a_poison_record_in_one_partition_does_not_hold_back_the_others(
    kind, kafka_bootstrap, fresh_topics, db, producer, fresh_database_dsn
):
    label = f"held {kind}"
    bad = comment(SPREAD_KEYS[0], "poison")
    p_bad = await producer.publish(bad)
    events, published = await publish_spread(producer, label)
    others = [
        e.payload.text for e, p in zip(events, published, strict=True) if p.partition != p_bad.partition
    ]
    assert others
    seen_by_the_poison: list[
        int
    ] = []  # at each attempt on the poison: the other partitions' events committed

    async def watching(conn, batch):
        if any(e.event_id == bad.event_id for e in batch):
            seen_by_the_poison.append(await others_visible(fresh_database_dsn, others))
        if kind == "handler":
            await record_applied(conn, batch[0])
        else:
            await record_many(conn, batch)

    if kind == "handler":
        r = runner("t.held.one.v1", kafka_bootstrap, fresh_topics, db, producer, max_attempts=3)
        r.handler = lambda conn, event: watching(conn, [event])
    else:
        r = batch_runner(
            "t.held.many.v1", kafka_bootstrap, fresh_topics, db, producer, watching, max_attempts=3
        )
    await apply_as_one_poll(r, kafka_bootstrap, fresh_topics)

    # The first attempt shared its transaction with every partition and rolled it back; the others committed
    # before the poison's retries, which then ran (and failed for good) in a transaction of their own.
    assert seen_by_the_poison[0] == 0
    assert seen_by_the_poison[-1] == len(others)
    if kind == "handler":
        assert seen_by_the_poison == [0, len(others), len(others)]  # max_attempts, no more
    notes = sorted(n for _, n in await applied_rows(db) if n.startswith(label))
    assert notes == sorted(e.payload.text for e in events)
    got = await dead_letters(kafka_bootstrap, fresh_topics.dead_letters, 1)
    assert [json.loads(m.value)["event_id"] for m in got] == [str(bad.event_id)]
    assert await inbox_ids(db, r.name) == {e.event_id for e in events}
    async with db.connection() as conn:
        positions = await read_positions(conn, SCHEMA, r.name, fresh_topics.request_events)
    assert positions == {p.partition: p.offset + 1 for p in [p_bad, *published]}
