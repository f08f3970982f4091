"""Agents' work through Open311 end to end: an agent's events (as intake's commands publish them) on the real broker,
folded by the gateway's own consumers into PostGIS, read back by the real app in XML and JSON; and a rebuild from the
log gives the same rows (SR-03, SR-04, SR-05, SR-10, FX-01, ST-01, ST-02, SR-21)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from civicloop_events import Location, ServiceDefined, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    CategoryChanged,
    CommentAdded,
    CommentVisibility,
    Priority,
    PriorityChanged,
    RequestAssigned,
    RequestStatus,
    VisitCancelled,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_events.request_numbers import new_request_number
from civicloop_gateway.adapters import view_tables
from civicloop_gateway.bootstrap import bootstrap
from civicloop_gateway.domain.work_notes import VISIT_CANCELLED, VISIT_RESCHEDULED, VISIT_SCHEDULED
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import agent_event, config_event, publish_events, request_event
from civicloop_testing.open311_reading import FORMATS, leaf_text, read
from read_harness import AGENT, caught_up, migrate, run_cli, running_app, settings_for, unique_jurisdiction

pytestmark = pytest.mark.integration

BASE = "/open311/v2"
NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(days=3)
STAFF = "agent-42"
# What staff keep to themselves, or a resident's place: none of it may appear in any Open311 answer.
PRIVATE = (
    "caller was rude",
    "give it to the night crew",
    "councillor asked",
    "staff-only category note",
    "14 Private Lane",
    "roads-night",
    STAFF,
)
VISIT_AT = NOW + timedelta(days=2)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _history(j: str) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
    """The catalogue, then a request worked through every command, one closed as not ours and one closed by a
    back-end: (config events, request events by name, request numbers by name)."""
    worked, referred, by_backend = (new_request_number() for _ in range(3))

    def on(number: str, payload: Any, minutes: float) -> Any:
        return agent_event(
            payload, request_id=number, agent=STAFF, jurisdiction_id=j, occurred_at=_at(minutes)
        )

    def submitted(number: str, code: str) -> Any:
        payload = ServiceRequestSubmitted(
            service_code=code,
            description="Hole by the school",
            location=Location(lat=38.8895, long=-77.0353, address_string="14 Private Lane"),
        )
        return request_event(
            payload, request_id=number, actor=AGENT, source="web", jurisdiction_id=j, occurred_at=_at(0)
        )

    visit = VisitScheduled(
        visit_id="v1",
        starts_at=VISIT_AT,
        duration_minutes=60,
        address="14 Private Lane",
        public_note="A crew will visit 14 Private Lane.",
    )
    events = {
        "submitted": submitted(worked, "POTHOLE"),
        "ack": on(
            worked, StatusChanged(status=RequestStatus.acknowledged, public_note="We have seen it"), 10
        ),
        "assigned": on(worked, RequestAssigned(team_id="roads-night", note="give it to the night crew"), 11),
        "priority": on(worked, PriorityChanged(priority=Priority.high, note="councillor asked"), 12),
        "internal": on(
            worked, CommentAdded(text="caller was rude", visibility=CommentVisibility.internal), 13
        ),
        "public": on(
            worked, CommentAdded(text="Crew booked for this week", visibility=CommentVisibility.public), 14
        ),
        "visit": on(worked, visit, 15),
        "moved": on(
            worked,
            VisitRescheduled(
                visit_id="v1",
                starts_at=VISIT_AT + timedelta(hours=3),
                duration_minutes=60,
                previous_starts_at=VISIT_AT,
                address="14 Private Lane",
            ),
            16,
        ),
        "category": on(
            worked,
            CategoryChanged(
                service_code="SINKHOLE", previous_service_code="POTHOLE", note="staff-only category note"
            ),
            17,
        ),
        "in_progress": on(worked, StatusChanged(status=RequestStatus.in_progress), 18),
        "cancelled": on(worked, VisitCancelled(visit_id="v1", starts_at=VISIT_AT + timedelta(hours=3)), 19),
        "closed": on(worked, StatusChanged(status=RequestStatus.closed, reason="fixed"), 20),
        "after_close": on(
            worked, CommentAdded(text="Thanks for reporting", visibility=CommentVisibility.public), 25
        ),
        "reopened": on(worked, StatusChanged(status=RequestStatus.open, reason="recurred"), 30),
        "referred_submitted": submitted(referred, "POTHOLE"),
        "referred": on(
            referred,
            StatusChanged(status=RequestStatus.closed, reason="not_ours", referred_to="State DOT"),
            40,
        ),
        "backend_submitted": submitted(by_backend, "POTHOLE"),
        "backend_closed": request_event(
            StatusChanged(status=RequestStatus.closed, public_note="Repaired", external_status_code="DONE"),
            request_id=by_backend,
            actor=AGENT,
            source="backend:dpw",
            jurisdiction_id=j,
            occurred_at=_at(50),
        ),
    }
    config = [
        config_event(ServiceDefined(service_code=c, service_name=n), jurisdiction_id=j, occurred_at=_at(-60))
        for c, n in (("POTHOLE", "Pothole"), ("SINKHOLE", "Sinkhole"))
    ]
    return config, events, {"worked": worked, "referred": referred, "backend": by_backend}


async def _published(settings: Any, config: list[Any], events: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    bootstrap_servers = settings.kafka_bootstrap
    config_positions = await publish_events(bootstrap_servers, settings.topics.jurisdiction_config, config)
    positions = await publish_events(bootstrap_servers, settings.topics.request_events, list(events.values()))
    return config_positions, positions


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(database_dsn: str, kafka_bootstrap: str):
    """The history folded live by the real app's consumers (live batches of three events)."""
    topics = await make_topics(kafka_bootstrap)
    settings = settings_for(migrate(database_dsn), topics, kafka_bootstrap, consumer_batch_max_records=3)
    j = unique_jurisdiction("springfield")
    config, events, ids = _history(j)
    async with running_app(settings) as (app, client):
        config_positions, positions = await _published(settings, config, events)
        await caught_up(app.state.service, settings.config_consumer_group, config_positions)
        await caught_up(app.state.service, settings.request_consumer_group, positions)
        yield {"client": client, "j": j, "ids": ids, "events": events}


