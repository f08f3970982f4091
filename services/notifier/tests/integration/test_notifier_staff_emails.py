"""selfheal's events delivered, on the real broker and database: escalations, hot spots and reminders e-mailed to
the right staff through the real SMTP sender (aiosmtplib to aiosmtpd), from a directory folded off the config
topic with contacts sealed; the resident told their request is late on their channel. Each message once, across
a repeated event, a restart and a replay."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_channels.message import Channel as WireChannel
from civicloop_channels.message import Outcome
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    AgentReminded,
    Channel,
    ClusterEscalated,
    Escalated,
    LateDeclared,
    MessageKind,
    NotificationChannel,
    NotificationSent,
    StaffCreated,
    StaffDisabled,
    StaffRole,
    StuckReason,
    TeamDefined,
)
from civicloop_events.payloads.staff import DisableReason
from civicloop_events.personal_data import PersonalData, new_key, seal
from civicloop_notifier.adapters.recording_sender import RecordingChannelSender
from civicloop_notifier.bootstrap import Notifier
from civicloop_notifier.entrypoints.http import create_app
from civicloop_testing.asgi import serving
from civicloop_testing.consumers import assert_applied
from civicloop_testing.events import publish_events, read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from notifier_harness import NAME, Harness, new_number, settings_for, unique_letters

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SELFHEAL = Actor(kind=ActorKind.system, id="selfheal")
ADMIN = Actor(kind=ActorKind.system, id="staff-cli")
SINCE = datetime.now(UTC) - timedelta(hours=3)
CONSOLE = "https://console.example/agent/requests/{number}"


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as started:
        yield started


@pytest.fixture
async def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault, inbox):
    settings = settings_for(notifier_dsn, fresh_topics, kafka_bootstrap, agent_console_url=CONSOLE)
    email = SmtpEmailSender(SmtpSettings("127.0.0.1", inbox.port, "County <no-reply@county.example>"))
    sms = RecordingChannelSender(WireChannel.sms)
    yield Harness(
        settings,
        fresh_topics,
        kafka_bootstrap,
        vault,
        senders={NotificationChannel.email: email, NotificationChannel.sms: sms},  # type: ignore[dict-item]
    )
    await email.close()


class Staff:
    """A jurisdiction of its own per test, with its teams and staff on the config topic."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.jurisdiction = "j" + unique_letters(8)
        self.emails: dict[str, str] = {}
        self.ids: dict[str, uuid.UUID] = {}
        self.events: list[Event[Any]] = []
        self.positions: list[Any] = []

    def config(self, payload: Any) -> None:
        self.events.append(
            Event.create(
                payload, request_id=None, jurisdiction_id=self.jurisdiction, actor=ADMIN, source="cli"
            )
        )

    async def member(self, who: str, roles: list[StaffRole], teams: list[str]) -> None:
        staff_id = uuid.uuid4()
        email = f"{who}-{unique_letters(6)}@county.example"
        key = new_key()
        async with (
            self.harness.vault.pool.connection() as conn
        ):  # the staff member's own key, as intake keeps it
            await conn.execute(
                "insert into vault.resident_keys (resident_id, key) values (%s, %s)", (staff_id, key)
            )
        contact = seal(PersonalData(email=email, name=f"{who} Staffer"), resident_id=staff_id, key=key)
        self.config(StaffCreated(staff_id=staff_id, contact=contact, roles=roles, teams=teams))
        self.emails[who], self.ids[who] = email, staff_id

    async def publish(self) -> None:
        topic = self.harness.topics.jurisdiction_config
        self.positions += await publish_events(self.harness.kafka, topic, self.events)
        self.events = []

    async def applied(self, notifier: Notifier) -> None:
        await assert_applied(
            notifier.pool,
            schema="notifier",
            consumer=notifier.settings.staff_directory_consumer_name,
            positions=self.positions,
        )

    def selfheal(self, payload: Any, number: str | None) -> Event[Any]:
        return Event.create(
            payload, request_id=number, jurisdiction_id=self.jurisdiction, actor=SELFHEAL, source="selfheal"
        )


