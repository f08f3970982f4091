"""Migration outbound_0001 on the real PostgreSQL: a database laid out by the gateway's migrations (the outbound tables
in schema `gateway`, the outbound consumers' inbox rows and positions in `gateway.inbox` and
`gateway.consumer_positions`) is migrated; the tables and the consumers' rows move to schema `outbound`, the
outbound consumers resume at their stored positions on the real broker, and nothing already handled is dispatched
or sent again. A fresh database ends with the same tables.

The consumers keep their group names, so their Kafka groups keep the offsets they had committed too; those are
informational, and a consumer without a stored position reads its partition from the beginning whatever the group
says: the report behind the position would be dispatched again if the positions had not been carried."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from civicloop_events import Actor, ActorKind, Event, Location, ServiceRequestSubmitted
from civicloop_events.payloads import BodyDefined, SendMethod
from civicloop_events.producer import EventProducer, Position
from civicloop_events.request_numbers import new_request_number
from civicloop_gateway import database as gateway_database
from civicloop_outbound import database
from civicloop_outbound.bootstrap import bootstrap
from civicloop_outbound.domain.ports import BodyRecord, OutboundItem, Sender, SendResult
from civicloop_outbound.settings import OutboundSettings
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.events import config_event, read_all_events, request_event
from civicloop_testing.polling import eventually
from civicloop_testing.run_settings import run_settings

pytestmark = pytest.mark.integration

CITY = "moved.example.gov"
RESIDENT = Actor(kind=ActorKind.resident)
ADMIN = "schema-move-test"
OUTBOUND_TABLES = {
    "bodies",
    "routing_rules",
    "outbound_areas",
    "outbound_imported",
    "outbound_queue",
    "external_refs",
    "backend_updates_seen",
    "backend_poll_state",
    "open311_tokens",
    "backend_imports",
    "backend_unknown_updates",
    "body_update_support",
    "services",
    "inbox",
    "consumer_positions",
    "backend_list_memory",  # outbound_0002: what the Open311 client learnt about each back-end list
    "body_poll_streaks",  # outbound_0006: failed polls in a row and pending nudges, per body
}


class RecordingEmail(Sender):
    """The email method's sender: records what it is asked to send, and accepts it."""

    method = SendMethod.email

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, body: BodyRecord, item: OutboundItem) -> SendResult:
        self.sent.append(item.payload.request_id)
        return SendResult(destination="parks@moved.example.gov")


def submitted(request_id: str) -> Event[Any]:
    return request_event(
        ServiceRequestSubmitted(
            service_code="TREE", description="Fallen branch", location=Location(lat=40.0, long=-89.0)
        ),
        request_id=request_id,
        actor=RESIDENT,
        source="web",
        jurisdiction_id=CITY,
    )


