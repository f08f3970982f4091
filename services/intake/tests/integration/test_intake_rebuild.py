"""`civicloop-intake rebuild` on the real broker and PostgreSQL: intake's read models replayed from the log equal what
its live consumers built (the same content hashes, the same row counts), its write side is left as it was, and it
refuses while intake runs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from civicloop_events import Actor, ServiceDefined
from civicloop_events.consumer import read_positions
from civicloop_events.payloads import CategorySla, OpeningHours, SlaDefined, Weekday
from civicloop_events.payloads.staff import StaffRolesChanged
from civicloop_events.producer import EventProducer
from civicloop_events.topics import Topics, partition_extents
from civicloop_intake import database
from civicloop_intake.adapters import read_models
from civicloop_intake.bootstrap import consumer_specs
from civicloop_intake.entrypoints.rebuild import rebuild
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_runtime.content_hash import ReadModelHash, read_model_hash_at
from civicloop_runtime.exit_archive import export, load
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import request_event
from civicloop_testing.geo_events import location_resolved, public_place_at
from civicloop_testing.polling import eventually
from civicloop_testing.processes import script
from civicloop_testing.run_settings import cli_env
from civicloop_testing.staff_tokens import staff_headers
from intake_harness import SERVICES, Harness, intake_settings, running
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration

AGENT_ID = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000b015")
OTHER_ID = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000b016")
LEAVER_ID = uuid.UUID("0193a1c2-7d4e-7000-8000-00000000b017")
AGENT = staff_headers(AGENT_ID)
ADMIN = Actor(kind="system", id="staff-cli:tests")


@pytest.fixture
def fresh_intake_dsn(fresh_database_dsn: str) -> str:
    """A database of the test's own: a rebuild empties every read model of the schema."""
    database.migrate(IntakeSettings(env=Environment.test, pg_dsn=fresh_database_dsn).sqlalchemy_url)
    return fresh_database_dsn


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_pool(fresh_intake_dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    async with AsyncConnectionPool(
        fresh_intake_dsn, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    ) as pool:
        yield pool


async def run_cli(settings: IntakeSettings, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        script("civicloop-intake"),
        *args,
        env=cli_env(settings, PATH="/usr/bin:/bin", CIVICLOOP_LOG_LEVEL="WARNING"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def every_consumer_caught_up(settings: IntakeSettings) -> None:
    """Each of intake's consumers has applied its topic up to where the log ends now."""
    specs = consumer_specs(settings)
    ends = {spec.topic: await partition_extents(settings.kafka_bootstrap, spec.topic) for spec in specs}

    async def caught_up() -> bool:
        async with await psycopg.AsyncConnection.connect(settings.pg_dsn) as conn:
            for spec in specs:
                done = await read_positions(conn, "intake", spec.name, spec.topic)
                if any(done.get(p, start) < end for p, (start, end) in ends[spec.topic].items()):
                    return False
        return True

    await eventually(caught_up, timeout=60, what="intake's consumers applied the whole log", interval=0.1)


async def act(intake: Harness, number: str, path: str, body: dict) -> None:
    r = await intake.client.post(f"/api/v1/agent/requests/{number}/{path}", json=body, headers=AGENT)
    assert r.status_code == 201, (path, r.text)


async def publish_config(intake: Harness, *payloads) -> None:
    for payload in payloads:
        event = request_event(payload, request_id=None, actor=ADMIN, source="admin", jurisdiction_id="demo")
        await intake.producer.publish(event, topic=intake.topics.jurisdiction_config)


def sla(ack_minutes: int) -> SlaDefined:
    return SlaDefined(
        time_zone="America/New_York",
        opening_hours=[OpeningHours(day=day, opens="08:00", closes="17:00") for day in Weekday],
        categories=[CategorySla(service_code="pothole", acknowledge_within_minutes=ack_minutes)],
    )


async def build_world(intake: Harness) -> None:
    """Every read model gets rows, some of them changed by later events: services redefined, staff whose roles
    change and one who leaves, two SLA definitions, reports worked by an agent, placed by geo, merged."""
    await publish_config(intake, *SERVICES)
    await intake.staff(
        teams={"streets": True, "parks": False},
        members={
            AGENT_ID: (("agent",), ("streets",)),
            OTHER_ID: (("agent",), ("parks",)),
            LEAVER_ID: (("agent",), ()),
        },
        disabled=(LEAVER_ID,),
    )
    await publish_config(
        intake,
        StaffRolesChanged(staff_id=OTHER_ID, roles=["agent", "supervisor"]),
        ServiceDefined(service_code="pothole", service_name="Pothole (road)"),
        sla(480),
        sla(240),  # the latest replaces the first
    )
    # A submission is checked against the folded catalogue: wait for it rather than race its consumer.
    await every_consumer_caught_up(intake.settings)
    numbers = [
        await intake.submit(
            f"Hole number {i}", address=f"{10 + i} Main St", contact={"phone": f"(202) 555-01{i:02}"}
        )
        for i in range(5)
    ]
    # Agents act on what the views hold: wait for them rather than for a read-your-writes window on a busy machine.
    await every_consumer_caught_up(intake.settings)
    worked, merged, original, placed = numbers[:4]
    visit_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    for path, body in [
        ("acknowledge", {"template_id": "ack-default"}),
        ("assign", {"team_id": "streets", "staff_id": str(AGENT_ID)}),
        ("comments", {"text": "A crew comes this week.", "visibility": "public"}),
        ("comments", {"text": "Internal only", "visibility": "internal"}),
        ("visits", {"starts_at": visit_at.isoformat(), "duration_minutes": 90}),
        ("priority", {"priority": "high"}),
        ("close", {"reason": "fixed", "public_note": "Filled."}),
        ("reopen", {"reason": "recurred", "public_note": "Looking again."}),
    ]:
        await act(intake, worked, path, body)
    r = await intake.client.post(
        f"/api/v1/agent/requests/{merged}/merge", json={"original": original}, headers=AGENT
    )
    assert r.status_code in (200, 201), r.text
    await intake.publish(
        location_resolved(
            38.8977,
            -77.0365,
            "1600 Pennsylvania Ave NW",
            public=public_place_at(38.8975, -77.0368, "1600 block of PENNSYLVANIA AVE NW"),
        ),
        request_id=placed,
    )


async def hashes_and_counts(dsn: str) -> tuple[ReadModelHash, dict[str, int], ReadModelHash]:
    """The read models' hash and row counts, and the write side's hash (every column)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        counts = await read_models.row_counts(conn)
        read = await read_models.content_hash(conn)
    write_side = await read_model_hash_at(dsn, "intake", [table for table, _ in read_models.WRITE_SIDE])
    return read, counts, write_side


async def test_a_rebuild_replays_intakes_read_models_into_the_same_rows_and_leaves_its_write_side(
    fresh_intake_dsn: str,
    fresh_pool: AsyncConnectionPool,
    kafka_bootstrap: str,
    fresh_topics: Topics,
    producer: EventProducer,
) -> None:
    settings = intake_settings(fresh_intake_dsn, kafka_bootstrap, fresh_topics)
    async with running(settings) as client:
        intake = Harness(client, settings, fresh_topics, producer, fresh_pool)
        await build_world(intake)
        await every_consumer_caught_up(settings)
        code, _, err = await run_cli(settings, "rebuild")  # intake runs: refused, nothing reset
        assert code == 1 and "stop intake before rebuilding" in err
    live, counts, write_side = await hashes_and_counts(fresh_intake_dsn)
    assert counts == {
        "services": 2,
        "tracking": 5,
        "worked_requests": 5,
        "staff_teams": 2,
        "staff_accounts": 3,
        "sla_definitions": 1,
    }
    async with fresh_pool.connection() as conn:
        cur = await conn.execute(
            "select (select count(*) from intake.staff_accounts where disabled is not null),"
            " (select service_name from intake.services where service_code = 'pothole'),"
            " (select definition->'categories'->0->>'acknowledge_within_minutes' from intake.sla_definitions),"
            " (select count(*) from intake.tracking where merged_into is not null),"
            " (select count(*) from intake.tracking where public_address is not null),"
            " (select count(*) from intake.worked_requests where team_id = 'streets' and priority = 'high')"
        )
        assert await cur.fetchone() == (1, "Pothole (road)", "240", 1, 1, 1)
        # Damage every read model: the rebuild must not start from what is there.
        await conn.execute("update intake.tracking set status = 'bogus', history = '[]', merged_into = null")
        await conn.execute("update intake.worked_requests set team_id = null, priority = 'low'")
        await conn.execute("delete from intake.staff_accounts")
        await conn.execute("update intake.staff_teams set active = not active")
        await conn.execute("delete from intake.sla_definitions")
        await conn.execute("update intake.services set service_name = 'bogus'")

    code, out, err = await run_cli(settings, "rebuild")
    assert code == 0, err

    rebuilt, rebuilt_counts, rebuilt_write_side = await hashes_and_counts(fresh_intake_dsn)
    assert rebuilt_counts == counts
    assert rebuilt == live
    assert rebuilt_write_side == write_side  # outboxes, credentials, codes: as they were
    # The command prints the row counts and the content hashes of what it built: the live consumers' ones.
    for table, count in counts.items():
        assert f"intake.{table}" in out and str(count) in out
    assert f"content-sha256 intake {live.combined}" in out
    for table, digest in live.tables.items():
        assert f"content-sha256 intake.{table} {digest}" in out

    # Intake serves from the rebuilt views, and its consumers take up the log where the replay left it.
    async with running(settings) as client:
        intake = Harness(client, settings, fresh_topics, producer, fresh_pool)
        number = await intake.submit(
            "After the rebuild", address="99 Main St", contact={"phone": "(202) 555-0199"}
        )
        await every_consumer_caught_up(settings)
    _, after_counts, _ = await hashes_and_counts(fresh_intake_dsn)
    assert after_counts["tracking"] == counts["tracking"] + 1, number


async def test_intakes_read_models_come_back_with_equal_hashes_from_an_exit_archive(
    fresh_intake_dsn: str,
    fresh_pool: AsyncConnectionPool,
    pg_admin_dsn: str,
    kafka_bootstrap: str,
    fresh_topics: Topics,
    producer: EventProducer,
    tmp_path: Path,
) -> None:
    settings = intake_settings(fresh_intake_dsn, kafka_bootstrap, fresh_topics)
    async with running(settings) as client:
        await build_world(Harness(client, settings, fresh_topics, producer, fresh_pool))
        await every_consumer_caught_up(settings)
    live, counts, _ = await hashes_and_counts(fresh_intake_dsn)

    archive = tmp_path / "exit"
    exported = await export(
        archive, bootstrap=kafka_bootstrap, topics=fresh_topics, dsn=fresh_intake_dsn, schemas=["intake"]
    )
    elsewhere = await make_topics(kafka_bootstrap, partitions=fresh_topics.partitions)
    assert await load(archive, bootstrap=kafka_bootstrap, topics=elsewhere) == exported.records
    dsn = create_database(pg_admin_dsn)
    try:
        database.migrate(IntakeSettings(env=Environment.test, pg_dsn=dsn).sqlalchemy_url)
        assert await rebuild(intake_settings(dsn, kafka_bootstrap, elsewhere)) == counts
        rebuilt, _, _ = await hashes_and_counts(dsn)
    finally:
        drop_database(pg_admin_dsn, dsn)
    assert rebuilt == live


async def test_every_table_of_intakes_schema_is_a_read_model_or_its_write_side(migrated_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(migrated_dsn) as conn:
        cur = await conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'intake' and table_type = 'BASE TABLE' and table_name <> 'alembic_version'"
        )
        tables = sorted(row[0] for row in await cur.fetchall())
    named = [
        *read_models.READ_MODEL_TABLES,
        *(table for table, _ in read_models.WRITE_SIDE),
        *read_models.CONSUMER_TABLES,
    ]
    assert len(named) == len(set(named))
    assert tables == sorted(named)
