"""Nothing late left behind: polling alone imports requests a back-end publishes days after their creation date, and
an update heard about a request before the request itself is applied once, after the request is imported.

The back-end is `late_server` on 127.0.0.1, on the test's virtual clock (shared with the poller), filtering the way
the standard says, so a request is found only by a read that asks for it; events go to the real broker, state to the
real database.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from civicloop_events.payloads import (
    BackendUpdateReceived,
    ExternalReferenceAssigned,
    Open311Connection,
    RequestImported,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_events.request_numbers import new_request_number
from civicloop_open311.wire import as_datetime as wire_date
from civicloop_outbound.adapters.open311_client import Open311Client
from civicloop_outbound.adapters.open311_sender import remember_reference
from civicloop_outbound.domain.late_imports import Limits
from late_harness import HOUR, QUARTER, T0, request_row, update_row, world
from o311client_harness import read_events

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_late_requests_arrive_by_polling_where_the_back_end_filters_on_updated_after(
    late, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    w = await world(
        late,
        o311_pool,
        o311_http,
        o311_producer,
        o311_topics,
        kafka_bootstrap,
        updates_method="requests_updated_after",
    )
    w.state.publish(request_row("ON-TIME", T0 - timedelta(hours=1)))
    assert (await w.round()).imported == 1

    now = w.state.clock() + QUARTER
    # held in moderation for two days, unchanged since: only a re-read of creation dates finds it
    w.state.publish(request_row("LATE-2D", now - timedelta(days=2)), at=now)
    # five days late (beyond the 72-hour look-back), marked done as it was published: found by updated_after
    w.state.publish(
        request_row("LATE-5D", now - timedelta(days=5), updated=now, status="closed", notes="Filled"), at=now
    )
    second = await w.round(HOUR)  # the look-back is re-read hourly
    assert second.imported == 2
    assert any("updated_after" in q for path, q in w.state.queries if path.endswith("/requests.json"))

    assert (await w.round()).imported == 0
    by_creation = [q for p, q in w.state.queries if p.endswith("/requests.json") and "start_date" in q]
    look_back = timedelta(hours=w.body.open311_connection().import_lookback_h)
    assert wire_date(by_creation[-2]["start_date"]) == wire_date(by_creation[-2]["end_date"]) - look_back
    # a quarter later, within the hour: it resumes where the last import ended, minus the 5-minute overlap
    assert wire_date(by_creation[-1]["start_date"]) == wire_date(by_creation[-2]["end_date"]) - timedelta(
        minutes=5
    )
    assert await w.imported() == {"ON-TIME": 1, "LATE-2D": 1, "LATE-5D": 1}
    late_5d = await w.events_of("LATE-5D")
    assert [e.type for e in late_5d] == [
        RequestImported.event_type,
        ServiceRequestSubmitted.event_type,
        ExternalReferenceAssigned.event_type,
        StatusChanged.event_type,
    ]
    assert late_5d[1].occurred_at == now - timedelta(days=5)  # its own creation time, not the import's
    assert late_5d[-1].payload.status == "closed"


async def test_an_update_heard_before_its_request_brings_the_request_in_and_applies_once(
    late, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    w = await world(
        late,
        o311_pool,
        o311_http,
        o311_producer,
        o311_topics,
        kafka_bootstrap,
        updates_method="servicerequestupdates",
    )
    assert (await w.round()).imported == 0

    now = w.state.clock() + QUARTER
    w.state.publish(request_row("LATE-2D", now - timedelta(days=2)), at=now)  # in the look-back
    # ten days late, closed as it was published: only its update in servicerequestupdates tells of it
    w.state.publish(
        request_row("LATE-10D", now - timedelta(days=10), updated=now, status="closed", notes="Cleared"),
        at=now,
    )
    w.state.publish_update(update_row("u-10d-1", "LATE-10D", now, "closed", "Cleared"), at=now)
    # an excluded category: fetched once, settled, never fetched again
    w.state.publish(request_row("INT-1", now - timedelta(days=9), code="INTERNAL"), at=now)
    w.state.publish_update(update_row("u-int-1", "INT-1", now, "open", "Internal note"), at=now)
    # a request the back-end never returns
    w.state.publish_update(update_row("u-gone-1", "GONE-1", now, "closed", "?"), at=now)

    second = await w.round(HOUR)
    assert (second.unknown_request, second.imported) == (3, 2)
    assert await w.imported() == {"LATE-2D": 1, "LATE-10D": 1}
    late_10d = await w.events_of("LATE-10D")
    assert [e.type for e in late_10d] == [
        RequestImported.event_type,
        ServiceRequestSubmitted.event_type,
        ExternalReferenceAssigned.event_type,
        StatusChanged.event_type,
    ]  # the update was heard before the import read the request: the import stands for it, once
    assert (late_10d[-1].payload.status, late_10d[-1].payload.public_note) == ("closed", "Cleared")
    kept = await w.kept()
    assert kept["u-10d-1"][0] == "covered"
    assert kept["u-int-1"] == ("skipped", "service_code INTERNAL is excluded")
    assert kept["u-gone-1"][0] == "pending"

    # the back-end reopens it: a known request now, the update applies the usual way
    reopened = w.state.clock() + QUARTER
    w.state.publish_update(update_row("u-10d-2", "LATE-10D", reopened, "open", "Sinking again"), at=reopened)
    third = await w.round()
    assert (third.applied, third.status_changes, third.imported) == (1, 1, 0)

    for _ in range(4):
        await w.round()
    assert await w.imported() == {"LATE-2D": 1, "LATE-10D": 1}
    late_10d = await w.events_of("LATE-10D")
    assert [(e.type, getattr(e.payload, "status", None)) for e in late_10d[4:]] == [
        (BackendUpdateReceived.event_type, None),
        (StatusChanged.event_type, "open"),
    ]
    asked = Counter(w.state.by_id_queries())
    assert asked["INT-1"] == 1 and asked["LATE-10D"] == 1
    assert asked["GONE-1"] == 10  # five rounds, each the list filter then GET requests/GONE-1
    kept = await w.kept()
    assert kept["u-gone-1"] == ("given_up", "the back-end did not return the request in 5 reads by id")
    await w.round()
    assert Counter(w.state.by_id_queries())["GONE-1"] == 10  # given up: not fetched forever


async def test_reads_by_id_that_fail_keep_the_update_without_counting_against_it(
    late, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    w = await world(
        late,
        o311_pool,
        o311_http,
        o311_producer,
        o311_topics,
        kafka_bootstrap,
        updates_method="servicerequestupdates",
    )
    await w.round()
    now = w.state.clock() + QUARTER
    w.state.publish(request_row("OLD-1", now - timedelta(days=30), updated=now, status="closed"), at=now)
    w.state.publish_update(update_row("u-old-1", "OLD-1", now, "closed", "Done"), at=now)
    w.state.reads_by_id_down = True
    for _ in range(Limits().max_fetches + 1):  # more rounds than reads allowed: a failure is not a read
        w.state.now = w.state.clock() + QUARTER
        report = await w.poller.run_once(force=True, jurisdiction_id=w.jurisdiction)
        assert any("HTTP 503" in r for r in report[f"{w.jurisdiction}/{w.body.body_id}"].skipped)
    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select state, attempts from outbound.backend_unknown_updates where jurisdiction_id = %s",
            (w.jurisdiction,),
        )
        assert await cur.fetchall() == [("pending", 0)]
    w.state.reads_by_id_down = False
    assert (await w.round()).imported == 1
    assert await w.imported() == {"OLD-1": 1}
    assert (await w.kept())["u-old-1"][0] == "covered"


async def test_an_update_about_a_request_we_sent_waits_for_its_reference_then_applies_once(
    late, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    w = await world(
        late,
        o311_pool,
        o311_http,
        o311_producer,
        o311_topics,
        kafka_bootstrap,
        updates_method="servicerequestupdates",
    )
    await w.round()
    now = w.state.clock() + QUARTER
    ours = new_request_number()
    sent = now - timedelta(days=5)  # sent by CivicLoop days ago (beyond the look-back): read by id
    w.state.publish(request_row("B-77", sent, description=f"Pothole\n\n[CivicLoop {ours}]"), at=sent)
    w.state.publish_update(update_row("u-b77-1", "B-77", now, "closed", "Patched"), at=now)
    first = await w.round()  # the batch token has not resolved: the request is not known
    assert (first.unknown_request, first.imported, first.status_changes) == (1, 0, 0)
    assert (await w.kept())["u-b77-1"][0] == "ours"
    await w.round()
    assert Counter(w.state.by_id_queries())["B-77"] == 1  # ours: not fetched again

    async with o311_pool.connection() as conn:  # the token resolves (as poll_tokens records it)
        await remember_reference(conn, w.jurisdiction, w.body.body_id, "B-77", ours)
    applied = await w.round()
    assert (applied.applied, applied.status_changes) == (1, 1)
    assert (await w.round()).status_changes == 0
    changes = await read_events(
        kafka_bootstrap, o311_topics, request_id=ours, types=(StatusChanged.event_type,)
    )
    assert [(c.payload.status, c.payload.public_note) for c in changes] == [("closed", "Patched")]
    assert await w.imported() == {}
    assert (await w.kept())["u-b77-1"][0] == "applied"


async def test_a_body_that_does_not_import_keeps_unknown_updates_only_when_they_may_be_about_a_pending_token(
    late, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    w = await world(
        late,
        o311_pool,
        o311_http,
        o311_producer,
        o311_topics,
        kafka_bootstrap,
        updates_method="servicerequestupdates",
        import_requests=False,
    )
    now = w.state.clock() + QUARTER
    heard = now - timedelta(minutes=10)  # before the next poll's overlap
    w.state.publish_update(update_row("u-foreign", "F-1", heard, "closed", "Someone else's"), at=now)
    assert (await w.round()).unknown_request == 1
    assert await w.kept() == {}  # another agency's request: nothing to wait for

    ours = new_request_number()
    token_at = w.state.clock() + timedelta(hours=2)
    async with o311_pool.connection() as conn:  # a batch token still pending at the back-end
        await conn.execute(
            "insert into outbound.open311_tokens (jurisdiction_id, body_id, token, request_id, next_poll_at,"
            " created_at) values (%s, %s, 'TOKEN-1', %s, now() + interval '1 day', %s)",
            (w.jurisdiction, w.body.body_id, ours, token_at),
        )
    before = w.state.clock() + timedelta(
        minutes=5
    )  # over an hour (the clock skew) before the token: not ours
    w.state.publish_update(update_row("u-before", "F-2", before, "closed", "Older than our token"), at=before)
    assert (await w.round()).unknown_request == 1
    assert await w.kept() == {}
    after = token_at + QUARTER
    w.state.publish_update(update_row("u-b88-1", "B-88", after, "closed", "Patched"), at=after)
    assert (await w.round(after - w.state.clock())).unknown_request == 1
    assert (await w.kept())["u-b88-1"][0] == "pending"
    async with o311_pool.connection() as conn:
        await remember_reference(conn, w.jurisdiction, w.body.body_id, "B-88", ours)
    assert (await w.round()).status_changes == 1
    assert (await w.round()).status_changes == 0
    assert (await w.kept())["u-b88-1"][0] == "applied"
    assert not [q for p, q in w.state.queries if "/requests" in p]  # it does not import: never read by id


@pytest.mark.parametrize(
    ("id_list", "one_by_one"),
    [
        ("honoured", ["NOPE.json"]),
        # ignored, the filter gave the default list: OTHER dropped, A-2 kept, A-1 and NOPE asked one by one
        ("ignored", ["A-1.json", "NOPE.json"]),
        ("refused", ["A-1.json", "A-2.json", "NOPE.json"]),
    ],
)
async def test_requests_by_id_use_the_list_filter_and_fall_back_to_one_by_one(
    late, o311_http, id_list, one_by_one
):
    state, url = late
    state.id_list = id_list
    state.publish(request_row("A-1", T0 - timedelta(days=200)))  # older than a default list's 90 days
    for sr_id in ("A-2", "OTHER"):
        state.publish(request_row(sr_id, T0 - timedelta(days=1)))
    client = Open311Client(Open311Connection(endpoint=f"{url}/v2", format="json"), o311_http)
    found = await client.requests_by_id(["A-1", "A-2", "NOPE", "A-1"])
    assert sorted(found) == ["A-1", "A-2"] and found["A-2"].service_request_id == "A-2"
    assert [q["service_request_id"] for p, q in state.queries if p.endswith("/requests.json")] == [
        "A-1,A-2,NOPE"
    ]
    assert [p.rsplit("/", 1)[1] for p, _ in state.queries if "/requests/" in p] == one_by_one
