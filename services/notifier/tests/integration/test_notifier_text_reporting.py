"""A report made by text message, end to end on the real broker and PostgreSQL: `TextReporting` in the running
notifier (its catalogue folded from the config topic), geo's real app answering the public geocode from its gazetteer,
intake's real app filing the report; both served over HTTP on 127.0.0.1. The request lands on the log with the
category, the place, the answers and the sealed phone, and the resident hears its number once, in the notifier's own
"received" message."""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from civicloop_channels.message import Channel as WireChannel
from civicloop_events import Actor, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import (
    AttributeDatatype,
    AttributeValue,
    NotificationChannel,
    ServiceAttribute,
    ServiceRequestSubmitted,
)
from civicloop_events.topics import Topics
from civicloop_geo import database as geo_database
from civicloop_geo.adapters.area_store import PostgresAreaStore
from civicloop_geo.adapters.gazetteer_loader import AddressRecord, load_address_points
from civicloop_geo.domain.addresses import parse_address
from civicloop_geo.entrypoints.http import create_app as create_geo
from civicloop_geo.settings import GeoSettings
from civicloop_intake import database as intake_database
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_intake.settings import IntakeSettings
from civicloop_notifier.adapters.recording_sender import RecordingChannelSender
from civicloop_notifier.adapters.text_report_http import IntakeSubmitter
from civicloop_notifier.adapters.text_report_store import text_report_transaction
from civicloop_notifier.bootstrap import Notifier, bootstrap, text_reporting_from_settings
from civicloop_notifier.domain.text_report import SubmissionAnswer, Submit
from civicloop_notifier.service_layer.text_reporting import TextReport, TextReporting, sender_digest
from civicloop_runtime.settings import Environment
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_testing.events import config_event, publish_events, read_all_events, request_event
from civicloop_testing.polling import eventually
from civicloop_testing.processes import free_port
from civicloop_testing.staff_tokens import verifier_for_tests
from civicloop_testing.threaded_server import serve_in_thread
from notifier_harness import Clock, settings_for
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration

PEPPER = "notifier-tests-pepper-0123456789"
GEOCODES_PER_RESIDENT = "3/minute"
LAT0, LONG0 = 34.0, -118.0
BOUNDARY = {
    "type": "Polygon",
    "coordinates": [
        [
            [LONG0 - 0.01, LAT0 - 0.01],
            [LONG0 + 0.01, LAT0 - 0.01],
            [LONG0 + 0.01, LAT0 + 0.01],
            [LONG0 - 0.01, LAT0 + 0.01],
            [LONG0 - 0.01, LAT0 - 0.01],
        ]
    ],
}
SIZE = ServiceAttribute(
    code="size",
    datatype=AttributeDatatype.singlevaluelist,
    required=True,
    description="¿De qué tamaño es?",
    values=[AttributeValue(key="small", name="Pequeño"), AttributeValue(key="large", name="Grande")],
)
CATALOGUE = [
    ServiceDefined(
        service_code="pothole", service_name="Bache", keywords=["bache", "pothole"], attributes=[SIZE]
    ),
    ServiceDefined(service_code="graffiti", service_name="Grafiti", keywords=["graffiti", "pintada"]),
]


def phone_number() -> str:
    return "+1202555" + "".join(random.choices(string.digits, k=4))


def record(text: str, lat: float, long: float) -> AddressRecord:
    parsed = parse_address(text)
    assert parsed is not None, text
    return AddressRecord(parsed, lat, long)


@contextmanager
def services_over_http(dsn: str, topics: Topics, kafka: str) -> Iterator[tuple[str, str]]:
    """geo (consumers off: the test places the town itself) and intake (consumers on: it folds the catalogue)."""
    shared: dict[str, Any] = {
        "env": Environment.test,
        "pg_dsn": dsn,
        "kafka_bootstrap": kafka,
        "topic_prefix": topics.prefix,
        "topic_partitions": topics.partitions,
    }
    # The notifier (on 127.0.0.1) is geo's trusted proxy: the public geocode's limit counts each resident apart.
    geo_settings = GeoSettings(
        rate_limit_trusted_proxies="127.0.0.1",
        public_geocode_rate_limit_per_client=GEOCODES_PER_RESIDENT,
        **shared,
    )
    geo = create_geo(geo_settings, staff_verifier=verifier_for_tests(), start_consumers=False)
    intake = create_intake(IntakeSettings(vault_pepper=PEPPER, **shared), staff_verifier=verifier_for_tests())
    with serve_in_thread(geo, lifespan="on") as geo_url, serve_in_thread(intake, lifespan="on") as intake_url:
        yield geo_url, intake_url


@dataclass
class World:
    notifier: Notifier
    reporting: TextReporting
    sms: RecordingChannelSender
    vault: ResidentKeyVault
    topics: Topics
    kafka: str
    jurisdiction: str
    pool: AsyncConnectionPool

    async def submissions(self) -> list[Any]:
        events = await read_all_events(self.kafka, self.topics.request_events, self.topics.partitions)
        return [e for e in events if isinstance(e.payload, ServiceRequestSubmitted)]


