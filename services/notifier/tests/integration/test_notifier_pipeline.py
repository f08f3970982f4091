"""The notifier end to end on the real broker and database: events on the log in, messages through the channel
senders out, exactly once, with a row per attempt and `NotificationSent` / `NotificationFailed` on the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicloop_channels.message import Outcome
from civicloop_events.payloads import (
    Channel,
    CommentAdded,
    MergedAsDuplicate,
    NotificationChannel,
    NotificationFailed,
    NotificationSent,
    StatusChanged,
    SurveyAnswered,
    VisitRescheduled,
    VisitScheduled,
)
from civicloop_notifier.bootstrap import Notifier
from civicloop_notifier.settings import QuietHoursSetting
from civicloop_testing.events import read_all_events
from civicloop_testing.polling import eventually
from notifier_harness import NAME, Harness, agent, new_number, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SMS, EMAIL_CHANNEL = NotificationChannel.sms, NotificationChannel.email
START = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault) -> Harness:
    return Harness(
        settings_for(notifier_dsn, fresh_topics, kafka_bootstrap), fresh_topics, kafka_bootstrap, vault
    )


async def states(notifier: Notifier, number: str) -> list[tuple[str, str, str | None]]:
    async with notifier.pool.connection() as conn:
        cur = await conn.execute(
            "select kind, state, channel from notifier.messages where request_id = %s order by seq",
            (number,),
        )
        return [tuple(r) for r in await cur.fetchall()]


async def settled(notifier: Notifier, number: str, count: int) -> list[tuple[str, str, str | None]]:
    """The request's messages once `count` of them are no longer pending."""

    async def probe() -> list[tuple[str, str, str | None]] | None:
        rows = await states(notifier, number)
        done = [r for r in rows if r[1] != "pending"]
        return rows if len(done) >= count else None

    return await eventually(probe, what=f"{count} messages of {number} settled")


async def notifier_events(harness: Harness) -> list[Any]:
    events = await read_all_events(harness.kafka, harness.topics.request_events, harness.topics.partitions)
    return [e for e in events if isinstance(e.payload, NotificationSent | NotificationFailed)]


async def test_a_spanish_speaking_resident_hears_each_change_once_on_their_channel(harness: Harness):
    number = new_number()
    visit = VisitScheduled(visit_id="v1", starts_at=START, duration_minutes=60, address="1 Main St")
    moved = VisitRescheduled(
        visit_id="v1",
        starts_at=START + timedelta(days=1),
        duration_minutes=60,
        previous_starts_at=START,
        address="1 Main St",
    )
    async with harness.running() as notifier:
        await harness.publish(
            await harness.submitted(number, language="es"),
            agent(number, StatusChanged(status="acknowledged", previous_status="open")),
            agent(number, CommentAdded(text="Solo para el equipo", visibility="internal")),
            agent(number, visit),
            agent(number, moved),
            agent(number, StatusChanged(status="closed", previous_status="in_progress", reason="fixed")),
            agent(number, StatusChanged(status="open", previous_status="closed", reason="not_fixed")),
        )
        rows = await settled(notifier, number, 6)
    assert [r[0] for r in rows] == [
        "received",
        "acknowledged",
        "visit_scheduled",
        "visit_rescheduled",
        "closed",
        "reopened",
    ]
    assert {r[1:] for r in rows} == {("sent", "sms")}
    texts = [m.text for m in harness.senders[SMS].sent]
    assert len(texts) == 6 and not harness.senders[EMAIL_CHANNEL].sent
    assert texts[0].startswith(f"Recibimos su reporte {number}")
    assert f"https://civicloop.example/track/{number}" in texts[0]
    assert "Motivo: resuelto." in texts[4] and "¿Se resolvió?" in texts[4]
    assert "Solo para el equipo" not in "".join(texts)  # an internal comment is never sent
    assert {m.to for m in harness.senders[SMS].sent} == {harness.phone}
    assert len({m.message_id for m in harness.senders[SMS].sent}) == 6

    sent = [e for e in await notifier_events(harness) if isinstance(e.payload, NotificationSent)]
    assert len(sent) == 6 and {e.request_id for e in sent} == {number}
    assert {(e.payload.channel, e.payload.provider, e.payload.language) for e in sent} == {
        (SMS, "fake", "es")
    }


async def test_nothing_in_clear_is_kept_and_nothing_in_clear_is_published(harness: Harness):
    number = new_number()
    async with harness.running() as notifier:
        await harness.publish(await harness.submitted(number))
        await settled(notifier, number, 1)
        async with notifier.pool.connection() as conn:
            cur = await conn.execute(
                """select (select coalesce(string_agg(r::text, ''), '') from notifier.requests r where request_id = %s)
                       || (select coalesce(string_agg(m::text, ''), '') from notifier.messages m where request_id = %s)
                       || (select coalesce(string_agg(a::text, ''), '') from notifier.attempts a
                            join notifier.messages m using (notification_id) where m.request_id = %s)""",
                (number, number, number),
            )
            (stored,) = await cur.fetchone()
    published = "".join(e.model_dump_json() for e in await notifier_events(harness))
    for secret in (harness.phone, harness.phone[2:], harness.email, NAME):
        assert secret not in stored and secret not in published