async def _requests(world: dict[str, Any], fmt: str, number: str) -> dict[str, Any]:
    r = await world["client"].get(f"{BASE}/requests/{number}.{fmt}", params={"jurisdiction_id": world["j"]})
    assert r.status_code == 200, r.text
    assert not [p for p in PRIVATE if p in r.text]
    [request] = read(r, fmt, root="service_requests")
    return leaf_text(request)


async def _updates(world: dict[str, Any], fmt: str) -> list[dict[str, Any]]:
    r = await world["client"].get(
        f"{BASE}/servicerequestupdates.{fmt}",
        params={
            "jurisdiction_id": world["j"],
            "start_date": (T0 - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_date": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    assert r.status_code == 200, r.text
    assert not [p for p in PRIVATE if p in r.text]
    assert VISIT_AT.strftime("%Y-%m-%d") not in r.text  # a visit's time is not said
    return leaf_text(read(r, fmt, root="service_request_updates"))


def _w3c(minutes: float) -> str:
    return _at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("fmt", FORMATS)
async def test_SR_03_SR_10_get_requests_shows_the_agent_s_status_note_and_last_public_change(world, fmt):
    worked = await _requests(world, fmt, world["ids"]["worked"])
    assert (worked["status"], worked["status_notes"]) == ("open", "Reopened: the problem came back")
    assert (worked["service_code"], worked["service_name"]) == ("SINKHOLE", "Sinkhole")
    assert worked["updated_datetime"] == _w3c(30)
    referred = await _requests(world, fmt, world["ids"]["referred"])
    assert (referred["status"], referred["status_notes"]) == ("closed", "Not ours: referred to State DOT")
    assert referred["updated_datetime"] == _w3c(40)  # SR-10: the close time
    backend = await _requests(world, fmt, world["ids"]["backend"])
    assert (backend["status"], backend["status_notes"], backend["updated_datetime"]) == (
        "closed",
        "Repaired",
        _w3c(50),
    )


@pytest.mark.parametrize("fmt", FORMATS)
async def test_FX_01_each_public_change_is_an_update_and_nothing_staff_keep_to_themselves(world, fmt):
    events = world["events"]
    updates = await _updates(world, fmt)
    worked = [u for u in updates if u["service_request_id"] == world["ids"]["worked"]]
    expected = [
        ("ack", "investigating", "We have seen it"),
        ("public", "investigating", "Crew booked for this week"),
        ("visit", "investigating", VISIT_SCHEDULED),
        ("moved", "investigating", VISIT_RESCHEDULED),
        ("category", "investigating", ""),
        ("in_progress", "in_progress", ""),
        ("cancelled", "in_progress", VISIT_CANCELLED),
        ("closed", "fixed", "Fixed"),
        ("after_close", "closed", "Thanks for reporting"),
        ("reopened", "reopen", "Reopened: the problem came back"),
    ]
    assert [(u["update_id"], u["status"], u["description"] or "") for u in worked] == [
        (str(events[name].event_id), status, text) for name, status, text in expected
    ]
    for name in ("assigned", "priority", "internal"):
        assert str(events[name].event_id) not in {u["update_id"] for u in updates}
    [referred] = [u for u in updates if u["service_request_id"] == world["ids"]["referred"]]
    assert (referred["status"], referred["description"]) == (
        "not_councils_responsibility",
        "Not ours: referred to State DOT",
    )
    [backend] = [u for u in updates if u["service_request_id"] == world["ids"]["backend"]]
    assert (backend["status"], backend["external_status_code"]) == ("closed", "DONE")


async def test_ST_01_the_status_filter_sees_an_agent_s_statuses_as_open_or_closed(world):
    client, j = world["client"], world["j"]
    window = {"start_date": _w3c(-1), "end_date": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")}
    by_status = {}
    for status in ("open", "closed"):
        r = await client.get(
            f"{BASE}/requests.json", params={"jurisdiction_id": j, "status": status, **window}
        )
        by_status[status] = sorted(x["service_request_id"] for x in r.json())
    ids = world["ids"]
    assert by_status == {"open": [ids["worked"]], "closed": sorted([ids["referred"], ids["backend"]])}


async def test_a_rebuild_from_the_log_gives_the_rows_the_live_fold_built(
    pg_admin_dsn, fresh_topics, kafka_bootstrap
):
    """A database of the test's own (a rebuild empties the view); the live consumers fold batches of two."""
    dsn = migrate(create_database(pg_admin_dsn))
    try:
        settings = settings_for(dsn, fresh_topics, kafka_bootstrap, consumer_batch_max_records=2)
        config, events, ids = _history(unique_jurisdiction("springfield"))
        config_positions, positions = await _published(settings, config, events)
        gateway = await bootstrap(settings)
        try:
            await caught_up(gateway, settings.config_consumer_group, config_positions)
            await caught_up(gateway, settings.request_consumer_group, positions)
            async with gateway.pool.connection() as conn:
                live = await view_tables.dump(conn)
        finally:
            await gateway.close()
        code, _, err = await run_cli(settings, "rebuild")
        assert code == 0, err
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            rebuilt = await view_tables.dump(conn)
        assert rebuilt == live
        [worked] = [r for r in rebuilt["requests"] if ids["worked"] in r]
        assert "Reopened: the problem came back" in worked and '"service_code": "SINKHOLE"' in worked
        assert len([u for u in rebuilt["request_updates"] if ids["worked"] in u]) == 10
    finally:
        drop_database(pg_admin_dsn, dsn)
