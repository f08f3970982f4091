"""What a back-end says, carried: categories mapped many to one with the body's own fallback, the agency on the
imported request and on its updates, implausible points flagged, a note-only update shown once as a public comment,
and `open311 status` counting as applied only the updates polling applied. Against the deviant server on 127.0.0.1,
events on the real broker, state in the real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    RequestImported,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_outbound.adapters.open311_polling import Open311Poller, PollerConfig, event_id
from civicloop_outbound.entrypoints.cli import app as cli
from o311client_harness import JURISDICTION, define_body, deviant_body, read_events
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CREATED = "2016-03-01T08:00:00Z"
HELSINKI = (24.78, 60.11, 25.26, 60.30)


def body_id() -> str:
    return f"says-{uuid.uuid4().hex[:8]}"


def request_row(external_id: str, service_code: str, **fields: Any) -> dict[str, Any]:
    return {
        "service_request_id": external_id,
        "status": "open",
        "service_code": service_code,
        "description": f"Report {external_id}",
        "requested_datetime": CREATED,
        "lat": "60.1699",
        "long": "24.9384",
        **fields,
    }


async def imported_ids(pool: Any, body_id: str) -> dict[str, str]:
    """external id -> our request number, of the requests a body imported."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select external_id, request_id from outbound.backend_imports where body_id = %s and outcome = 'imported'",
            (body_id,),
        )
        return dict(await cur.fetchall())


