"""Residents' replies to the notifier's emails on the real broker and database: the email (through the real SMTP
sender) carries the request's own `Reply-To`; a reply sent to it over SMTP (aiosmtplib) to the notifier's listener
lands on the request as the resident's internal comment, quoted history stripped, once; forged or unknown addresses
are refused at RCPT, an oversized reply at DATA."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from civicloop_channels.email import read_reply_address
from civicloop_events.payloads import Channel, CommentAdded, CommentVisibility, NotificationChannel
from civicloop_notifier.bootstrap import bootstrap
from civicloop_testing.events import read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.processes import free_port
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from notifier_harness import Harness, new_number, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DOMAIN = "reply.civicloop.example"
EMAIL = NotificationChannel.email


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as started:
        yield started


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault, monkeypatch, inbox) -> Harness:
    for name, value in {
        "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
        "CIVICLOOP_EMAIL_PORT": str(inbox.port),
        "CIVICLOOP_EMAIL_MAIL_FROM": "CivicLoop <no-reply@county.example>",
    }.items():
        monkeypatch.setenv(name, value)
    settings = settings_for(
        notifier_dsn,
        fresh_topics,
        kafka_bootstrap,
        notifier_providers={EMAIL: "smtp"},
        notifier_reply_domain=DOMAIN,
        notifier_reply_smtp_port=free_port(),
        notifier_reply_max_bytes=8192,
    )
    return Harness(settings, fresh_topics, kafka_bootstrap, vault)


def reply(harness: Harness, to: str, text: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = harness.email
    message["To"] = to
    message["Subject"] = "Re: Your request"
    message["Message-ID"] = message_id
    message.set_content(text)
    return message


async def send(harness: Harness, message: EmailMessage) -> Any:
    return await aiosmtplib.send(
        message, hostname="127.0.0.1", port=harness.settings.notifier_reply_smtp_port, timeout=10
    )


async def comments(harness: Harness, number: str) -> list[Any]:
    events = await read_all_events(harness.kafka, harness.topics.request_events, harness.topics.partitions)
    return [e for e in events if isinstance(e.payload, CommentAdded) and e.request_id == number]


async def test_a_reply_to_the_email_lands_once_on_its_request_and_strangers_are_refused(
    harness: Harness, inbox: SmtpInbox
):
    number, other = new_number(), new_number()
    notifier = await bootstrap(
        harness.settings, vault=harness.vault, clock=harness.clock
    )  # the real SMTP sender
    try:
        await harness.publish(
            await harness.submitted(number, channel=Channel.email),
            await harness.submitted(other, channel=Channel.email),
        )

        async def mailed() -> list | None:
            got = [
                r
                for r in inbox.to(harness.email)
                if number in str(r.message["Subject"]) + r.message.get_body(("plain",)).get_content()
            ]
            return got or None

        [received] = await eventually(mailed, what="the email about the request")
        reply_to = str(received.message["Reply-To"])
        address = read_reply_address(reply_to, domain=DOMAIN)
        assert address is not None and address.request_number == number
        assert harness.email not in reply_to and "@" + DOMAIN in reply_to

        text = "Still broken, and deeper now.\n\nOn Mon, Dec 7, 2026 at 9:00 AM CivicLoop wrote:\n> Your request was received.\n"
        await send(harness, reply(harness, reply_to, text, "<r1@resident.example>"))
        await send(
            harness, reply(harness, reply_to, text, "<r1@resident.example>")
        )  # the relay delivers it twice

        # Another request's number with this tag, a made-up tag, another domain: refused at RCPT.
        local, _, _ = reply_to.partition("@")
        forged = [
            local.replace(number.replace("-", "").lower(), other.replace("-", "").lower()) + "@" + DOMAIN,
            local[:-4] + "abcd@" + DOMAIN,
            local + "@elsewhere.example",
        ]
        for address_ in forged:
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                await send(harness, reply(harness, address_, "hello", "<f@x.example>"))
        with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
            await send(harness, reply(harness, reply_to, "x " * 8000, "<big@resident.example>"))
        assert too_big.value.code == 552

        landed = await eventually(lambda: comments(harness, number), what="the reply as a comment")
        async with notifier.pool.connection() as conn:
            kept = [
                r[0]
                for r in await (
                    await conn.execute("select inbound_id from notifier.inbound_messages")
                ).fetchall()
            ]
        assert kept and not [k for k in kept if "resident.example" in k]  # the Message-ID only as a digest
    finally:
        await notifier.close()
    assert [c.payload.text for c in landed] == ["Still broken, and deeper now."]
    (comment,) = landed
    assert comment.payload.visibility is CommentVisibility.internal
    assert (comment.actor.kind.value, comment.source) == ("resident", "email")
    assert comment.actor.id == str(await harness.vault.find_resident(email=harness.email))
    assert harness.email not in comment.model_dump_json()
    assert await comments(harness, other) == []