async def streets_and_parks(harness: Harness) -> Staff:
    staff = Staff(harness)
    staff.config(TeamDefined(team_id="streets", name="Streets Crew"))
    staff.config(TeamDefined(team_id="parks", name="Parks"))
    await staff.member("lead", [StaffRole.agent, StaffRole.supervisor], ["streets"])
    await staff.member("parkslead", [StaffRole.supervisor], ["parks"])
    await staff.member("agent", [StaffRole.agent], ["streets"])
    await staff.member("gonelead", [StaffRole.supervisor], ["streets"])
    await staff.member("admin", [StaffRole.admin], [])
    staff.config(StaffDisabled(staff_id=staff.ids["gonelead"], reason=DisableReason.left))
    return staff


def to(inbox: SmtpInbox, address: str) -> list[Any]:
    return [r.message for r in inbox.to(address)]


async def mails(inbox: SmtpInbox, count: int) -> None:
    async def arrived() -> bool:
        return len(inbox.received) >= count

    await eventually(arrived, what=f"{count} e-mails")


async def staff_rows(notifier: Notifier, jurisdiction: str) -> list[tuple[str, str]]:
    async with notifier.pool.connection() as conn:
        cur = await conn.execute(
            """select n.kind, m.state from notifier.staff_messages m
                 join notifier.staff_notices n using (cause_event_id)
                where n.jurisdiction_id = %s order by m.seq""",
            (jurisdiction,),
        )
        return [tuple(r) for r in await cur.fetchall()]


async def test_an_escalation_is_mailed_to_its_team_s_active_supervisors_once_with_no_resident_contact(
    harness: Harness, inbox: SmtpInbox
):
    staff = await streets_and_parks(harness)
    await staff.publish()
    number = new_number()
    submitted = await harness.submitted(number, channel=Channel.sms)
    escalated = staff.selfheal(
        Escalated(
            reason=StuckReason.past_due,
            since=SINCE,
            team_id="streets",
            assignee=str(staff.ids["agent"]),
            service_code="pothole",
        ),
        number,
    )
    async with harness.running() as notifier:
        await staff.applied(notifier)
        await harness.publish(submitted, escalated, escalated)  # a retried publish: the inbox drops it
        await mails(inbox, 1)
        await harness.applied(notifier)
        await notifier.staff_loop.drain()
    (mail,) = inbox.messages
    assert inbox.received[0].rcpt_tos == [staff.emails["lead"]]
    assert mail["Subject"] == f"Escalated: report {number}"
    text = mail.get_body(("plain",)).get_content()
    for words in (
        f"Report {number} needs a supervisor: it is past the time it should have been resolved by.",
        "Category: pothole",
        "Team: Streets Crew",
        "It is assigned to a staff member.",
        "Stuck since ",
        CONSOLE.format(number=number),
    ):
        assert words in text
    for personal in (harness.phone, harness.email, NAME, "Staffer"):
        assert personal not in mail.as_string()
    # Staff of the jurisdiction read who was told, by staff id, on the request's messages.
    app = create_app(
        harness.settings,
        staff_verifier=verifier_for_tests(),
        vault=harness.vault,
        senders={},
        start_consumers=False,
        start_sending=False,
    )
    async with serving(app, "http://notifier") as client:
        r = await client.get(
            f"/api/v1/notifier/requests/{number}/messages",
            headers=staff_headers(staff.ids["lead"], "supervisor", jurisdiction_id=staff.jurisdiction),
        )
        (told,) = r.json()["staff_messages"]
        assert (told["kind"], told["reason"], told["role"], told["state"]) == (
            "escalated",
            "past_due",
            "supervisor",
            "sent",
        )
        assert told["staff_id"] == str(staff.ids["lead"]) and told["attempts"][0]["outcome"] == "accepted"
        assert staff.emails["lead"] not in r.text
        elsewhere = await client.get(
            f"/api/v1/notifier/requests/{number}/messages", headers=staff_headers(jurisdiction_id="demo")
        )
        assert elsewhere.json()["staff_messages"] == []
    # A restart that replays both topics from the start (new consumer groups) mails nobody again.
    tag = unique_letters(8)
    async with harness.running(
        requests_consumer_name=f"notifier.requests.v1.{tag}",
        staff_directory_consumer_name=f"notifier.staff.v1.{tag}",
    ) as notifier:
        await staff.applied(notifier)
        await harness.applied(notifier)
        await notifier.staff_loop.drain()
        assert await staff_rows(notifier, staff.jurisdiction) == [("escalated", "sent")]
    assert len(inbox.received) == 1


