"""`civicloop-gateway rebuild` empties the Open311 view and replays the log into the rows the live consumers built."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from civicloop_events import Location, ServiceDefined, ServiceRequestSubmitted, StatusChanged
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    CommentVisibility,
    LocationMethod,
    LocationResolved,
    PartnerAuthorised,
    PartnerKeyRevoked,
    RequestImported,
    RequestStatus,
)
from civicloop_events.request_numbers import new_request_number
from civicloop_gateway.adapters import view_tables
from civicloop_gateway.bootstrap import Gateway, bootstrap, view_consumer_specs
from civicloop_gateway.settings import SCHEMA
from civicloop_places import public_place
from civicloop_runtime.consumers import ServiceConsumers
from civicloop_testing import create_database, drop_database
from civicloop_testing.events import config_event, publish_events, request_event
from civicloop_testing.polling import eventually
from read_harness import AGENT, caught_up, migrate, run_cli, settings_for, unique_jurisdiction

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RESOLUTION = 8


@pytest.fixture
def settings(pg_admin_dsn, fresh_topics, kafka_bootstrap):
    """A database of the test's own (a rebuild empties the view); live batches of a few events, so the live view
    and the rebuilt one are folded in different batches."""
    dsn = migrate(create_database(pg_admin_dsn))
    yield settings_for(
        dsn, fresh_topics, kafka_bootstrap, public_h3_resolution=RESOLUTION, consumer_batch_max_records=4
    )
    drop_database(pg_admin_dsn, dsn)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _history(j: str) -> tuple[list[Any], list[Any]]:
    """Configuration and request events with every kind the view folds, and some it ignores."""

    def admin(payload: Any, minutes: float) -> Any:
        return config_event(payload, jurisdiction_id=j, occurred_at=_at(minutes))

    config = [
        admin(ServiceDefined(service_code="POTHOLE", service_name="Pothole"), 0),
        admin(ServiceDefined(service_code="LIGHT", service_name="Streetlight"), 0),
        admin(PartnerAuthorised(client_id="fms", name="FixMyStreet", key_id="k1", key_sha256="a" * 64), 1),
        admin(PartnerAuthorised(client_id="old", name="Old app", key_id="k0", key_sha256="b" * 64), 1),
        admin(PartnerKeyRevoked(client_id="old", key_id="k0"), 2),
        admin(ServiceDefined(service_code="POTHOLE", service_name="Pothole (renamed)"), 90),
    ]
    events = []
    for i in range(30):
        number = new_request_number()

        def on(payload: Any, minutes: float, number: str = number) -> Any:
            return request_event(
                payload,
                request_id=number,
                actor=AGENT,
                source="web",
                jurisdiction_id=j,
                occurred_at=_at(minutes),
            )

        lat, long = 38.9 + i / 100, -77.0 - i / 100
        point = Location(lat=lat, long=long, address_string=f"{i} Main St", address_id=f"A-{i}")
        by_address = Location(address_string=f"{i} Elm St")
        code = ("POTHOLE", "LIGHT", "UNDEFINED")[i % 3]
        if i % 5 == 0:  # imported from a back-end: its import precedes the submission, maybe in another batch
            imported = RequestImported(
                body_id="dpw",
                external_id=f"W-{i}",
                backend_service_code="7",
                agency_responsible=f"Agency {i}",
            )
            events.append(on(imported, i))
        submitted = on(
            ServiceRequestSubmitted(service_code=code, description=f"report {i}", location=point), i
        )
        events.append(submitted)
        if i % 4 == 0:
            events.append(
                on(ServiceRequestSubmitted(service_code=code, description="again", location=by_address), i)
            )
        events.append(on(StatusChanged(status=RequestStatus.acknowledged, public_note="Seen"), i + 1))
        public = CommentAdded(
            text=f"crew {i}", visibility=CommentVisibility.public, media_urls=["https://i.example/c"]
        )
        comment = on(public, i + 2)
        events += [comment, comment]  # published twice: applied once
        events.append(on(CommentAdded(text="internal", visibility=CommentVisibility.internal), i + 3))
        if i % 2:
            moved = public_place(lat + 0.01, long, f"{i} Oak St", resolution=RESOLUTION)
            resolved = LocationResolved(
                lat=lat + 0.01,
                long=long,
                address=f"{i} Oak St",
                method=LocationMethod.geocoded,
                provider="gazetteer",
                confidence=0.9,
                inside_jurisdiction=True,
                public=moved,
            )
            events.append(on(resolved, i + 4))
        if i % 10 == 0:
            renamed = BackendUpdateReceived(
                body_id="dpw",
                external_id=f"W-{i}",
                update_id=f"W-{i}-1",
                backend_status="open",
                updated_at=_at(i + 4.5),
                agency_responsible=f"Agency {i} (new)",
            )
            events.append(on(renamed, i + 4.5))
        if i % 3 == 0:
            events.append(on(StatusChanged(status=RequestStatus.closed, public_note="Done"), i + 5))
            events.append(on(CommentAdded(text="after", visibility=CommentVisibility.public), i + 6))
    events.append(
        request_event(
            StatusChanged(status=RequestStatus.closed),
            request_id=new_request_number(),
            actor=AGENT,
            source="web",
            jurisdiction_id=j,
        )
    )  # a request the view never saw: its update is still recorded
    return config, events


async def _live_view(settings, kafka_bootstrap) -> tuple[Gateway, list[Any], list[Any]]:
    """The gateway with its consumers running, caught up with the published history."""
    config, events = _history(unique_jurisdiction("springfield"))
    config_positions = await publish_events(kafka_bootstrap, settings.topics.jurisdiction_config, config)
    request_positions = await publish_events(kafka_bootstrap, settings.topics.request_events, events)
    gateway = await bootstrap(settings)
    await caught_up(gateway, settings.config_consumer_group, config_positions)
    await caught_up(gateway, settings.request_consumer_group, request_positions)
    return gateway, config_positions, request_positions


async def test_a_rebuilt_view_equals_the_view_the_live_consumers_built(settings, kafka_bootstrap):
    gateway, config_positions, request_positions = await _live_view(settings, kafka_bootstrap)
    try:
        async with gateway.pool.connection() as conn:
            live = await view_tables.dump(conn)
            live_hash = await view_tables.content_hash(conn)
            counts = await view_tables.row_counts(conn)
    finally:
        await gateway.close()
    assert counts == {
        "requests": 30,
        "request_updates": 30 * 2 + 10 * 2 + 1,
        "imported_requests": 6,  # kept until the submission: every import in this log precedes its row
        "services": 2,
        "jurisdictions": 1,
        "partners": 2,
    }
    async with await psycopg.AsyncConnection.connect(settings.pg_dsn, autocommit=True) as conn:
        # Damage the view: the rebuild must not start from what is there.
        await conn.execute(
            "update gateway.requests set status = 'closed', service_name = null, location = null, lat = null, long = null, h3_cell = null"
        )
        await conn.execute("delete from gateway.request_updates where status = 'closed'")

    code, out, err = await run_cli(settings, "rebuild")
    assert code == 0, err
    for table, count in counts.items():
        assert f"gateway.{table}" in out and str(count) in out
    assert f"{len(config_positions) + len(request_positions)} records replayed" in out
    # The command prints the content hash of what it built: the live consumers' view's, before the damage.
    assert f"content-sha256 gateway {live_hash.combined}" in out

    async with await psycopg.AsyncConnection.connect(settings.pg_dsn, autocommit=True) as conn:
        rebuilt = await view_tables.dump(conn)
        assert await view_tables.content_hash(conn) == live_hash
    assert rebuilt == live
    renamed = [r for r in rebuilt["requests"] if '"service_code": "POTHOLE"' in r]
    assert renamed and all('"service_name": "Pothole (renamed)"' in r for r in renamed)
    agencies = sorted(r.split('"agency_responsible": ')[1].split(",")[0] for r in rebuilt["requests"])
    assert agencies[:6] == [f'"Agency {i}{" (new)" if i % 10 == 0 else ""}"' for i in (0, 10, 15, 20, 25, 5)]


async def test_the_rebuild_refuses_while_the_consumers_run(settings, kafka_bootstrap):
    gateway, _, _ = await _live_view(settings, kafka_bootstrap)
    try:
        code, _, err = await run_cli(settings, "rebuild")
        async with gateway.pool.connection() as conn:
            counts = await view_tables.row_counts(conn)
    finally:
        await gateway.close()
    assert code == 1
    assert "stop them before rebuilding" in err
    assert counts["requests"] == 30  # nothing was reset


async def _inbox_count(pool, consumer: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("select count(*) from gateway.inbox where consumer = %s", (consumer,))
        row = await cur.fetchone()
    return row[0]


@pytest.mark.faults
async def test_a_request_consumer_cancelled_mid_batch_and_restarted_builds_the_view_a_rebuild_builds(
    settings, kafka_bootstrap
):
    config, events = _history(unique_jurisdiction("springfield"))
    config_positions = await publish_events(kafka_bootstrap, settings.topics.jurisdiction_config, config)
    positions = await publish_events(kafka_bootstrap, settings.topics.request_events, events)
    distinct = len({e.event_id for e in events})
    consumer = settings.request_consumer_group
    gateway = await bootstrap(settings, start_consumers=False)
    try:
        consumers = ServiceConsumers(
            settings,
            pool=gateway.pool,
            schema=SCHEMA,
            dead_letters=gateway.producer,
            specs=view_consumer_specs(settings),
        )
        config_runner = consumers.runner(settings.config_consumer_group)
        await config_runner.start()
        config_task = asyncio.create_task(config_runner.run())
        killed_at = []
        for threshold in (10, 40, 80, 120):
            runner = consumers.runner(consumer)
            await runner.start()
            task = asyncio.create_task(runner.run())

            async def applied(threshold: int = threshold) -> bool:
                return await _inbox_count(gateway.pool, consumer) >= threshold

            await eventually(applied, what=f"{threshold} events applied")
            task.cancel()  # wherever it is: mid-batch, between the commit and the Kafka commit, in a poll
            await asyncio.gather(task, return_exceptions=True)
            killed_at.append(await _inbox_count(gateway.pool, consumer))
            await runner.stop()
        assert all(0 < n < distinct for n in killed_at), killed_at
        runner = consumers.runner(consumer)
        await runner.start()
        task = asyncio.create_task(runner.run())
        await caught_up(gateway, consumer, positions)
        # The catalogue too (a service renamed renames its requests): the rebuild compared with folds both.
        await caught_up(gateway, settings.config_consumer_group, config_positions)
        task.cancel()
        config_task.cancel()
        await asyncio.gather(task, config_task, return_exceptions=True)
        await runner.stop()
        await config_runner.stop()
        assert await _inbox_count(gateway.pool, consumer) == distinct
        async with gateway.pool.connection() as conn:
            resumed = await view_tables.dump(conn)
    finally:
        await gateway.close()

    code, _, err = await run_cli(settings, "rebuild")
    assert code == 0, err
    async with await psycopg.AsyncConnection.connect(settings.pg_dsn, autocommit=True) as conn:
        rebuilt = await view_tables.dump(conn)
    differing = {
        table: [(a, b) for a, b in zip(resumed[table], rebuilt.get(table, []), strict=False) if a != b]
        for table in resumed
    }
    assert rebuilt == resumed, {table: rows for table, rows in differing.items() if rows}
