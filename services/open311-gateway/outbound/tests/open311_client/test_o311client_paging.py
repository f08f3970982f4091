"""Reading capped back-ends without silent loss: the LA 311 sample served by Open311 servers on 127.0.0.1 that cap
their answers (one honouring page/page_size, one ignoring them, one capping servicerequestupdates), imported and
polled into the real PostgreSQL and broker, every request and update counted against the source."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from capped_server import CappedState, SourceRequest, capped_app, la_csv, la_requests
from civicloop_events.payloads import BackendUpdateReceived, BodyDefined, Open311Connection, RequestImported
from civicloop_outbound.adapters.open311_client import Open311Temporary
from civicloop_outbound.adapters.open311_polling import Open311Poller
from civicloop_outbound.domain.ports import BodyRecord
from civicloop_outbound.entrypoints.cli import app as cli
from civicloop_testing.threaded_server import serve_in_thread
from o311client_harness import define_body, read_events
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CSV = la_csv()
if CSV is None:
    pytest.skip(
        "../shared/data/requests/la-311-2017-sample.csv is not beside this checkout (a user's clone)",
        allow_module_level=True,
    )
# The first 2,000 requests of the sample (two days of Los Angeles, 40 answers' worth at a cap of 50): enough to cut
# every window many times, few enough to import in a test.
SOURCE = la_requests(CSV, limit=2000)
CODES = sorted({r.code for r in la_requests(CSV)})
HISTORY = (datetime(2017, 12, 1, tzinfo=UTC), datetime(2018, 1, 2, tzinfo=UTC))
AFTER_THE_FACT = datetime(
    2018, 7, 1, tzinfo=UTC
)  # the pollers' "now": every update in the sample has happened


@pytest.fixture(scope="session")
def capped_server() -> Iterator[tuple[CappedState, str]]:
    state = CappedState()
    with serve_in_thread(capped_app(state)) as url:
        yield state, url


@pytest.fixture
def capped(capped_server: tuple[CappedState, str]) -> tuple[CappedState, str]:
    state, url = capped_server
    state.reset()
    return state, url


async def body_on(pool: Any, url: str, **connection: Any) -> BodyRecord:
    """A body of its own jurisdiction, on the capped server, importing every category of the sample."""
    values: dict[str, Any] = {"endpoint": f"{url}/v2", "format": "json", "import_requests": True}
    values.update(connection)
    body = BodyDefined(
        body_id="la-sanitation",
        name="LA Sanitation",
        service_codes=CODES,
        open311=Open311Connection(**values),
    )
    return await define_body(pool, f"la-{uuid.uuid4().hex[:8]}.example.gov", body)


async def decided(pool: Any, body: BodyRecord) -> Counter[str]:
    """How many times each back-end id was decided (imported or skipped) for the body."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select external_id from outbound.backend_imports where jurisdiction_id = %s and body_id = %s",
            (body.jurisdiction_id, body.body_id),
        )
        return Counter(r[0] for r in await cur.fetchall())


async def events_of(bootstrap: str, topics: Any, body: BodyRecord, event_type: str) -> list[Any]:
    return [
        e
        for e in await read_events(bootstrap, topics, types=(event_type,))
        if e.jurisdiction_id == body.jurisdiction_id
    ]


async def memory_of(pool: Any, body: BodyRecord, name: str) -> tuple[bool | None, int] | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select paging, longest_answer from outbound.backend_list_memory where jurisdiction_id = %s"
            " and body_id = %s and list = %s",
            (body.jurisdiction_id, body.body_id, name),
        )
        return await cur.fetchone()


async def assert_imported_once(pool, bootstrap, topics, body, source: list[SourceRequest]) -> None:
    """Every source request decided once, imported once, and one `request.imported` on the log for each."""
    counts = await decided(pool, body)
    assert set(counts) == {r.id for r in source}
    assert max(counts.values()) == 1
    imported = await events_of(bootstrap, topics, body, RequestImported.event_type)
    assert len(imported) == len(source)
    assert Counter(e.payload.external_id for e in imported) == Counter({r.id: 1 for r in source})