async def test_a_replay_of_the_log_and_a_restart_send_nothing_again(harness: Harness):
    number = new_number()
    async with harness.running() as notifier:
        await harness.publish(
            await harness.submitted(number),
            agent(number, StatusChanged(status="acknowledged", previous_status="open")),
        )
        await settled(notifier, number, 2)
    assert len(harness.senders[SMS].sent) == 2

    async with harness.running(start_consumers=False) as restarted:  # the sender starts again on what it kept
        assert await restarted.sender_loop.drain() == 0
    replay_group = harness.settings.requests_consumer_name + ".replay"
    async with harness.running(requests_consumer_name=replay_group) as replaying:  # the whole log again
        await harness.applied(replaying)
        assert await replaying.sender_loop.drain() == 0
        assert [r[1] for r in await states(replaying, number)] == ["sent", "sent"]
    assert len(harness.senders[SMS].sent) == 2
    assert len([e for e in await notifier_events(harness) if isinstance(e.payload, NotificationSent)]) == 2


async def test_a_refused_channel_falls_back_and_says_so(harness: Harness):
    number = new_number()
    harness.senders[SMS].answer_next(Outcome.refused)
    async with harness.running() as notifier:
        await harness.publish(await harness.submitted(number))
        rows = await settled(notifier, number, 1)
    assert rows == [("received", "sent", "email")]
    assert [m.to for m in harness.senders[EMAIL_CHANNEL].sent] == [harness.email] and not harness.senders[
        SMS
    ].sent
    failed, sent = await notifier_events(harness)
    assert isinstance(failed.payload, NotificationFailed) and failed.payload.outcome.value == "refused"
    assert failed.payload.channel is SMS and failed.payload.fallback_channel is EMAIL_CHANNEL
    assert isinstance(sent.payload, NotificationSent) and sent.payload.channel is EMAIL_CHANNEL


async def test_a_provider_outage_delays_a_message_and_loses_or_duplicates_nothing(harness: Harness):
    number = new_number()
    harness.senders[SMS].answer_next(Outcome.failed, Outcome.failed)
    async with harness.running() as notifier:
        await harness.publish(await harness.submitted(number))
        rows = await settled(notifier, number, 1)
        async with notifier.pool.connection() as conn:
            cur = await conn.execute(
                """select a.attempt, a.outcome, a.provider_message_id from notifier.attempts a
                     join notifier.messages m using (notification_id) where m.request_id = %s order by a.attempt""",
                (number,),
            )
            attempts = [tuple(r) for r in await cur.fetchall()]
    assert rows == [("received", "sent", "sms")]
    assert [a[:2] for a in attempts] == [(1, "failed"), (2, "failed"), (3, "accepted")]
    assert attempts[2][2] is not None and len(harness.senders[SMS].sent) == 1
    [sent] = await notifier_events(harness)
    assert sent.payload.attempt == 3


async def test_a_hanging_provider_is_cut_off_and_tried_again(harness: Harness):
    number = new_number()
    harness.senders[SMS].hang_s = 5.0
    async with harness.running(notifier_send_timeout_s=0.2) as notifier:
        await harness.publish(await harness.submitted(number))

        async def one_failed_attempt() -> bool:
            async with notifier.pool.connection() as conn:
                cur = await conn.execute(
                    """select count(*) from notifier.attempts a join notifier.messages m using (notification_id)
                        where m.request_id = %s and a.outcome = 'failed' and a.error = 'timeout'""",
                    (number,),
                )
                return (await cur.fetchone())[0] >= 1

        await eventually(one_failed_attempt, what="an attempt cut off by the send bound")
        harness.senders[SMS].hang_s = 0.0
        assert await settled(notifier, number, 1) == [("received", "sent", "sms")]
    assert len(harness.senders[SMS].sent) == 1


async def test_after_erasure_nothing_is_sent(harness: Harness):
    number = new_number()
    submitted = await harness.submitted(number)
    await harness.vault.erase(submitted.payload.contact.resident_id)
    async with harness.running() as notifier:
        await harness.publish(
            submitted, agent(number, StatusChanged(status="acknowledged", previous_status="open"))
        )
        rows = await settled(notifier, number, 2)
    assert {r[1] for r in rows} == {"erased"}
    assert not harness.senders[SMS].sent and not harness.senders[EMAIL_CHANNEL].sent
    assert await notifier_events(harness) == []