@pytest_asyncio.fixture(loop_scope="session")
async def world(notifier_dsn, notifier_pool, fresh_topics, kafka_bootstrap) -> AsyncIterator[World]:
    geo_database.migrate(GeoSettings(pg_dsn=notifier_dsn).sqlalchemy_url)
    intake_database.migrate(IntakeSettings(pg_dsn=notifier_dsn, vault_pepper=PEPPER).sqlalchemy_url)
    jurisdiction = f"tr-{uuid.uuid4().hex[:8]}"
    town = [record(f"{n} Main St, 90001", LAT0 + n * 1e-5, LONG0 + 1e-4) for n in (101, 121, 141)]
    await load_address_points(notifier_pool, jurisdiction, town, source="town")
    boundary = ServiceAreaDefined(area_id="town", name="Town", kind="boundary", geometry=BOUNDARY)
    async with notifier_pool.connection() as conn:
        await PostgresAreaStore().define(
            conn,
            request_event(
                boundary,
                request_id=None,
                actor=Actor(kind="system", id="tests"),
                source="cli",
                jurisdiction_id=jurisdiction,
            ),
        )
    events = [config_event(p, jurisdiction_id=jurisdiction) for p in CATALOGUE]
    await publish_events(kafka_bootstrap, fresh_topics.jurisdiction_config, events)
    vault = ResidentKeyVault(notifier_pool, pepper=PEPPER.encode())
    sms = RecordingChannelSender(WireChannel.sms)
    with services_over_http(notifier_dsn, fresh_topics, kafka_bootstrap) as (geo_url, intake_url):
        settings = settings_for(
            notifier_dsn,
            fresh_topics,
            kafka_bootstrap,
            notifier_geo_url=geo_url,
            notifier_intake_url=intake_url,
            notifier_text_report_jurisdiction=jurisdiction,
            text_report_catalogue_consumer_name=f"notifier.catalogue.v1.{uuid.uuid4().hex[:8]}",
        )
        notifier = await bootstrap(
            settings, vault=vault, senders={NotificationChannel.sms: sms}, clock=Clock()
        )
        try:
            assert notifier.text_reporting is not None  # both URLs named: text reports are on
            await _catalogued(notifier_pool, jurisdiction)
            yield World(
                notifier,
                notifier.text_reporting,
                sms,
                vault,
                fresh_topics,
                kafka_bootstrap,
                jurisdiction,
                notifier_pool,
            )
        finally:
            await notifier.close()


async def _catalogued(pool: AsyncConnectionPool, jurisdiction: str) -> None:
    """The notifier's and intake's folds of the config topic both hold the services."""

    async def both() -> bool | None:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "select (select count(*) from notifier.text_report_services where jurisdiction_id = %s),"
                " (select count(*) from intake.services where jurisdiction_id = %s)",
                (jurisdiction, jurisdiction),
            )
            row = await cur.fetchone()
        return True if row == (len(CATALOGUE), len(CATALOGUE)) else None

    await eventually(both, timeout=45, what="the catalogue folded by the notifier and intake")


async def test_a_spanish_speaking_resident_reports_a_pothole_by_sms_and_hears_its_number_once(
    world: World,
) -> None:
    phone, sms = phone_number(), NotificationChannel.sms
    reporting = world.reporting
    assert not await reporting.in_progress(phone, sms)

    first = await reporting.handle(phone, sms, "Hay un bache enorme frente a mi casa", "es")
    assert first.startswith("Entendido: Bache. ¿Dónde está?")
    assert await reporting.in_progress(phone, sms)
    assert not await reporting.in_progress(phone, NotificationChannel.whatsapp)  # a conversation per channel

    lost = await reporting.handle(phone, sms, "12 Far Rd", "es")
    assert lost.startswith("No encontramos ese lugar")

    # A restart keeps the conversation: a second `TextReporting` on the same tables takes it where it was.
    async with AsyncExitStack() as stack:
        restarted = text_reporting_from_settings(
            world.notifier.settings, world.pool, world.notifier.texts, Clock(), stack
        )
        asked = await restarted.handle(phone, sms, "121 Main St", "es")
    assert asked.startswith("¿De qué tamaño es?") and "1 Pequeño\n2 Grande" in asked

    confirm = await reporting.handle(phone, sms, "2", "es")
    assert confirm.startswith("¿Enviamos este reporte? Bache en 121 MAIN ST")
    assert await reporting.handle(phone, sms, "Sí", "es") == (
        "Gracias: su reporte está en camino. Recibirá su número en un momento."
    )
    assert not await reporting.in_progress(phone, sms)

    (submitted,) = [e for e in await world.submissions() if e.jurisdiction_id == world.jurisdiction]
    p: ServiceRequestSubmitted = submitted.payload
    assert (p.service_code, p.attributes, p.language) == ("pothole", {"size": ["large"]}, "es")
    assert p.description == "Hay un bache enorme frente a mi casa"
    assert p.location.lat == pytest.approx(LAT0 + 121e-5) and "121 MAIN ST" in (
        p.location.address_string or ""
    )
    assert p.preferred_channel.value == "sms" and submitted.source == "sms"
    assert p.contact is not None and (await world.vault.unseal(p.contact)).phone == phone
    assert phone not in submitted.model_dump_json()

    # The number comes back once, in the notifier's own "received" message, on the channel used.
    number = submitted.request_id

    async def told() -> list[str] | None:
        texts = [m.text for m in world.sms.sent if m.to == phone]
        return texts or None

    (received,) = await eventually(told, timeout=30, what="the received message")
    assert received.startswith(f"Recibimos su reporte {number}")

    async with world.pool.connection() as conn:
        cur = await conn.execute("select conversation::text from notifier.text_report_conversations")
        kept = [row[0] for row in await cur.fetchall()]
    assert not any(phone in k or phone.lstrip("+") in k for k in kept)
    assert not any("bache enorme" in k for k in kept)  # a finished conversation keeps nothing written