async def test_import_reads_every_page_of_a_back_end_that_honours_paging(
    capped, o311_pool, o311_producer, o311_http, o311_topics, kafka_bootstrap
):
    state, url = capped
    state.source, state.cap, state.honours_paging = SOURCE, 50, True
    body = await body_on(o311_pool, url, paging="auto", page_size=100)
    poller = Open311Poller(o311_pool, o311_producer, o311_http)

    report = await poller.import_window(body, *HISTORY)

    assert report.imported == len(SOURCE) and report.capped == [] and report.read_to == HISTORY[1]
    await assert_imported_once(o311_pool, kafka_bootstrap, o311_topics, body, SOURCE)
    assert await memory_of(o311_pool, body, "requests") == (True, 50)  # learnt; the page size it clamps to
    paged = [q for q in state.queries if "page" in q]
    assert (
        len(paged) >= len(SOURCE) // 50 and len(state.queries) - len(paged) == 1
    )  # one plain answer, then pages

    state.queries.clear()
    again = await poller.import_window(body, *HISTORY)
    assert again.imported == 0 and again.skipped == {"already decided": len(SOURCE)}
    assert all("page" in q for q in state.queries)  # what was learnt is used: pages from the start
    await assert_imported_once(o311_pool, kafka_bootstrap, o311_topics, body, SOURCE)


async def test_import_splits_windows_of_a_back_end_that_ignores_paging(
    capped, o311_pool, o311_producer, o311_http, o311_topics, kafka_bootstrap
):
    state, url = capped
    state.source, state.cap = SOURCE, 50
    body = await body_on(o311_pool, url)  # paging auto, no cap configured: 1,000 and the longest answer seen
    poller = Open311Poller(o311_pool, o311_producer, o311_http)

    report = await poller.import_window(body, *HISTORY)

    assert report.imported == len(SOURCE) and report.capped == [] and report.read_to == HISTORY[1]
    await assert_imported_once(o311_pool, kafka_bootstrap, o311_topics, body, SOURCE)
    assert await memory_of(o311_pool, body, "requests") == (False, 50)  # page 2 repeated page 1
    assert {q["page"] for q in state.queries if "page" in q} == {"1", "2"}  # asked once, then never again

    again = await poller.import_window(body, *HISTORY)
    assert again.imported == 0 and again.fetched == len(SOURCE)  # every row seen once more, none twice
    await assert_imported_once(o311_pool, kafka_bootstrap, o311_topics, body, SOURCE)


async def imported_then_changed(
    capped, pool, producer, http, source, **connection
) -> tuple[Open311Poller, Any]:
    """A body whose requests were imported as first published (open), then closed at the back-end; the updates
    watermark where the import left off."""
    state, url = capped
    state.source = source
    body = await body_on(pool, url, **connection)
    poller = Open311Poller(pool, producer, http, clock=lambda: AFTER_THE_FACT)
    assert (await poller.import_window(body, *HISTORY)).imported == len(source)
    await poller._store_window(body, "updates", HISTORY[0])
    state.phase = "later"
    return poller, body


async def assert_updates_applied_once(pool, bootstrap, topics, body, source, *, by_row: bool = False) -> None:
    """One `BackendUpdateReceived` per update of the source (per closing update; or, read as rows, per request
    whose row changed, in time or status) and one close per closed request."""
    closed = [r for r in source if r.closed]
    changed = [r for r in source if r.closed or r.updated.replace(microsecond=0) != r.created]
    updated = changed if by_row else closed
    received = await events_of(bootstrap, topics, body, BackendUpdateReceived.event_type)
    assert Counter(e.payload.external_id for e in received) == Counter({r.id: 1 for r in updated})
    changes = [
        e
        for e in await events_of(bootstrap, topics, body, "request.status.changed")
        if e.payload.status == "closed"
    ]
    assert len(changes) == len(closed)


async def test_polling_capped_servicerequestupdates_applies_every_update_once(
    capped, o311_pool, o311_producer, o311_http, o311_topics, kafka_bootstrap
):
    state, _ = capped
    source = SOURCE[:1000]
    poller, body = await imported_then_changed(
        capped,
        o311_pool,
        o311_producer,
        o311_http,
        source,
        updates_method="servicerequestupdates",
        paging="none",
    )
    state.updates_cap = 40

    report = await poller.poll_updates(body)

    closed = sum(r.closed for r in source)
    assert report.applied == closed == report.status_changes and report.capped == []
    assert await poller.window_end(body, "updates") == AFTER_THE_FACT
    updates_asked = [q for q in state.queries if q["list"] == "updates"]
    assert len(updates_asked) > closed // 40 and "page" not in updates_asked[0]  # windows, never pages
    await assert_updates_applied_once(o311_pool, kafka_bootstrap, o311_topics, body, source)
    again = await poller.poll_updates(body, mopup=True)
    assert again.applied == 0
    await assert_updates_applied_once(o311_pool, kafka_bootstrap, o311_topics, body, source)