async def test_no_team_and_a_hot_spot_go_to_every_supervisor_of_the_jurisdiction(
    harness: Harness, inbox: SmtpInbox
):
    staff = await streets_and_parks(harness)
    await staff.publish()
    number = new_number()
    async with harness.running() as notifier:
        await staff.applied(notifier)
        await harness.publish(
            staff.selfheal(Escalated(reason=StuckReason.unacknowledged, since=SINCE), number),
            staff.selfheal(
                ClusterEscalated(
                    cluster_id="c-" + number,
                    service_code="streetlight",
                    requests=5,
                    detected_at=SINCE,
                    area_ids=["district-4"],
                ),
                None,
            ),
        )
        await mails(inbox, 4)
        await harness.applied(notifier)
        await notifier.staff_loop.drain()
    leads = {staff.emails["lead"], staff.emails["parkslead"]}
    assert {a for r in inbox.received for a in r.rcpt_tos} == leads and len(inbox.received) == 4
    (hot_spot,) = [m for m in to(inbox, staff.emails["parkslead"]) if m["Subject"] == "Hot spot: streetlight"]
    body = hot_spot.get_body(("plain",)).get_content()
    assert "5 reports of streetlight were found close together" in body and "Areas: district-4" in body
    (escalation,) = [m for m in to(inbox, staff.emails["lead"]) if m["Subject"].startswith("Escalated")]
    assert "Nobody is assigned to it." in escalation.get_body(("plain",)).get_content()


async def test_a_reminder_goes_to_the_assignee_and_once_they_are_disabled_to_their_team_s_supervisors(
    harness: Harness, inbox: SmtpInbox
):
    staff = await streets_and_parks(harness)
    await staff.publish()
    number = new_number()
    agent_id = str(staff.ids["agent"])
    async with harness.running() as notifier:
        await staff.applied(notifier)
        await harness.publish(
            staff.selfheal(AgentReminded(staff_id=agent_id, reason=StuckReason.dormant, since=SINCE), number)
        )
        await mails(inbox, 1)
        staff.config(StaffDisabled(staff_id=staff.ids["agent"], reason=DisableReason.suspended))
        await staff.publish()
        await staff.applied(notifier)
        later = SINCE + timedelta(hours=6)
        await harness.publish(
            staff.selfheal(AgentReminded(staff_id=agent_id, reason=StuckReason.dormant, since=later), number)
        )
        await mails(inbox, 2)
    first, second = inbox.received
    assert first.rcpt_tos == [staff.emails["agent"]] and second.rcpt_tos == [staff.emails["lead"]]
    assert "assigned to you" in first.message.get_body(("plain",)).get_content()
    assert "can no longer work on it" in second.message.get_body(("plain",)).get_content()


async def test_an_escalation_folded_before_the_directory_waits_for_its_supervisors(
    harness: Harness, inbox: SmtpInbox
):
    staff = await streets_and_parks(harness)
    number = new_number()
    async with harness.running(notifier_max_attempts=400) as notifier:
        await harness.publish(
            staff.selfheal(Escalated(reason=StuckReason.not_sent, since=SINCE, team_id="parks"), number)
        )
        await harness.applied(notifier)
        await staff.publish()  # the directory arrives after the escalation was folded
        await mails(inbox, 1)
    assert inbox.received[0].rcpt_tos == [staff.emails["parkslead"]]