async def test_a_retried_submission_files_the_report_once(world: World) -> None:
    phone = phone_number()
    reporting = world.reporting
    await reporting.handle(phone, NotificationChannel.whatsapp, "graffiti on the wall", "en")
    await reporting.handle(phone, NotificationChannel.whatsapp, "141 Main St", "en")
    async with text_report_transaction(world.pool) as store:
        conversation = await store.conversation(
            sender_digest(PEPPER.encode(), NotificationChannel.whatsapp, phone), lock=False
        )
    assert conversation is not None and conversation.place is not None
    assert await reporting.handle(phone, NotificationChannel.whatsapp, "OK", "en") == (
        "Thank you: your report is on its way. You will get its number in a moment."
    )
    # The same conversation's report filed again (a retry after an answer lost on the way): intake's answer is the
    # same request, and the log holds it once.
    again = TextReport(
        idempotency_key=f"text-report-{conversation.conversation_id}",
        on_behalf_of="text-report-retry",
        jurisdiction_id=world.jurisdiction,
        channel=NotificationChannel.whatsapp,
        phone=phone,
        report=Submit(
            conversation_id=conversation.conversation_id,
            service_code="graffiti",
            description="graffiti on the wall",
            place=conversation.place,
            attributes={},
            language="en",
        ),
    )
    submitter = IntakeSubmitter(world.reporting.submitter.client)  # type: ignore[attr-defined]
    assert await submitter.submit(again) is SubmissionAnswer.filed
    mine = [
        e
        for e in await world.submissions()
        if e.jurisdiction_id == world.jurisdiction and e.payload.service_code == "graffiti"
    ]
    assert len(mine) == 1 and mine[0].payload.preferred_channel.value == "whatsapp"
    assert json.loads(mine[0].model_dump_json())["source"] == "whatsapp"


async def test_geo_or_intake_out_of_reach_keeps_the_conversation_and_a_later_ok_files_it(
    world: World,
) -> None:
    phone, sms = phone_number(), NotificationChannel.sms
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with AsyncExitStack() as stack:
        no_geo = text_reporting_from_settings(
            world.notifier.settings.model_copy(update={"notifier_geo_url": nowhere}),
            world.pool,
            world.notifier.texts,
            Clock(),
            stack,
        )
        await no_geo.handle(phone, sms, "graffiti", "en")
        down = await no_geo.handle(phone, sms, "101 Main St", "en")
        assert down.startswith("We cannot look up addresses right now")
        no_intake = text_reporting_from_settings(
            world.notifier.settings.model_copy(update={"notifier_intake_url": nowhere}),
            world.pool,
            world.notifier.texts,
            Clock(),
            stack,
        )
        assert (await no_intake.handle(phone, sms, "101 Main St", "en")).startswith(
            "Send this report? Grafiti"
        )
        assert await no_intake.handle(phone, sms, "OK", "en") == (
            "We could not send your report just now. Reply OK to try again."
        )
    assert await world.reporting.in_progress(phone, sms)
    assert (await world.reporting.handle(phone, sms, "ok", "en")).startswith("Thank you")

    async def filed() -> list[Any] | None:
        found = [
            e
            for e in await world.submissions()
            if e.jurisdiction_id == world.jurisdiction
            and e.payload.location.lat == pytest.approx(LAT0 + 101e-5)
        ]
        return found or None

    (submitted,) = await eventually(filed, timeout=10, what="the report on the log")
    assert submitted.payload.service_code == "graffiti"


async def test_the_public_geocode_s_limit_counts_each_resident_apart(world: World) -> None:
    busy, other, sms = phone_number(), phone_number(), NotificationChannel.sms
    reporting = world.reporting
    await reporting.handle(busy, sms, "graffiti", "en")
    for _ in range(3):  # the limit: three lookups a minute
        assert (await reporting.handle(busy, sms, "12 Far Rd", "en")).startswith(
            "We could not find that place"
        )
    limited = await reporting.handle(busy, sms, "12 Far Rd", "en")
    assert limited.startswith("We cannot look up addresses right now")
    await reporting.handle(other, sms, "graffiti", "en")
    assert (await reporting.handle(other, sms, "121 Main St", "en")).startswith("Send this report? Grafiti")