async def test_polling_capped_updated_after_reads_apply_every_change_once(
    capped, o311_pool, o311_producer, o311_http, o311_topics, kafka_bootstrap
):
    state, _ = capped
    source = SOURCE[:1000]
    poller, body = await imported_then_changed(
        capped,
        o311_pool,
        o311_producer,
        o311_http,
        source,
        updates_method="requests_updated_after",
        answer_cap=50,
    )
    state.cap = 50

    report = await poller.poll_updates(body)

    closed = sum(r.closed for r in source)
    assert report.status_changes == closed and report.capped == []
    assert await poller.window_end(body, "updates") == AFTER_THE_FACT
    await assert_updates_applied_once(o311_pool, kafka_bootstrap, o311_topics, body, source, by_row=True)
    assert (await poller.poll_updates(body, mopup=True)).applied == 0


async def test_a_failure_half_way_keeps_the_watermark_where_the_data_read_ends(
    capped, o311_pool, o311_producer, o311_http, o311_topics, kafka_bootstrap
):
    state, _ = capped
    source = SOURCE[:1000]
    poller, body = await imported_then_changed(
        capped,
        o311_pool,
        o311_producer,
        o311_http,
        source,
        updates_method="servicerequestupdates",
        paging="none",
    )
    state.updates_cap = 40
    middle = sorted(r.updated for r in source if r.closed)[len(source) // 3]
    state.fail_from = middle

    with pytest.raises(Open311Temporary):
        await poller.poll_updates(body)

    stopped = await poller.window_end(body, "updates")
    assert HISTORY[0] < stopped == state.refused[0]  # moved as far as it read, to the window that failed
    read_whole = {r.id for r in source if r.closed and r.updated <= stopped}
    received = await events_of(kafka_bootstrap, o311_topics, body, BackendUpdateReceived.event_type)
    assert read_whole <= {e.payload.external_id for e in received}

    state.fail_from = None
    await poller.poll_updates(body)
    assert await poller.window_end(body, "updates") == AFTER_THE_FACT
    await assert_updates_applied_once(o311_pool, kafka_bootstrap, o311_topics, body, source)


async def test_a_minimum_window_still_capped_is_reported_and_the_watermark_stops_before_it(
    capped, o311_pool, o311_producer, o311_http
):
    state, _ = capped
    created = datetime(2017, 12, 27, 8, tzinfo=UTC)
    burst = datetime(2017, 12, 29, 9, tzinfo=UTC)  # a bulk close: eight updates in the same second
    source = [
        SourceRequest(
            f"B-{i}",
            CODES[0],
            created + timedelta(hours=i),
            burst,
            True,
            "34.05",
            "-118.25",
            "1 Main St",
            "Closed",
        )
        for i in range(8)
    ] + [
        SourceRequest(
            "B-late",
            CODES[0],
            created,
            burst + timedelta(days=1),
            True,
            "34.05",
            "-118.25",
            "1 Main St",
            "Closed",
        )
    ]
    poller, body = await imported_then_changed(
        capped,
        o311_pool,
        o311_producer,
        o311_http,
        source,
        updates_method="servicerequestupdates",
        answer_cap=5,
    )
    state.updates_cap = 5

    report = await poller.poll_updates(body)

    # The windows are closed at both ends: the one-second windows on either side of the burst's instant hold it.
    assert report.capped and all(s <= burst <= e and e - s <= timedelta(seconds=1) for s, e in report.capped)
    stuck_start = report.capped[0][0]
    assert report.applied == 5 + 1  # what it did give is applied, and the later update too
    stopped = await poller.window_end(body, "updates")
    assert HISTORY[0] <= stopped <= stuck_start  # not past the window it could not read whole
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select last_error from outbound.backend_poll_state where jurisdiction_id = %s and body_id = %s"
            " and kind = 'updates'",
            (body.jurisdiction_id, body.body_id),
        )
        (error,) = await cur.fetchone()
    assert "capped answer(s) could not be read whole" in error