def columns(dsn: str, schema: str) -> dict[str, list[tuple[str, str]]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select table_name, column_name, data_type from information_schema.columns"
            " where table_schema = %s and table_name <> 'alembic_version' order by table_name, ordinal_position",
            (schema,),
        ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append((column, kind))
    return tables


def queue(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select request_id, state from outbound.outbound_queue order by seq").fetchall()


async def commit_group_offsets(bootstrap: str, group: str, *handled: Position) -> None:
    """The offsets the consumer had committed to its Kafka group (the group keeps its name across the move)."""
    offsets: dict[TopicPartition, int] = {}
    for at in handled:
        tp = TopicPartition(at.topic, at.partition)
        offsets[tp] = max(offsets.get(tp, 0), at.offset + 1)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    consumer.assign(list(offsets))
    await consumer.start()
    try:
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


def lay_out_as_the_gateway_left_it(
    dsn: str,
    settings: OutboundSettings,
    body: Event[Any],
    body_at: Position,
    sent: Event[Any],
    sent_at: Position,
    skipped_at: Position,
) -> None:
    """What the outbound consumers had written inside the gateway: the body folded, the first report queued and sent,
    the inbox rows of the body and of that report, and the positions past all three events. The report at
    `skipped_at` has a position and no inbox row: only the carried position keeps it from being dispatched again."""
    dispatch, config = settings.outbound_dispatch_consumer_group, settings.outbound_config_consumer_group
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into gateway.bodies (jurisdiction_id, body_id, name, send_method, service_codes, definition,"
            " defined_at, last_event_id) values (%s, 'parks', 'Parks', 'email', %s, %s, now(), %s)",
            (CITY, ["TREE"], body.payload.model_dump_json(), body.event_id),
        )
        conn.execute(
            "insert into gateway.outbound_queue (request_id, jurisdiction_id, body_id, method, payload, state,"
            " attempts, sent_at, causation_id) values (%s, %s, 'parks', 'email', '{}', 'sent', 1, now(), %s)",
            (sent.request_id, CITY, sent.event_id),
        )
        for consumer, event, at in ((config, body, body_at), (dispatch, sent, sent_at)):
            conn.execute(
                "insert into gateway.inbox (consumer, event_id, topic, partition, kafka_offset)"
                " values (%s, %s, %s, %s, %s)",
                (consumer, event.event_id, at.topic, at.partition, at.offset),
            )
        for consumer, at in ((config, body_at), (dispatch, sent_at), (dispatch, skipped_at)):
            conn.execute(
                "insert into gateway.consumer_positions (consumer, topic, partition, next_offset) values (%s, %s, %s, %s)"
                " on conflict (consumer, topic, partition) do update"
                " set next_offset = greatest(gateway.consumer_positions.next_offset, excluded.next_offset)",
                (consumer, at.topic, at.partition, at.offset + 1),
            )
        # The gateway's own consumers' rows stay where they are.
        conn.execute(
            "insert into gateway.consumer_positions (consumer, topic, partition, next_offset)"
            " values (%s, %s, 0, 7)",
            (settings.topic_prefix + "gateway.open311.v2", sent_at.topic),
        )


async def test_the_move_carries_inbox_rows_and_positions_so_nothing_is_sent_twice(
    pg_admin_dsn: str, kafka_bootstrap: str
) -> None:
    topics = await make_topics(kafka_bootstrap)
    dsn = create_database(pg_admin_dsn, prefix="cl_outbound_move")
    settings = run_settings(
        OutboundSettings,
        dsn,
        kafka_bootstrap,
        topics,
        log_level="WARNING",
        consumer_backoff_initial_s=0.01,
        outbound_poll_interval_s=0.1,
    )
    config_producer = EventProducer(kafka_bootstrap, topics.jurisdiction_config, client_id="schema-move-test")
    requests = EventProducer(kafka_bootstrap, topics.request_events, client_id="schema-move-test")
    await config_producer.start()
    await requests.start()
    service = None
    try:
        gateway_database.migrate(settings.sqlalchemy_url)  # the old layout: outbound tables in schema gateway
        body = config_event(
            BodyDefined(
                body_id="parks", name="Parks", service_codes=["TREE"], email="parks@moved.example.gov"
            ),
            jurisdiction_id=CITY,
            admin=ADMIN,
        )
        body_at = await config_producer.publish(body)
        skipped, sent, new = (submitted(new_request_number()) for _ in range(3))
        skipped_at = await requests.publish(skipped)
        sent_at = await requests.publish(sent)
        lay_out_as_the_gateway_left_it(dsn, settings, body, body_at, sent, sent_at, skipped_at)
        await commit_group_offsets(
            kafka_bootstrap, settings.outbound_dispatch_consumer_group, skipped_at, sent_at
        )
        await commit_group_offsets(kafka_bootstrap, settings.outbound_config_consumer_group, body_at)

        database.migrate(settings.sqlalchemy_url)

        with psycopg.connect(dsn) as conn:
            left_in_gateway = {
                r[0]
                for r in conn.execute(
                    "select table_name from information_schema.tables where table_schema = 'gateway'"
                ).fetchall()
            }
            assert not (OUTBOUND_TABLES - {"inbox", "consumer_positions", "services"}) & left_in_gateway
            assert conn.execute("select count(*) from gateway.inbox").fetchone() == (0,)
            assert conn.execute("select consumer from gateway.consumer_positions").fetchall() == [
                (settings.topic_prefix + "gateway.open311.v2",)
            ]
            assert conn.execute("select count(*) from outbound.inbox").fetchone() == (2,)
            carried = conn.execute(
                "select consumer, partition, next_offset from outbound.consumer_positions order by 1, 2"
            ).fetchall()
            assert (
                settings.outbound_dispatch_consumer_group,
                sent_at.partition,
                sent_at.offset + 1,
            ) in carried
            assert (settings.outbound_config_consumer_group, body_at.partition, body_at.offset + 1) in carried
        assert queue(dsn) == [(sent.request_id, "sent")]

        email = RecordingEmail()
        service = await bootstrap(settings, senders={SendMethod.email: email})
        await requests.publish(new)
        expected = [(sent.request_id, "sent"), (new.request_id, "sent")]

        async def both_sent() -> bool:
            return queue(dsn) == expected

        await eventually(both_sent, timeout=60, what="the new report sent after the move")
        assert email.sent == [new.request_id]
        events = await read_all_events(kafka_bootstrap, topics.request_events, topics.partitions)
        routed = [e.request_id for e in events if e.type == "request.routed"]
        assert routed == [new.request_id]  # neither the sent report nor the one behind the position again
    finally:
        if service is not None:
            await service.close()
        await config_producer.stop()
        await requests.stop()
        drop_database(pg_admin_dsn, dsn)


def test_a_fresh_database_ends_with_the_same_tables(pg_admin_dsn: str) -> None:
    moved, fresh = (
        create_database(pg_admin_dsn, prefix=f"cl_outbound_{kind}") for kind in ("moved", "fresh")
    )
    try:
        url = OutboundSettings(env="test", pg_dsn=moved).sqlalchemy_url
        gateway_database.migrate(url)
        database.migrate(url)
        database.migrate(OutboundSettings(env="test", pg_dsn=fresh).sqlalchemy_url)
        assert set(columns(fresh, "outbound")) == OUTBOUND_TABLES
        assert columns(moved, "outbound") == columns(fresh, "outbound")
    finally:
        for dsn in (moved, fresh):
            drop_database(pg_admin_dsn, dsn)