async def test_categories_map_many_to_one_with_the_bodys_fallback_and_the_agency_and_flag_are_carried(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body = await define_body(
        o311_pool,
        JURISDICTION,
        deviant_body(
            url,
            body_id(),
            format="json",
            import_requests=True,
            import_service_code_map={"VANDALISM": "GRAFFITI", "GRAF": "GRAFFITI"},
            import_fallback_service_code="TREE",
            import_exclude_service_codes=["INTERNAL"],
            area_bbox=HELSINKI,
        ),
    )
    state.requests = [
        request_row("h-1", "VANDALISM", agency_responsible="Rakennusvirasto"),
        request_row("h-2", "GRAF", agency_responsible=""),
        request_row("h-3", "RT-9"),  # back through service_code_map (POTHOLE -> RT-9)
        request_row("h-4", "MYSTERY"),  # the body's fallback, not the process-wide one
        request_row("h-5", "INTERNAL"),
        request_row("h-6", "GRAF", lat="0.0", long="0.034", address="Mannerheimintie 1"),
        request_row("h-7", "GRAF", lat="0.0", long="0.034"),
        request_row("h-8", "GRAF", lat="34.05", long="-118.25", address="Aleksanterinkatu 1"),
    ]
    poller = Open311Poller(
        o311_pool, o311_producer, o311_http, config=PollerConfig(import_fallback_service_code="BULKY")
    )
    window = (datetime(2016, 2, 1, tzinfo=UTC), datetime(2016, 4, 1, tzinfo=UTC))
    report = await poller.import_window(body, *window)
    assert (report.fetched, report.imported) == (8, 6)
    assert report.skipped == {
        "service_code INTERNAL is excluded": 1,
        "no usable location: the point is at or near 0,0 and there is no address": 1,
    }
    assert (await poller.import_window(body, *window)).skipped == {"already decided": 8}

    numbers = await imported_ids(o311_pool, body.body_id)
    assert set(numbers) == {"h-1", "h-2", "h-3", "h-4", "h-6", "h-8"}
    events = await read_events(
        kafka_bootstrap,
        o311_topics,
        types=(RequestImported.event_type, ServiceRequestSubmitted.event_type),
    )
    by_number: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.request_id in numbers.values():
            by_number.setdefault(e.request_id, {})[e.type] = e.payload
    assert len(by_number) == 6
    imported = {ext: by_number[n][RequestImported.event_type] for ext, n in numbers.items()}
    submitted = {ext: by_number[n][ServiceRequestSubmitted.event_type] for ext, n in numbers.items()}
    assert {ext: s.service_code for ext, s in submitted.items()} == {
        "h-1": "GRAFFITI",
        "h-2": "GRAFFITI",
        "h-3": "POTHOLE",
        "h-4": "TREE",
        "h-6": "GRAFFITI",
        "h-8": "GRAFFITI",
    }
    assert imported["h-1"].agency_responsible == "Rakennusvirasto"
    assert imported["h-2"].agency_responsible is None  # an empty element says nothing
    assert imported["h-4"].backend_service_code == "MYSTERY"
    assert imported["h-1"].location_flag is None
    assert (submitted["h-1"].location.lat, submitted["h-1"].location.long) == (60.1699, 24.9384)
    assert imported["h-6"].location_flag == "the point is at or near 0,0"
    assert not submitted["h-6"].location.has_point
    assert submitted["h-6"].location.address_string == "Mannerheimintie 1"
    assert imported["h-8"].location_flag == "the point is outside the body's area"
    assert not submitted["h-8"].location.has_point


async def test_a_note_only_update_becomes_one_public_comment_and_the_agency_rides_on_the_update(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body = await define_body(
        o311_pool, JURISDICTION, deviant_body(url, body_id(), import_requests=True, format="json")
    )
    state.requests = [request_row("n-1", "RT-9", status_notes="Received", agency_responsible="Streets")]
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    now = datetime.now(UTC)
    assert (await poller.import_window(body, now - timedelta(days=3650), now)).imported == 1
    number = (await imported_ids(o311_pool, body.body_id))["n-1"]

    def update(
        update_id: str, minutes_ago: int, status: str, description: str, **extra: Any
    ) -> dict[str, Any]:
        when = (now - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "update_id": update_id,
            "service_request_id": "n-1",
            "status": status,
            "updated_datetime": when,
            "description": description,
            **extra,
        }

    state.updates = [
        update("u-1", 40, "open", "Received"),  # the note the import already showed: nothing new
        update("u-2", 30, "open", "Crew booked for Tuesday", agency_responsible="Parks"),  # note only
        update("u-3", 20, "open", "Crew booked for Tuesday"),  # the same note again
        update("u-4", 10, "closed", "Fixed"),  # a status change carries its own note
    ]
    first = await poller.poll_updates(body)
    assert (first.applied, first.notes, first.status_changes) == (4, 1, 1)
    again = await poller.poll_updates(body)
    assert (again.applied, again.notes, again.duplicates) == (0, 0, 4)

    events = await read_events(kafka_bootstrap, o311_topics, request_id=number)
    comments = [e for e in events if e.type == CommentAdded.event_type]
    assert [(c.payload.text, c.payload.visibility) for c in comments] == [
        ("Crew booked for Tuesday", "public")
    ]
    [comment] = comments
    assert comment.actor.id == f"backend:{body.body_id}" and comment.source == f"backend:{body.body_id}"
    assert comment.event_id == event_id("note", JURISDICTION, body.body_id, "u-2")
    assert comment.occurred_at == datetime.fromisoformat(state.updates[1]["updated_datetime"])
    received = {e.payload.update_id: e for e in events if e.type == BackendUpdateReceived.event_type}
    assert comment.causation_id == received["u-2"].event_id
    assert received["u-2"].payload.agency_responsible == "Parks"
    assert received["u-1"].payload.agency_responsible is None
    changes = [e.payload for e in events if e.type == StatusChanged.event_type]
    assert [(c.status, c.public_note) for c in changes] == [("closed", "Fixed")]


async def test_a_row_whose_notes_change_alone_is_one_comment_and_a_new_agency_alone_is_none(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    """`requests_updated_after`: each GET requests row is an update; its `status_notes` is the note."""
    state, url = deviant
    body = await define_body(
        o311_pool,
        JURISDICTION,
        deviant_body(
            url, body_id(), import_requests=True, format="json", updates_method="requests_updated_after"
        ),
    )
    row = request_row("r-1", "RT-9", status_notes="Received", updated_datetime="2016-03-01T09:00:00Z")
    state.requests = [row]
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    now = datetime.now(UTC)
    assert (await poller.import_window(body, now - timedelta(days=3650), now)).imported == 1
    number = (await imported_ids(o311_pool, body.body_id))["r-1"]
    assert (await poller.poll_updates(body)).duplicates == 1  # the row as imported: already known

    state.requests = [{**row, "updated_datetime": "2016-03-02T09:00:00Z", "status_notes": "Inspected"}]
    assert ((r := await poller.poll_updates(body)).applied, r.notes) == (1, 1)
    state.requests = [
        {**state.requests[0], "updated_datetime": "2016-03-03T09:00:00Z", "agency_responsible": "Parks"}
    ]
    assert ((r := await poller.poll_updates(body)).applied, r.notes, r.status_changes) == (1, 0, 0)

    events = await read_events(kafka_bootstrap, o311_topics, request_id=number)
    assert [e.payload.text for e in events if e.type == CommentAdded.event_type] == ["Inspected"]
    agencies = [e.payload.agency_responsible for e in events if e.type == BackendUpdateReceived.event_type]
    assert agencies == [None, "Parks"]


async def test_status_counts_as_applied_only_what_polling_applied(
    deviant, o311_dsn, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    jurisdiction = f"says-{uuid.uuid4().hex[:6]}.example.gov"
    body = await define_body(
        o311_pool, jurisdiction, deviant_body(url, body_id(), import_requests=True, format="json")
    )
    state.requests = [
        request_row(f"s-{i}", "RT-9", updated_datetime="2016-03-02T09:00:00Z", status="closed")
        for i in range(3)
    ]
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    now = datetime.now(UTC)
    assert (await poller.import_window(body, now - timedelta(days=3650), now)).imported == 3
    env = {
        "CIVICLOOP_PG_DSN": o311_dsn,
        "CIVICLOOP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CIVICLOOP_ENV": "test",
        "CIVICLOOP_TOPIC_PREFIX": o311_topics.prefix,
    }

    async def status() -> dict[str, Any]:
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["open311", "status", "-j", jurisdiction, "--json"], env=env
        )
        assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
        [row] = json.loads(result.output)
        return row

    after_import = await status()
    assert (after_import["imported"], after_import["updates_applied"]) == (3, 0)
    state.updates = [
        {
            "update_id": "s-u-1",
            "service_request_id": "s-0",
            "status": "open",
            "updated_datetime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "description": "Reopened",
        }
    ]
    assert (await poller.poll_updates(body)).applied == 1
    assert (await status())["updates_applied"] == 1


async def test_an_update_heard_late_but_older_than_what_the_request_shows_never_sets_its_status_back(
    deviant, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap
):
    state, url = deviant
    body = await define_body(
        o311_pool, JURISDICTION, deviant_body(url, body_id(), import_requests=True, format="json")
    )
    now = datetime.now(UTC)

    def at(days_ago: float) -> str:
        return (now - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")

    state.requests = [
        request_row("o-1", "RT-9", status="closed", status_notes="Fixed", updated_datetime=at(1))
    ]
    poller = Open311Poller(o311_pool, o311_producer, o311_http)
    assert (await poller.import_window(body, now - timedelta(days=3650), now)).imported == 1
    number = (await imported_ids(o311_pool, body.body_id))["o-1"]

    def update(update_id: str, days_ago: float, status: str, description: str) -> dict[str, Any]:
        return {
            "update_id": update_id,
            "service_request_id": "o-1",
            "status": status,
            "updated_datetime": at(days_ago),
            "description": description,
        }

    state.updates = [update("late-1", 2, "open", "Crew on site")]  # before the close the import showed
    stale = await poller.poll_updates(body)
    assert (stale.applied, stale.status_changes, stale.notes) == (1, 0, 0)
    state.updates.append(update("now-1", 0.01, "open", "Came back: reopened"))
    fresh = await poller.poll_updates(body)
    assert (fresh.applied, fresh.status_changes, fresh.duplicates) == (1, 1, 1)

    events = await read_events(kafka_bootstrap, o311_topics, request_id=number)
    received = [e.payload.update_id for e in events if e.type == BackendUpdateReceived.event_type]
    assert received == ["late-1", "now-1"]  # the late one is on the record all the same
    changes = [
        (e.payload.previous_status, e.payload.status) for e in events if e.type == StatusChanged.event_type
    ]
    assert changes == [("open", "closed"), ("closed", "open")]
