"""Twilio's delivery-status callbacks on the real broker and database: signed by the local Twilio server over the
notifier's public URL, kept on the attempt they name; an accepted text that never arrived goes to email, once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from civicloop_events.payloads import Channel, NotificationChannel
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.staff_tokens import staff_headers
from civicloop_testing.twilio_server import TwilioServer, twilio_server, twilio_signature
from inbound_harness import OUR_NUMBER, STATUS_URL, notifier_served, provider_environment
from notifier_harness import Harness, new_number, settings_for
from psycopg_pool import AsyncConnectionPool

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SMS, EMAIL = NotificationChannel.sms, NotificationChannel.email


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as started:
        yield started


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault, monkeypatch, twilio, inbox) -> Harness:
    provider_environment(monkeypatch, twilio, inbox)
    settings = settings_for(
        notifier_dsn,
        fresh_topics,
        kafka_bootstrap,
        public_url="https://notifier.civicloop.example",
        notifier_providers={SMS: "twilio", EMAIL: "smtp"},
    )
    return Harness(settings, fresh_topics, kafka_bootstrap, vault)


async def attempts(pool: AsyncConnectionPool, number: str) -> list[tuple]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """select a.channel, a.outcome, a.provider_message_id, a.delivery_state, a.delivery_error
                 from notifier.attempts a join notifier.messages m using (notification_id)
                where m.request_id = %s order by a.attempted_at""",
            (number,),
        )
        return [tuple(r) for r in await cur.fetchall()]


async def test_an_undelivered_text_goes_to_email_once_and_a_delivered_one_is_kept(
    harness: Harness, twilio: TwilioServer, inbox: SmtpInbox, notifier_pool: AsyncConnectionPool
):
    reached, unreachable = new_number(), new_number()
    other = Harness(harness.settings, harness.topics, harness.kafka, harness.vault)
    twilio.unreachable.add(other.phone)
    with notifier_served(harness.settings, twilio) as local:
        await harness.publish(
            await harness.submitted(reached, channel=Channel.sms),
            await other.submitted(unreachable, channel=Channel.sms),
        )

        async def delivered() -> list | None:
            rows = await attempts(notifier_pool, reached)
            return rows if rows and rows[0][3] == "delivered" else None

        [(channel, outcome, sid, state, error)] = await eventually(delivered, what="the text's delivery")
        assert (channel, outcome, state, error) == ("sms", "accepted", "delivered", None)
        assert sid == twilio.to(harness.phone)[0].sid

        async def on_email() -> list | None:
            rows = await attempts(notifier_pool, unreachable)
            return rows if len(rows) == 2 else None

        rows = await eventually(on_email, what="the undelivered text's message sent by email")
        assert [r[:2] for r in rows] == [("sms", "accepted"), ("email", "accepted")]
        assert (rows[0][3], rows[0][4]) == ("undelivered", "30003")
        [mail] = inbox.to(other.email)
        assert unreachable in mail.message.get_body(("plain",)).get_content()

        # Twilio retries a callback: the same receipt again changes nothing, and nothing is sent again.
        [undelivered] = [
            c
            for c in twilio.callbacks
            if c.params["MessageSid"] == rows[0][2] and c.params["MessageStatus"] == "undelivered"
        ]
        assert undelivered.answered == 204
        assert (await twilio_post(twilio, undelivered.params)).status_code == 204
        # A changed field under the old signature, a signature over the proxied address, none at all: refused.
        forged = dict(undelivered.params, MessageStatus="failed")
        old_signature = twilio_signature(twilio.auth_token, STATUS_URL, undelivered.params)
        assert (await twilio_post(twilio, forged, signature=old_signature)).status_code == 403
        local_url = twilio.behind_proxy(STATUS_URL)
        proxied = twilio_signature(twilio.auth_token, local_url, forged)
        assert (await twilio_post(twilio, forged, signature=proxied)).status_code == 403
        assert (await twilio_post(twilio, forged, signature="")).status_code == 403
        assert await message_states(notifier_pool, unreachable) == [("sent", "email")]
        # Agents see it attempt by attempt.
        async with httpx.AsyncClient(timeout=10) as client:
            seen = await client.get(
                f"{local}/api/v1/notifier/requests/{unreachable}/messages", headers=staff_headers()
            )
        [message] = seen.json()["messages"]
        assert [(a["channel"], a["delivery_state"], a["delivery_error"]) for a in message["attempts"]] == [
            ("sms", "undelivered", "30003"),
            ("email", None, None),
        ]
    assert len(inbox.to(other.email)) == 1
    assert len(twilio.to(other.phone)) == 1
    assert (await attempts(notifier_pool, unreachable))[0][3:] == ("undelivered", "30003")


async def message_states(pool: AsyncConnectionPool, number: str) -> list[tuple]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select state, channel from notifier.messages where request_id = %s", (number,)
        )
        return [tuple(r) for r in await cur.fetchall()]


async def twilio_post(
    twilio: TwilioServer, params: dict[str, str], *, signature: str | None = None
) -> httpx.Response:
    """A callback posted as Twilio posts it, to the notifier behind its public address."""
    signed = twilio_signature(twilio.auth_token, STATUS_URL, params) if signature is None else signature
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            twilio.behind_proxy(STATUS_URL), data=params, headers={"X-Twilio-Signature": signed}
        )


async def test_a_callback_that_overtakes_the_answer_to_the_send_is_applied_all_the_same(
    harness: Harness, twilio: TwilioServer, inbox: SmtpInbox, notifier_pool: AsyncConnectionPool
):
    number = new_number()
    twilio.unreachable.add(harness.phone)
    twilio.callbacks_before_answer = (
        True  # the receipts reach the notifier before its attempt row is committed
    )
    with notifier_served(harness.settings, twilio):
        await harness.publish(await harness.submitted(number, channel=Channel.sms))

        async def on_email() -> list | None:
            rows = await attempts(notifier_pool, number)
            return rows if len(rows) == 2 else None

        rows = await eventually(on_email, what="the undelivered text's message sent by email")
    assert [c.answered for c in twilio.callbacks] == [204, 204]
    assert [r[:2] for r in rows] == [("sms", "accepted"), ("email", "accepted")]
    assert (rows[0][3], rows[0][4]) == ("undelivered", "30003")
    assert len(inbox.to(harness.email)) == 1 and len(twilio.to(harness.phone)) == 1


async def test_callbacks_are_counted_apart_from_the_per_client_limit(harness: Harness, twilio: TwilioServer):
    """Twilio posts a callback per text from a few addresses and never resends one refused: a per-client limit
    sized for people must not drop them, while their own limit still holds."""
    settings = harness.settings.model_copy(
        update={"rate_limit_per_client": "3/minute", "notifier_webhook_rate_limit": "12/minute"}
    )
    with notifier_served(settings, twilio) as local:
        answers = [
            (
                await twilio_post(twilio, {"MessageSid": f"SM{i:032d}", "MessageStatus": "delivered"})
            ).status_code
            for i in range(13)
        ]
        async with httpx.AsyncClient(timeout=10) as client:
            staff = [
                (
                    await client.get(
                        f"{local}/api/v1/notifier/requests/1AAA-BBBB/messages", headers=staff_headers()
                    )
                )
                for _ in range(4)
            ]
    assert answers == [204] * 12 + [429]
    assert [r.status_code for r in staff][3] == 429 and 429 not in [r.status_code for r in staff][:3]