async def test_the_import_command_brings_in_every_request_once_and_a_second_run_adds_nothing(
    capped, o311_dsn, o311_pool, o311_topics, kafka_bootstrap
):
    state, url = capped
    source = SOURCE[:300]
    state.source, state.cap = source, 20
    body = await body_on(o311_pool, url)
    env = {
        "CIVICLOOP_PG_DSN": o311_dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_TOPIC_PREFIX": o311_topics.prefix,
    }
    args = ["open311", "import", "-j", body.jurisdiction_id, "--body", body.body_id, "--since", "2017-12-01"]

    first = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    second = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)

    assert first.exit_code == 0, first.output
    assert f"fetched {len(source)}, imported {len(source)}" in first.output
    assert second.exit_code == 0 and f"fetched {len(source)}, imported 0" in second.output
    await assert_imported_once(o311_pool, kafka_bootstrap, o311_topics, body, source)

    # A burst larger than the cap inside one second cannot be read whole: the command says so and fails.
    burst = source[0].created
    state.source = [replace(r, id=f"{r.id}-dup{i}", created=burst) for i, r in enumerate(source[:25])]
    third = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    assert third.exit_code == 1 and "could not be read whole" in third.output


async def test_a_body_configured_for_pages_on_a_back_end_that_repeats_them_falls_back_to_windows(
    capped, o311_pool, o311_producer, o311_http, o311_topics, kafka_bootstrap
):
    state, url = capped
    source = SOURCE[:300]
    state.source, state.cap = source, 20
    body = await body_on(o311_pool, url, paging="pages", page_size=20)
    poller = Open311Poller(o311_pool, o311_producer, o311_http)

    report = await poller.import_window(body, *HISTORY)

    assert report.imported == len(source) and report.capped == []
    assert state.queries[0]["page"] == "1" and state.queries[1]["page"] == "2"  # pages asked first
    assert any("page" not in q for q in state.queries)  # then date windows
    assert await memory_of(o311_pool, body, "requests") == (False, 20)
    await assert_imported_once(o311_pool, kafka_bootstrap, o311_topics, body, source)


async def test_the_ongoing_import_stops_before_a_window_it_cannot_read_whole_and_resumes_from_there(
    capped, o311_pool, o311_producer, o311_http, o311_topics, kafka_bootstrap
):
    state, url = capped
    source = SOURCE[:300]  # 2017-12-31 23:52 to 2018-01-01 08:00 UTC
    burst = datetime(2018, 1, 1, 4, tzinfo=UTC)  # 25 requests entered in one second: more than the cap
    bulk = [replace(r, id=f"{r.id}-bulk", created=burst, updated=burst) for r in source[:25]]
    state.source, state.cap = source + bulk, 20
    body = await body_on(o311_pool, url, updates_method="none", answer_cap=20)
    now = datetime(2018, 1, 1, 12, tzinfo=UTC)
    poller = Open311Poller(o311_pool, o311_producer, o311_http, clock=lambda: now)

    first = await poller.poll_imports(body)

    assert first.capped and all(s <= burst <= e for s, e in first.capped)
    stopped = await poller.window_end(body, "import")
    assert stopped <= first.capped[0][0]  # not past the window it could not read whole
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select last_error from outbound.backend_poll_state where jurisdiction_id = %s and body_id = %s"
            " and kind = 'import'",
            (body.jurisdiction_id, body.body_id),
        )
        (error,) = await cur.fetchone()
    assert "could not be read whole" in error

    # The back-end raised its cap and the body says so: the next poll reads from where the first stopped, the burst
    # whole, and the import's end moves to now; nothing is imported twice.
    state.cap = 50
    raised = body.definition.model_copy(
        update={"open311": body.definition.open311.model_copy(update={"answer_cap": 50})}
    )
    body = await define_body(o311_pool, body.jurisdiction_id, raised)
    second = await poller.poll_imports(body)

    assert not second.capped
    assert await poller.window_end(body, "import") == now
    await assert_imported_once(o311_pool, kafka_bootstrap, o311_topics, body, source + bulk)
