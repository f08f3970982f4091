"""The notifier with its real providers chosen by configuration: SMS through the `twilio` SDK to the local Twilio
server, email through `aiosmtplib` to aiosmtpd, on the real broker and database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from civicloop_events.payloads import NotificationChannel, NotificationSent
from civicloop_notifier.bootstrap import bootstrap
from civicloop_testing.events import read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.twilio_server import TwilioServer, twilio_server
from notifier_harness import Harness, new_number, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OUR_NUMBER = "+15005550006"
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
def providers_env(monkeypatch: pytest.MonkeyPatch, twilio: TwilioServer, inbox: SmtpInbox) -> None:
    """The variables every service reads its channels from, as `make run` sets them."""
    for name, value in {
        "CIVICLOOP_SMS_PROVIDER": "twilio",
        "CIVICLOOP_SMS_ACCOUNT_SID": twilio.account_sid,
        "CIVICLOOP_SECRET_SMS_AUTH_TOKEN": twilio.auth_token,
        "CIVICLOOP_SMS_SMS_FROM": OUR_NUMBER,
        "CIVICLOOP_SMS_BASE_URL": twilio.url,
        "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
        "CIVICLOOP_EMAIL_PORT": str(inbox.port),
        "CIVICLOOP_EMAIL_MAIL_FROM": "CivicLoop <no-reply@county.example>",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault, providers_env) -> Harness:
    settings = settings_for(
        notifier_dsn,
        fresh_topics,
        kafka_bootstrap,
        notifier_providers={SMS: "twilio", EMAIL: "smtp"},
    )
    return Harness(settings, fresh_topics, kafka_bootstrap, vault)


async def test_a_submission_is_heard_once_by_sms_through_twilio(
    harness: Harness, twilio: TwilioServer, inbox: SmtpInbox
):
    number = new_number()
    notifier = await bootstrap(harness.settings, vault=harness.vault, clock=harness.clock)
    try:
        await harness.publish(await harness.submitted(number))

        async def texted() -> list | None:
            return twilio.to(harness.phone) or None

        texts = await eventually(texted, what="the resident's text at the local Twilio")
        sent = await eventually(
            lambda: _sent_of(harness, number), what="NotificationSent for the submission on the log"
        )
    finally:
        await notifier.close()

    # A second start reads the same log and sends nothing more.
    again = await bootstrap(harness.settings, vault=harness.vault, clock=harness.clock, start_sending=False)
    try:
        await harness.applied(again)
        assert await again.sender_loop.drain() == 0
    finally:
        await again.close()

    assert len(twilio.to(harness.phone)) == 1
    (text,) = texts
    assert text.sender == OUR_NUMBER and number in text.body
    assert not inbox.received  # the resident chose SMS: no email
    (event,) = sent
    assert (event.payload.channel, event.payload.provider, event.payload.provider_message_id) == (
        SMS,
        "twilio",
        text.sid,
    )


async def _sent_of(harness: Harness, number: str) -> list | None:
    events = await read_all_events(harness.kafka, harness.topics.request_events, harness.topics.partitions)
    sent = [e for e in events if isinstance(e.payload, NotificationSent) and e.request_id == number]
    return sent or None
