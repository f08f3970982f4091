"""`civicloop-projections rebuild` empties the tables and replays the log into identical rows."""

from __future__ import annotations

import asyncio
import sys

import pytest
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CategorySla,
    ExternalReferenceAssigned,
    OpeningHours,
    RequestImported,
    Routed,
    SendFailed,
    SentToBackend,
    SlaDefined,
    Weekday,
)
from civicloop_projections.adapters import tables
from civicloop_testing.events import publish_events
from civicloop_testing.geo_events import geo_event, location_resolved, public_place_at
from civicloop_testing.legacy_events import submitted_v1
from projection_events import (
    SYSTEM,
    area_defined,
    assigned,
    at,
    category_changed,
    closed_with_reason,
    comment,
    commented,
    new_jurisdiction,
    new_number,
    on_request,
    outbound,
    priority_changed,
    reopened,
    service_defined,
    square,
    status_changed,
    submitted,
    visit_cancelled,
    visit_rescheduled,
    visit_scheduled,
)
from projection_harness import (
    agent_caught_up,
    catalogue_caught_up,
    caught_up,
    consumers_running,
    env_for,
    settings_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(fresh_migrated_dsn, fresh_topics, kafka_bootstrap):
    """A database of the test's own: a rebuild empties every projection table."""
    return settings_for(fresh_migrated_dsn, fresh_topics, kafka_bootstrap)


def sla_defined(jurisdiction: str, pothole_ack_minutes: int):
    payload = SlaDefined(
        time_zone="America/Los_Angeles",
        opening_hours=[OpeningHours(day=day, opens="08:00", closes="17:00") for day in Weekday],
        categories=[CategorySla(service_code="pothole", acknowledge_within_minutes=pothole_ack_minutes)],
    )
    return on_request(payload, None, jurisdiction, SYSTEM, "admin", -10)


async def run_cli(settings, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "civicloop_projections.entrypoints.cli",
        *args,
        env=env_for(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode(), err.decode()


async def publish_history(kafka_bootstrap, topics, request_producer) -> tuple[list, list]:
    j = new_jurisdiction()
    configuration = [
        service_defined(j, "pothole", "Pothole"),
        area_defined(j, "west", square(-118.4, 34.0, 0.1)),
        area_defined(j, "east", square(-118.3, 34.0, 0.1)),
        area_defined(j, "east", square(-118.3, 34.0, 0.2)),  # a second version
        service_defined(j, "pothole", "Pothole (renamed)"),
        sla_defined(j, 60),
        sla_defined(j, 240),  # the latest replaces the first, and recomputes the requests folded meanwhile
    ]
    config = await publish_events(kafka_bootstrap, topics.jurisdiction_config, configuration)
    events = []
    for i in range(12):
        number = new_number()
        events += [
            submitted(number, j, lat=34.01 + i / 100, long=-118.39 + i / 50, minutes=i),
            status_changed(number, j, "acknowledged", minutes=i + 5),
            comment(number, j, minutes=i + 6),
        ]
        if i % 3 == 1:  # staff's work: every kind of it, each replayed into the same row
            events += [
                assigned(number, j, team=f"team-{i % 2}", staff_id=f"staff-{i}", minutes=i + 6),
                commented(number, j, "internal note", "internal", minutes=i + 7),
                visit_scheduled(number, j, "v1", 600, minutes=i + 7),
                visit_rescheduled(number, j, "v1", 600, 700, minutes=i + 7),
                visit_scheduled(number, j, "v2", 800, minutes=i + 7),
                visit_cancelled(number, j, "v2", 800, minutes=i + 7),
                priority_changed(number, j, "high", minutes=i + 8),
                category_changed(number, j, "sidewalk", "pothole", minutes=i + 8),
                category_changed(number, j, "pothole", "sidewalk", minutes=i + 8),  # back: still a pothole
                closed_with_reason(number, j, "not_ours", referred_to="State DOT", minutes=i + 8),
                reopened(number, j, "closed_in_error", minutes=i + 8),
            ]
        if i % 3 == 0:
            events.append(status_changed(number, j, "closed", minutes=i + 9))
        if i % 2 == 0:
            events += [
                outbound(
                    number,
                    j,
                    Routed(
                        body_id="streets",
                        team=f"crew {i % 4}",
                        priority="high" if i % 4 else "low",
                        analysis_codes=[f"A{i}"],
                    ),
                    minutes=i + 1,
                ),
                outbound(
                    number,
                    j,
                    SendFailed(
                        body_id="streets",
                        method="open311",
                        attempt=1,
                        error="timeout",
                        retry_at=at(i + 3) if i % 4 else None,
                    ),
                    minutes=i + 2,
                ),
            ]
            if i % 4:
                events += [
                    outbound(
                        number,
                        j,
                        SentToBackend(body_id="streets", method="open311", attempt=2),
                        minutes=i + 3,
                    ),
                    outbound(
                        number,
                        j,
                        ExternalReferenceAssigned(body_id="streets", external_id=f"SR-{i}"),
                        minutes=i + 4,
                    ),
                ]
    imported = new_number()
    events += [
        outbound(
            imported,
            j,
            RequestImported(
                body_id="parks",
                external_id="WO-1",
                backend_service_code="T",
                agency_responsible="Parks Department",
                location_flag="outside the body's area: the point is not used",
            ),
            minutes=20,
        ),
        submitted(imported, j, minutes=20),
        # The back-end names another agency later; geo places it (neither is lost or changed by a rebuild).
        outbound(
            imported,
            j,
            BackendUpdateReceived(
                body_id="parks",
                external_id="WO-1",
                update_id="WO-1-u1",
                backend_status="open",
                updated_at=at(25),
                agency_responsible="Urban Forestry",
            ),
            minutes=25,
        ),
        geo_event(
            location_resolved(34.05, -118.25, "200 N Spring St", public=public_place_at(34.05, -118.25)),
            request_id=imported,
            jurisdiction_id=j,
            occurred_at=at(90),
        ),
    ]
    orphan = status_changed(new_number(), j, "closed")
    v1 = submitted_v1(new_number(), jurisdiction_id=j, service_code="graffiti", lat=34.05, long=-118.25)
    events += [orphan, v1, v1]  # the last one is a re-publication of the same event
    requests = [await request_producer.publish(e) for e in events]
    return config, requests


async def test_rebuild_from_zero_yields_identical_rows(
    projections, request_producer, kafka_bootstrap, fresh_topics
):
    config, requests = await publish_history(kafka_bootstrap, fresh_topics, request_producer)
    async with consumers_running(projections):
        await catalogue_caught_up(projections, config)
        await agent_caught_up(projections, requests)
        await caught_up(projections, projections.settings.sla_definitions_consumer_name, config)
        await caught_up(projections, projections.settings.sla_consumer_name, requests)
        await caught_up(projections, projections.settings.public_consumer_name, requests)
        await caught_up(projections, projections.settings.request_index_consumer_name, requests)
    async with projections.pool.connection() as conn:
        before = await tables.dump(conn)
        hash_before = await tables.content_hash(conn)
        counts = await tables.row_counts(conn)
        cur = await conn.execute(
            "select count(*) from projections.request_sla"
            " where acknowledge_minutes = 240 and acknowledge_due_at is not null"
        )
        (with_deadlines,) = await cur.fetchone()
    assert with_deadlines == 13  # every pothole, by the latest definition (the graffiti has no target)
    async with projections.pool.connection() as conn:
        # Damage the read model: the rebuild must not start from what is there.
        await conn.execute(
            "update projections.agent_requests set status = 'bogus', service_area_id = null,"
            " delivery_state = 'sent', external_references = '[]', imported_from = null, assignee = null,"
            " visits = '[]', status_reason = null, reopen_count = 0, internal_comments = 0, last_activity_at = null"
        )
        await conn.execute(
            "delete from projections.agent_request_history where type = 'request.comment.added'"
        )
        await conn.execute("update projections.request_sla set acknowledge_due_at = null")
        await conn.execute("delete from projections.sla_definitions")
        await conn.execute("delete from projections.request_log_index where kafka_offset % 2 = 0")
    assert counts == {
        "agent_requests": 14,
        "agent_request_history": len(requests) - 1,
        "services": 1,
        "service_areas": 3,
        "sla_definitions": 1,
        "request_sla": 14,  # the requests submitted (not the orphan's status change)
        "public_requests": 14,
        # every event of the request topic, the orphan's included, the re-published one once
        "request_log_index": len(requests) - 1,
    }

    code, out, err = await run_cli(projections.settings, "rebuild")
    assert code == 0, err
    for table, count in counts.items():
        assert f"projections.{table}" in out and str(count) in out

    # The command prints the content hash of what it built: the live consumers' read model's, before the damage.
    assert f"content-sha256 projections {hash_before.combined}" in out
    for table, digest in hash_before.tables.items():
        assert f"content-sha256 projections.{table} {digest}" in out

    async with projections.pool.connection() as conn:
        after = await tables.dump(conn)
        assert await tables.content_hash(conn) == hash_before
        cur = await conn.execute(
            "select count(*) from projections.agent_requests"
            " where delivery_state is not null or imported_from is not null"
        )
        (with_delivery,) = await cur.fetchone()
        cur = await conn.execute(
            "select count(*) from projections.agent_requests where assignee is not null and reopen_count = 1"
            " and jsonb_array_length(visits) = 2"
        )
        (worked,) = await cur.fetchone()
    assert after == before
    assert (with_delivery, worked) == (7, 4)
    assert any('"agency_responsible": "Urban Forestry"' in row for row in after["agent_requests"])


async def test_rebuild_refuses_while_the_consumers_run(projections, request_producer):
    position = await request_producer.publish(submitted(new_number(), new_jurisdiction()))
    async with consumers_running(projections):
        await agent_caught_up(projections, [position])
        code, _, err = await run_cli(projections.settings, "rebuild")
    assert code == 1
    assert "stop them before rebuilding" in err
    async with projections.pool.connection() as conn:
        assert (await tables.row_counts(conn))["agent_requests"] >= 1  # nothing was reset