async def test_an_opted_out_number_gets_no_texts_until_it_opts_in_again(harness: Harness):
    """A STOP on SMS stops texts only: the message falls back to WhatsApp, the next channel the number reaches."""
    first, second = new_number(), new_number()
    async with harness.running() as notifier:
        p = harness.phone
        await notifier.preferences.opt_out(SMS, f"+1 ({p[2:5]}) {p[5:8]}-{p[8:]}")  # as typed, not as stored
        assert await notifier.preferences.is_opted_out(SMS, harness.phone)
        await harness.publish(await harness.submitted(first, email=None))
        rows = await settled(notifier, first, 1)
        assert rows == [("received", "sent", "whatsapp")]
        await notifier.preferences.opt_in(SMS, harness.phone)
        await harness.publish(await harness.submitted(second, email=None))
        assert await settled(notifier, second, 1) == [("received", "sent", "sms")]
        async with notifier.pool.connection() as conn:
            cur = await conn.execute("select digest::text from notifier.opt_outs")
            digests = "".join(r[0] for r in await cur.fetchall())
    assert harness.phone[2:] not in digests
    assert [m.text.split(".")[0] for m in harness.senders[SMS].sent] == [f"We received your report {second}"]
    assert [m.to for m in harness.senders[NotificationChannel.whatsapp].sent] == [harness.phone]


async def test_in_quiet_hours_a_message_waits_and_then_goes(harness: Harness):
    number = new_number()
    now = datetime.now(UTC)
    window = QuietHoursSetting(
        time_zone="UTC", start=(now - timedelta(hours=1)).time(), end=(now + timedelta(hours=1)).time()
    )
    async with harness.running(notifier_quiet_hours={"demo": window}) as notifier:
        await harness.publish(await harness.submitted(number))
        await harness.applied(notifier)

        async def postponed() -> datetime | None:
            async with notifier.pool.connection() as conn:
                cur = await conn.execute(
                    "select next_attempt_at from notifier.messages where request_id = %s", (number,)
                )
                row = await cur.fetchone()
            return row[0] if row and row[0] > now + timedelta(minutes=30) else None

        release = await eventually(postponed, what="the message postponed to the end of quiet hours")
        assert not harness.senders[SMS].sent
        assert release.astimezone(UTC).time() == window.end  # the window's end, to the microsecond
        harness.clock.offset = timedelta(hours=1, minutes=1)
        notifier.sender_loop.wake()
        assert await settled(notifier, number, 1) == [("received", "sent", "sms")]


async def test_a_merged_residents_hear_the_originals_updates(harness: Harness):
    original, duplicate = new_number(), new_number()
    async with harness.running() as notifier:
        await harness.publish(
            await harness.submitted(original, channel=Channel.email),
            await harness.submitted(duplicate, phone="+13035550199", email=None),
            agent(duplicate, MergedAsDuplicate(original_request_id=original)),
            agent(original, StatusChanged(status="acknowledged", previous_status="open")),
        )
        originals = await settled(notifier, original, 2)
        duplicates = await settled(notifier, duplicate, 3)
    assert [r[0] for r in originals] == ["received", "acknowledged"]
    assert [r[0] for r in duplicates] == ["received", "merged", "acknowledged"]
    [told_of_merge, told_of_ack] = harness.senders[SMS].sent[1:]
    assert original in told_of_merge.text and told_of_ack.text.startswith(
        f"Your report {original} was acknowledged"
    )


async def test_a_reply_to_was_it_fixed_becomes_a_survey_answer_once(harness: Harness):
    number = new_number()
    async with harness.running() as notifier:
        await harness.publish(
            await harness.submitted(number),
            agent(number, StatusChanged(status="closed", previous_status="open", reason="fixed")),
        )
        await settled(notifier, number, 2)
        assert await notifier.surveys.answer(SMS, harness.phone, "thanks!", answer_id="SM1") is False
        assert await notifier.surveys.answer(SMS, harness.phone, "Yes 9", answer_id="SM2")
        assert await notifier.surveys.answer(
            SMS, harness.phone, "Yes 9", answer_id="SM2"
        )  # the provider redelivered it
        assert (
            await notifier.surveys.answer(SMS, "+13035550100", "No 1", answer_id="SM3") is False
        )  # a stranger
    events = await read_all_events(harness.kafka, harness.topics.request_events, harness.topics.partitions)
    answers = {e.event_id: e for e in events if isinstance(e.payload, SurveyAnswered)}
    [answer] = answers.values()
    assert answer.request_id == number and (answer.payload.fixed, answer.payload.nps_score) == (True, 9)
    assert harness.phone not in answer.model_dump_json()


async def test_a_merged_resident_hears_an_update_the_consumer_read_before_the_merge(harness: Harness):
    """The original's partition may be read ahead of the duplicate's: an update made after the merge still reaches
    the duplicate's resident, once."""
    original, duplicate = new_number(), new_number()
    async with harness.running() as notifier:
        await harness.publish(
            await harness.submitted(original, channel=Channel.email),
            await harness.submitted(duplicate, phone="+13035550198", email=None),
        )
        merge = agent(duplicate, MergedAsDuplicate(original_request_id=original))
        ack = agent(original, StatusChanged(status="acknowledged", previous_status="open"))
        await harness.publish(ack)
        await settled(notifier, original, 2)
        await harness.publish(merge)
        duplicates = await settled(notifier, duplicate, 3)
    assert [r[0] for r in duplicates] == ["received", "merged", "acknowledged"]
    assert [m.text.split(" ")[0:3] for m in harness.senders[SMS].sent] == [
        ["We", "received", "your"],
        ["Your", "report", duplicate],
        ["Your", "report", original],
    ]
