"""End to end through the real broker and PostgreSQL, the no-smartphone path: a Spanish-speaking resident reports a
pothole by text message and follows it to its reopening by text alone.

Every service runs as a real app served over HTTP on 127.0.0.1: geo (the public geocode, from its gazetteer), intake
(the submission route the notifier files through, and the agent's commands), and the notifier (its Twilio webhooks
behind a public address, the real Twilio sender). The local Twilio server signs and posts the resident's texts as
Twilio does, and keeps what the notifier sends. The resident hears each change once, in Spanish; a reply lands on the
request as their comment; `STOP` stops the texts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from civicloop_events import Actor, PersonalData, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import (
    AttributeDatatype,
    AttributeValue,
    CommentAdded,
    NotificationChannel,
    NotificationFailed,
    ServiceAttribute,
    ServiceRequestSubmitted,
)
from civicloop_events.payloads.staff import StaffCreated, TeamDefined
from civicloop_events.personal_data import new_key, seal
from civicloop_events.topics import Topics
from civicloop_geo import database as geo_database
from civicloop_geo.adapters.area_store import PostgresAreaStore
from civicloop_geo.adapters.gazetteer_loader import AddressRecord, load_address_points
from civicloop_geo.domain.addresses import parse_address
from civicloop_geo.entrypoints.http import create_app as create_geo
from civicloop_geo.settings import GeoSettings
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_notifier.entrypoints.http import create_app as create_notifier
from civicloop_notifier.entrypoints.webhooks import INBOUND_PATH, STATUS_PATH
from civicloop_notifier.settings import NotifierSettings
from civicloop_runtime.db import open_pool
from civicloop_testing.events import read_all_events, request_event
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from civicloop_testing.threaded_server import serve_in_thread
from civicloop_testing.twilio_server import Accepted, TwilioServer, twilio_server
from defusedxml import ElementTree
from e2e_world import migrated_intake, migrated_notifier, publish_configuration, shared_settings
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration

AGENT_ID = uuid.uuid4()
OUR_NUMBER = "+15005550006"
RESIDENT = "+12025550143"
PUBLIC_URL = "https://notifier.civicloop.example"
INBOUND_URL = PUBLIC_URL + INBOUND_PATH
LAT0, LONG0 = 34.0, -118.0
TOWN = {
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
POTHOLE = ServiceDefined(
    service_code="pothole",
    service_name="Bache",
    keywords=["bache", "pothole"],
    attributes=[
        ServiceAttribute(
            code="size",
            datatype=AttributeDatatype.singlevaluelist,
            required=True,
            description="¿De qué tamaño es?",
            values=[AttributeValue(key="small", name="Pequeño"), AttributeValue(key="large", name="Grande")],
        )
    ],
)


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


@pytest.fixture
def providers_env(monkeypatch: pytest.MonkeyPatch, twilio: TwilioServer) -> None:
    """The variables the notifier builds its Twilio sender from, as `make run` sets them."""
    for name, value in twilio.environment(OUR_NUMBER, status_callback_url=PUBLIC_URL + STATUS_PATH).items():
        monkeypatch.setenv(name, value)


async def place_the_town(pool: AsyncConnectionPool) -> None:
    """geo's gazetteer (three doors on Main St) and the jurisdiction's boundary, as `geo load` would leave them."""
    town = []
    for n in (101, 121, 141):
        parsed = parse_address(f"{n} Main St, 90001")
        assert parsed is not None
        town.append(AddressRecord(parsed, LAT0 + n * 1e-5, LONG0 + 1e-4))
    await load_address_points(pool, "demo", town, source="town")
    boundary = ServiceAreaDefined(area_id="town", name="Town", kind="boundary", geometry=TOWN)
    async with pool.connection() as conn:
        await PostgresAreaStore().define(
            conn,
            request_event(
                boundary,
                request_id=None,
                actor=Actor(kind="system", id="e2e"),
                source="cli",
                jurisdiction_id="demo",
            ),
        )


async def test_a_spanish_speaker_reports_by_text_and_hears_each_change_once_until_stop(
    fresh_database_dsn, fresh_topics, kafka_bootstrap, providers_env, twilio: TwilioServer
):
    geo_settings = GeoSettings(
        **shared_settings(fresh_database_dsn, fresh_topics, kafka_bootstrap), env="test"
    )
    geo_database.migrate(geo_settings.sqlalchemy_url)
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        POTHOLE,
        TeamDefined(team_id="streets", name="Streets"),
        StaffCreated(
            staff_id=AGENT_ID,
            contact=seal(PersonalData(), resident_id=AGENT_ID, key=new_key()),
            roles=["agent"],
            teams=["streets"],
        ),
    )
    pool = await open_pool(fresh_database_dsn, min_size=1, max_size=4, name="e2e-text-report")
    try:
        await place_the_town(pool)
        geo = create_geo(geo_settings, staff_verifier=verifier_for_tests(), start_consumers=False)
        intake = create_intake(intake_settings, staff_verifier=verifier_for_tests())
        with (
            serve_in_thread(geo, lifespan="on") as geo_url,
            serve_in_thread(intake, lifespan="on") as intake_url,
        ):
            settings = notifier_settings(
                fresh_database_dsn, fresh_topics, kafka_bootstrap, geo_url, intake_url
            )
            notifier = create_notifier(settings, staff_verifier=verifier_for_tests())
            with serve_in_thread(notifier, lifespan="on") as notifier_url:
                twilio.proxies[PUBLIC_URL] = notifier_url
                world = World(intake_url, pool, twilio, fresh_topics, kafka_bootstrap)
                await world.play()
    finally:
        await pool.close()


def notifier_settings(
    dsn: str, topics: Topics, kafka: str, geo_url: str, intake_url: str
) -> NotifierSettings:
    return migrated_notifier(
        dsn,
        topics,
        kafka,
        providers={NotificationChannel.sms: "twilio"},
        public_url=PUBLIC_URL,
        tracking_url="https://civicloop.example/track/{number}",
        notifier_geo_url=geo_url,
        notifier_intake_url=intake_url,
    )


class World:
    """The resident's phone, the agent, and what each step checks."""

    def __init__(
        self, intake_url: str, pool: AsyncConnectionPool, twilio: TwilioServer, topics: Topics, kafka: str
    ) -> None:
        self.intake_url, self.pool, self.twilio, self.topics, self.kafka = (
            intake_url,
            pool,
            twilio,
            topics,
            kafka,
        )

    async def play(self) -> None:
        await eventually(self.catalogued, timeout=45, what="the catalogue folded by the notifier and intake")
        number = await self.report_by_text()
        texts = await self.texts(1, "the received message with the number")
        assert texts[0].body.startswith(f"Recibimos su reporte {number}")

        await self.act(number, "acknowledge", {"public_note": "Lo tenemos."})
        await self.texts(2, "the acknowledgement")
        visit_at = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        await self.act(number, "visits", {"starts_at": visit_at.isoformat(), "duration_minutes": 120})
        await self.texts(3, "the visit")

        # The resident answers by text: it lands on their request as their comment, once (Twilio retries a webhook).
        reply = await self.twilio.send_inbound(INBOUND_URL, RESIDENT, "La puerta es la azul, gracias")
        assert reply.status_code == 200 and number in said(reply), reply.text
        comment = await eventually(
            lambda: self.residents_comment(number), timeout=30, what="the resident's comment on the log"
        )
        assert comment.payload.text == "La puerta es la azul, gracias"
        assert comment.payload.visibility.value == "internal" and comment.actor.kind.value == "resident"
        inbound_sid = self.twilio.inbound[-1]["MessageSid"]
        again = await self.twilio.send_inbound(
            INBOUND_URL, RESIDENT, "La puerta es la azul, gracias", sid=inbound_sid
        )
        assert again.status_code == 200
        await self.act(number, "close", {"reason": "fixed", "public_note": "Bache rellenado."})
        await self.texts(4, "the closing")
        await self.act(number, "reopen", {"reason": "recurred", "public_note": "Se reportó de nuevo."})
        texts = await self.texts(5, "the reopening")
        assert len(await self.residents_comments(number)) == 1  # the retried webhook added nothing

        expected = [
            f"Recibimos su reporte {number}",
            f"Su reporte {number} fue recibido por el equipo",
            f"Una visita por su reporte {number} está prevista",
            f"Su reporte {number} se cerró",
            f"Su reporte {number} se reabrió",
        ]
        for text, start in zip(texts, expected, strict=True):
            assert text.body.startswith(start), (start, text.body)
            assert text.sender == OUR_NUMBER
        assert "¿Se resolvió?" in texts[3].body and "Se reportó de nuevo." in texts[4].body

        # STOP: the carriers' answer in Spanish, and the next public update is sent to nobody.
        stop = await self.twilio.send_inbound(INBOUND_URL, RESIDENT, "STOP")
        assert stop.status_code == 200 and "Se ha dado de baja" in said(stop), said(stop)
        last = await self.act(number, "comments", {"text": "Seguimos en ello.", "visibility": "public"})
        failed = await eventually(
            lambda: self.failed_for(uuid.UUID(last["event_id"])),
            timeout=30,
            what="the comment's message given up",
        )
        assert failed.payload.outcome.value == "no_channel"
        assert len(self.twilio.to(RESIDENT)) == 5
        assert len({t.sid for t in self.twilio.to(RESIDENT)}) == 5

    async def report_by_text(self) -> str:
        """The conversation: the problem, where, how big, yes; the number comes in the notifier's own message."""
        turns = [
            ("Hay un bache enorme frente a mi casa", "¿Dónde está?"),
            ("121 Main St", "¿De qué tamaño es?"),
            ("2", "¿Enviamos este reporte?"),
            ("Sí", "Gracias: su reporte está en camino."),
        ]
        for text, asks in turns:
            answer = await self.twilio.send_inbound(INBOUND_URL, RESIDENT, text)
            assert answer.status_code == 200 and asks in said(answer), (text, said(answer))
        submitted = await eventually(self.submitted, timeout=30, what="the report filed through intake")
        p: ServiceRequestSubmitted = submitted.payload
        assert (p.service_code, p.attributes, p.language, p.preferred_channel.value) == (
            "pothole",
            {"size": ["large"]},
            "es",
            "sms",
        )
        assert "121 MAIN ST" in (p.location.address_string or "") and submitted.source == "sms"
        assert RESIDENT not in submitted.model_dump_json()
        return str(submitted.request_id)

    async def catalogued(self) -> bool:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "select (select count(*) from notifier.text_report_services),"
                    " (select count(*) from intake.services)"
                )
            ).fetchone()
        return row == (1, 1)

    async def act(self, number: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.intake_url, timeout=10) as client:
            r = await client.post(
                f"/api/v1/agent/requests/{number}/{path}", json=body, headers=staff_headers(AGENT_ID)
            )
        assert r.status_code == 201, (path, r.text)
        return dict(r.json())

    async def texts(self, count: int, what: str) -> list[Accepted]:
        async def arrived() -> list[Accepted] | None:
            texts = self.twilio.to(RESIDENT)
            return texts if len(texts) >= count else None

        texts = await eventually(arrived, timeout=30, what=what, interval=0.05)
        assert len(texts) == count, [t.body for t in texts]  # one more would be a duplicate
        return texts

    async def events(self) -> list[Any]:
        return await read_all_events(self.kafka, self.topics.request_events, self.topics.partitions)

    async def submitted(self) -> Any:
        found = [e for e in await self.events() if isinstance(e.payload, ServiceRequestSubmitted)]
        assert len(found) <= 1
        return found[0] if found else None

    async def residents_comments(self, number: str) -> list[Any]:
        return [
            e
            for e in await self.events()
            if isinstance(e.payload, CommentAdded)
            and e.request_id == number
            and e.actor.kind.value == "resident"
        ]

    async def residents_comment(self, number: str) -> Any:
        found = await self.residents_comments(number)
        return found[0] if found else None

    async def failed_for(self, cause: uuid.UUID) -> Any:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute("select state from notifier.messages where cause_event_id = %s", (cause,))
            ).fetchone()
        if row is None or row[0] != "given_up":
            return None
        failed = [e for e in await self.events() if isinstance(e.payload, NotificationFailed)]
        return failed[-1] if failed else None


def said(answer: httpx.Response) -> str:
    """The text of a TwiML answer's message."""
    return "".join(ElementTree.fromstring(answer.text).itertext())
