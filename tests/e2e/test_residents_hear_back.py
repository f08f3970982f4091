"""End to end through the real broker and PostgreSQL: residents report through intake's submission route, an agent
works their requests through intake's commands, and the notifier tells each resident, on their channel and in their
language, through the real providers' client libraries: texts through the `twilio` SDK to the local Twilio server,
email through `aiosmtplib` to a real SMTP server.

One Spanish-speaking resident, with SMS as their channel, follows a request from its receipt to its reopening; the
local Twilio server is out (500s, then hanging) when the first text goes, and the notifier is stopped and started
again mid-way: each text arrives once, in order, in Spanish. Another resident, by email, gets the visit's email.
Then the first resident is erased: nothing more is sent, and no contact of theirs stands in clear in the notifier's
schema or in the events it published.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from civicloop_events import PersonalData, ServiceDefined
from civicloop_events.payloads import NotificationChannel, NotificationFailed, NotificationSent
from civicloop_events.payloads.staff import StaffCreated, TeamDefined
from civicloop_events.personal_data import new_key, seal
from civicloop_events.registry import decode_event
from civicloop_events.topics import Topics
from civicloop_intake.entrypoints.http import create_app as create_intake
from civicloop_notifier.bootstrap import Notifier, bootstrap
from civicloop_notifier.settings import NotifierSettings
from civicloop_runtime.db import open_pool
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_testing import read_all_records
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from civicloop_testing.twilio_server import Accepted, TwilioServer, twilio_server
from e2e_world import migrated_intake, migrated_notifier, publish_configuration, serving
from icalendar import Calendar
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

pytestmark = pytest.mark.integration

AGENT_ID = uuid.uuid4()
OUR_NUMBER = "+15005550006"
NAME = "Lucía Fernández"
PHONE = "+1 213 555 0199"
PHONE_E164 = "+12135550199"
EMAIL = "rosa.alvarez@example.org"
SMS_TIMEOUT_S = 1.0  # the Twilio client gives up on a hanging server after this
HANG_S = 2.5  # longer than the client waits: the hung requests are abandoned, and leave no message


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as started:
        yield started


@pytest.fixture
def providers_env(monkeypatch: pytest.MonkeyPatch, twilio: TwilioServer, inbox: SmtpInbox) -> None:
    """The variables the notifier builds its real senders from, as `make run` sets them."""
    for name, value in {
        **twilio.environment(OUR_NUMBER, timeout_s=str(SMS_TIMEOUT_S)),
        "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
        "CIVICLOOP_EMAIL_PORT": str(inbox.port),
        "CIVICLOOP_EMAIL_MAIL_FROM": "CivicLoop <no-reply@county.example>",
    }.items():
        monkeypatch.setenv(name, value)


def notifier_settings(dsn: str, topics: Topics, kafka_bootstrap: str) -> NotifierSettings:
    return migrated_notifier(
        dsn,
        topics,
        kafka_bootstrap,
        providers={NotificationChannel.sms: "twilio", NotificationChannel.email: "smtp"},
        tracking_url="https://civicloop.example/track/{number}",
        notifier_max_attempts=20,  # the outage below fails the first text 5 times (more on a slow machine): still SMS
        notifier_send_timeout_s=5,
    )


async def test_residents_hear_back_once_on_their_channel_in_their_language_through_outage_restart_and_erasure(
    fresh_database_dsn, fresh_topics, kafka_bootstrap, providers_env, twilio: TwilioServer, inbox: SmtpInbox
):
    intake_settings = migrated_intake(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    settings = notifier_settings(fresh_database_dsn, fresh_topics, kafka_bootstrap)
    await publish_configuration(
        kafka_bootstrap,
        fresh_topics,
        ServiceDefined(service_code="pothole", service_name="Pothole"),
        TeamDefined(team_id="streets", name="Streets"),
        StaffCreated(
            staff_id=AGENT_ID,
            contact=seal(PersonalData(), resident_id=AGENT_ID, key=new_key()),
            roles=["agent"],
            teams=["streets"],
        ),
    )
    pool = await open_pool(fresh_database_dsn, min_size=1, max_size=4, name="e2e-notifier")
    try:
        async with serving(
            (create_intake(intake_settings, staff_verifier=verifier_for_tests()), "http://intake")
        ) as (intake,):
            world = World(intake, pool, settings, twilio, inbox, fresh_topics, kafka_bootstrap)
            await world.play()
    finally:
        await pool.close()


def visit_entry(message: Any) -> Any:
    """The one VEVENT of the email's calendar attachment, parsed with `icalendar`."""
    [attached] = [a for a in message.iter_attachments() if a.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(attached.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "REQUEST"
    [entry] = calendar.walk("VEVENT")
    return entry


class World:
    """The residents, the agent and the notifier of this test, and what each step checks."""

    def __init__(
        self,
        intake: httpx.AsyncClient,
        pool: AsyncConnectionPool,
        settings: NotifierSettings,
        twilio: TwilioServer,
        inbox: SmtpInbox,
        topics: Topics,
        kafka: str,
    ) -> None:
        self.intake, self.pool, self.settings = intake, pool, settings
        self.twilio, self.inbox, self.topics, self.kafka = twilio, inbox, topics, kafka
        self.agent = staff_headers(AGENT_ID)
        self.vault = ResidentKeyVault(pool, pepper=settings.pepper)

    @asynccontextmanager
    async def notifier(self) -> Any:
        running: Notifier = await bootstrap(self.settings)
        try:
            yield running
        finally:
            await running.close()

    async def play(self) -> None:
        # The provider is out when the first text goes: three 500s, then two requests left hanging.
        self.twilio.answer_next(3, 500)
        self.twilio.hang_next(2, HANG_S)
        async with self.notifier():
            number = await self.report(
                {"phone": PHONE, "name": NAME}, channel="sms", language="es", key="e2e-hear-sms"
            )
            by_email = await self.report(
                {"email": EMAIL, "name": "Rosa Alvarez"}, channel="email", language="en", key="e2e-hear-mail"
            )
            await self.texts(1, "the receipt, once the outage is over")
            await self.act(number, "acknowledge", {"public_note": "Lo tenemos."})
            await self.texts(2, "the acknowledgement")
            visit_at = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
            scheduled = await self.act(
                number, "visits", {"starts_at": visit_at.isoformat(), "duration_minutes": 120}
            )
            await self.texts(3, "the visit")
            mailed = await self.act(
                by_email, "visits", {"starts_at": visit_at.isoformat(), "duration_minutes": 60}
            )
            await self.mails(2, "the receipt and the visit by email")
            mailed_visit = "v-" + uuid.UUID(mailed["event_id"]).hex[-12:]
            await self.act(
                by_email,
                f"visits/{mailed_visit}/reschedule",
                {"starts_at": (visit_at + timedelta(hours=3)).isoformat()},
            )
            await self.mails(3, "the moved visit by email")
            # The hung requests end on the server's side once their client has long gone: no message left behind.
            await eventually(
                self.hangs_over, timeout=10, what="the two hung requests to end at the server", interval=0.05
            )
        assert self.twilio.hangs_ended == ["abandoned", "abandoned"]

        # Stopped: the agent goes on working; nothing is told until the notifier is back.
        visit_id = "v-" + uuid.UUID(scheduled["event_id"]).hex[-12:]
        moved = visit_at + timedelta(days=1)
        await self.act(number, f"visits/{visit_id}/reschedule", {"starts_at": moved.isoformat()})
        await self.act(number, "close", {"reason": "fixed", "public_note": "Bache rellenado."})
        assert len(self.twilio.to(PHONE_E164)) == 3

        async with self.notifier():
            await self.texts(5, "the reschedule and the closing, after the restart")
            await self.act(number, "reopen", {"reason": "recurred", "public_note": "Se reportó de nuevo."})
            texts = await self.texts(6, "the reopening")
            self.check_spanish_texts(number, texts, visit_at, moved)
            await self.check_attempts(number)
            await self.check_email_resident(by_email, visit_at)

            # Erased: the next public comment is told to nobody, and the resident's messages keep nothing of them.
            await self.vault.erase(await self.resident_of(number))
            comment = await self.act(
                number, "comments", {"text": "Seguimos en ello.", "visibility": "public"}
            )
            await eventually(
                lambda: self.message_state(uuid.UUID(comment["event_id"])),
                timeout=30,
                what="the comment's message, given up for the erased resident",
                interval=0.05,
            )
        assert len(self.twilio.accepted) == len(self.twilio.to(PHONE_E164)) == 6  # no text to anyone else
        await self.check_nothing_in_clear()

    # -- the residents and the agent --------------------------------------------------------------------------------

    async def report(self, contact: dict[str, str], *, channel: str, language: str, key: str) -> str:
        body = {
            "service_code": "pothole",
            "description": "Un bache profundo",
            "address_string": "12 Main St",
            "contact": contact,
            "preferred_channel": channel,
            "language": language,
        }

        async def catalogued() -> httpx.Response | None:
            r = await self.intake.post("/api/v1/requests", json=body, headers={"Idempotency-Key": key})
            return None if r.status_code == 422 else r

        r = await eventually(catalogued, timeout=30, what="intake to learn the catalogue", interval=0.1)
        assert r.status_code == 201, r.text
        return str(r.json()["request_number"])

    async def act(self, number: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self.intake.post(f"/api/v1/agent/requests/{number}/{path}", json=body, headers=self.agent)
        assert r.status_code == 201, (path, r.text)
        return dict(r.json())

    # -- what arrived -----------------------------------------------------------------------------------------------

    async def texts(self, count: int, what: str) -> list[Accepted]:
        async def arrived() -> list[Accepted] | None:
            texts = self.twilio.to(PHONE_E164)
            return texts if len(texts) >= count else None

        texts = await eventually(arrived, timeout=30, what=what, interval=0.05)
        assert len(texts) == count, [t.body for t in texts]  # one more would be a duplicate
        return texts

    async def hangs_over(self) -> bool:
        return len(self.twilio.hangs_ended) >= 2

    async def mails(self, count: int, what: str) -> None:
        async def arrived() -> bool:
            return len(self.inbox.to(EMAIL)) >= count

        await eventually(arrived, timeout=30, what=what, interval=0.05)

    def check_spanish_texts(
        self, number: str, texts: list[Accepted], visit_at: datetime, moved: datetime
    ) -> None:
        assert {t.sender for t in texts} == {OUR_NUMBER}
        bodies = [t.body for t in texts]
        expected = [
            f"Recibimos su reporte {number}",
            f"Su reporte {number} fue recibido por el equipo",
            f"Una visita por su reporte {number} está prevista",
            f"La visita por su reporte {number} se cambió",
            f"Su reporte {number} se cerró",
            f"Su reporte {number} se reabrió",
        ]
        for body, start in zip(bodies, expected, strict=True):
            assert body.startswith(start), (start, body)
        assert "Motivo: resuelto" in bodies[4] and "¿Se resolvió?" in bodies[4]
        assert "Bache rellenado." in bodies[4] and "Se reportó de nuevo." in bodies[5]
        assert str(visit_at.day) in bodies[2] and str(moved.day) in bodies[3]
        assert all(f"https://civicloop.example/track/{number}" in b for b in bodies)
        assert len({t.sid for t in texts}) == 6

    async def check_attempts(self, number: str) -> None:
        """The receipt failed through the outage (the three 500s, the two hung requests given up on; a machine slow
        enough to miss the client's timeout adds failed attempts of its own) before its one accepted attempt; the
        other messages were each accepted once."""
        rows = await eventually(
            lambda: self.attempts_once_sent(number, 6),
            timeout=30,
            what="the six accepted attempts written (the provider answers before the row is)",
            interval=0.05,
        )
        first = [(outcome, error) for kind, _, outcome, _, _, error in rows if kind == "received"]
        assert [outcome for outcome, _ in first[:-1]] == ["failed"] * (len(first) - 1), first
        assert first[-1][0] == "accepted", first
        # Each fault the server served shows as a failed attempt: a 500, or a timeout when the client gave up first.
        errors = [error for _, error in first[:-1]]
        server_error, no_answer = "twilio 500 20500", f"twilio: no answer in {SMS_TIMEOUT_S} s"
        assert set(errors) <= {server_error, no_answer}, first
        assert len(errors) >= 5 and errors.count(server_error) >= 1 and errors.count(no_answer) >= 2, first
        accepted = [r for r in rows if r[2] == "accepted"]
        assert [r[0] for r in accepted] == [
            "received",
            "acknowledged",
            "visit_scheduled",
            "visit_rescheduled",
            "closed",
            "reopened",
        ]
        assert {(r[1], r[3]) for r in accepted} == {("sms", "twilio")}
        assert [r[4] for r in accepted] == [t.sid for t in self.twilio.to(PHONE_E164)]
        sent = await eventually(
            lambda: self.published_at_least(NotificationSent, number, 6),
            timeout=30,
            what="NotificationSent for each of the six texts",
            interval=0.1,
        )
        assert sorted(e.payload.provider_message_id for e in sent) == sorted(r[4] for r in accepted)
        assert {e.payload.language for e in sent} == {"es"}
        assert not await self.published(NotificationFailed, number)

    async def attempts_once_sent(self, number: str, sent: int) -> list[tuple[Any, ...]] | None:
        """The attempt rows of `number`'s messages, once `sent` of them were accepted."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    """select m.kind, a.channel, a.outcome, a.provider, a.provider_message_id, a.error
                         from notifier.messages m join notifier.attempts a using (notification_id)
                        where m.request_id = %s order by m.seq, a.attempt""",
                    (number,),
                )
            ).fetchall()
        return rows if sum(r[2] == "accepted" for r in rows) >= sent else None

    async def check_email_resident(self, number: str, visit_at: datetime) -> None:
        """The receipt, then the visit and its move, each email carrying the calendar entry: one UID, the SEQUENCE
        rising, the new time, a reminder 24 hours before."""
        mails = self.inbox.to(EMAIL)
        assert len(mails) == 3
        bodies = [m.message.get_body(("plain",)).get_content() for m in mails]
        assert f"We received your report {number}" in bodies[0]
        assert f"A visit for your report {number} is planned" in bodies[1]
        assert "12 Main St" in bodies[1]
        assert not [a for a in mails[0].message.iter_attachments() if a.get_content_type() == "text/calendar"]
        planned, moved = (visit_entry(mail.message) for mail in mails[1:])
        assert planned["UID"] == moved["UID"] and number in str(planned["SUMMARY"])
        assert (int(planned["SEQUENCE"]), int(moved["SEQUENCE"])) == (0, 1)
        assert planned.decoded("DTSTART") == visit_at
        assert moved.decoded("DTSTART") == visit_at + timedelta(hours=3)
        assert planned.decoded("DTEND") - planned.decoded("DTSTART") == timedelta(minutes=60)
        for entry in (planned, moved):
            [alarm] = entry.walk("VALARM")
            assert alarm.decoded("TRIGGER") == timedelta(hours=-24)
            assert "12 Main St" in str(entry["LOCATION"])
            assert f"https://civicloop.example/track/{number}" in str(entry["DESCRIPTION"])

    async def resident_of(self, number: str) -> uuid.UUID:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "select resident_id from notifier.requests where request_id = %s", (number,)
                )
            ).fetchone()
        assert row is not None
        return uuid.UUID(str(row[0]))

    async def message_state(self, cause_event_id: uuid.UUID) -> str | None:
        async with self.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "select state from notifier.messages where cause_event_id = %s", (cause_event_id,)
                )
            ).fetchone()
        return row[0] if row and row[0] == "erased" else None

    async def published(self, kind: type, number: str) -> list[Any]:
        records = await read_all_records(self.kafka, self.topics.request_events, self.topics.partitions)
        events = [decode_event(r.value) for r in records]
        return [e for e in events if isinstance(e.payload, kind) and e.request_id == number]

    async def published_at_least(self, kind: type, number: str, count: int) -> list[Any] | None:
        events = await self.published(kind, number)
        return events if len(events) >= count else None

    async def check_nothing_in_clear(self) -> None:
        """Every row of every table of schema `notifier`, as text, and every event the notifier published, raw."""
        clear = (PHONE_E164, PHONE_E164.removeprefix("+1"), "213 555 0199", EMAIL, NAME, "Fern")
        async with self.pool.connection() as conn:
            tables = [
                r[0]
                for r in await (
                    await conn.execute(
                        "select table_name from information_schema.tables where table_schema = 'notifier'"
                    )
                ).fetchall()
            ]
            assert {"requests", "messages", "attempts", "opt_outs"} <= set(tables)
            stored = []
            for table in tables:
                every_row = sql.SQL("select t::text from {} t").format(sql.Identifier("notifier", table))
                rows = await (await conn.execute(every_row)).fetchall()
                stored += [r[0] for r in rows]
        assert len(stored) > 12  # the two residents' requests, messages and attempts at least
        for value in clear:
            assert not [row for row in stored if value in row], value
        records = await read_all_records(self.kafka, self.topics.request_events, self.topics.partitions)
        told = [
            r.value
            for r in records
            if isinstance(decode_event(r.value).payload, NotificationSent | NotificationFailed)
        ]
        assert len(told) == 9  # six texts and three emails
        for value in clear:
            assert not [raw for raw in told if value.encode() in raw], value