async def test_a_late_declaration_tells_the_resident_in_spanish_on_their_channel_once(
    harness: Harness, inbox: SmtpInbox
):
    number = new_number()
    sms = harness.senders[NotificationChannel.sms]
    late = Event.create(
        LateDeclared(reason=StuckReason.past_due, since=SINCE, due_at=SINCE),
        request_id=number,
        jurisdiction_id="demo",
        actor=SELFHEAL,
        source="selfheal",
    )
    async with harness.running() as notifier:
        await harness.publish(await harness.submitted(number, channel=Channel.sms, language="es"), late)

        async def both_sent() -> bool:
            return len(sms.sent) >= 2

        await eventually(both_sent, what="the receipt and the late notice")
        await harness.applied(notifier)
        await notifier.sender_loop.drain()
    _receipt, told = sms.sent
    assert told.to == harness.phone and told.language == "es"
    assert (
        told.text.startswith(f"Su reporte {number} lleva retraso") and "Se avisó a un supervisor" in told.text
    )
    events = await read_all_events(harness.kafka, harness.topics.request_events, harness.topics.partitions)
    sent = [e.payload for e in events if isinstance(e.payload, NotificationSent)]
    assert [(s.kind, s.cause_event_id) for s in sent if s.kind is MessageKind.late] == [
        (MessageKind.late, late.event_id)
    ]
    # A replay of the log sends nothing again.
    async with harness.running(
        requests_consumer_name=f"notifier.requests.v1.{unique_letters(8)}"
    ) as notifier:
        await harness.applied(notifier)
        await notifier.sender_loop.drain()
    assert len(sms.sent) == 2 and inbox.received == []


@pytest.fixture
def recording(notifier_dsn, fresh_topics, kafka_bootstrap, vault) -> Harness:
    """The notifier with recording senders, told what to answer."""
    return Harness(
        settings_for(notifier_dsn, fresh_topics, kafka_bootstrap), fresh_topics, kafka_bootstrap, vault
    )


async def attempts_of(notifier: Notifier, jurisdiction: str) -> list[tuple[str, int, str]]:
    async with notifier.pool.connection() as conn:
        cur = await conn.execute(
            """select m.state, a.attempt, a.outcome from notifier.staff_attempts a
                 join notifier.staff_messages m using (message_id)
                 join notifier.staff_notices n using (cause_event_id)
                where n.jurisdiction_id = %s order by m.seq, a.attempt""",
            (jurisdiction,),
        )
        return [tuple(r) for r in await cur.fetchall()]


async def test_a_failing_mail_server_delays_a_staff_mail_and_a_refusal_or_an_erased_key_ends_it(
    recording: Harness,
):
    email = recording.senders[NotificationChannel.email]
    email.answer_next(
        Outcome.failed, Outcome.failed
    )  # the first escalation's two tries; the third is accepted
    staff = await streets_and_parks(recording)
    await staff.publish()
    async with recording.running() as notifier:
        await staff.applied(notifier)
        await recording.publish(
            staff.selfheal(Escalated(reason=StuckReason.past_due, since=SINCE, team_id="parks"), new_number())
        )

        async def settled() -> bool:
            return any(s == "sent" for s, _, _ in await attempts_of(notifier, staff.jurisdiction))

        await eventually(settled, what="the escalation sent after two failures")
        assert await attempts_of(notifier, staff.jurisdiction) == [
            ("sent", 1, "failed"),
            ("sent", 2, "failed"),
            ("sent", 3, "accepted"),
        ]
        email.answer_next(Outcome.refused)
        await recording.publish(
            staff.selfheal(Escalated(reason=StuckReason.dormant, since=SINCE, team_id="parks"), new_number())
        )
        await recording.vault.erase(staff.ids["lead"])  # the streets lead left and their key was shredded
        await recording.publish(
            staff.selfheal(
                Escalated(reason=StuckReason.dormant, since=SINCE, team_id="streets"), new_number()
            )
        )
        await recording.applied(notifier)

        async def all_settled() -> list[tuple[str, str]] | None:
            rows = await staff_rows(notifier, staff.jurisdiction)
            return rows if len(rows) == 3 and all(state != "pending" for _, state in rows) else None

        rows = await eventually(all_settled, what="three staff messages settled")
    assert [state for _, state in rows] == ["sent", "given_up", "erased"]
    assert [m.to for m in email.sent] == [staff.emails["parkslead"]]
