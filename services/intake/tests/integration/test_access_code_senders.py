"""The `AccessCodeSender` port: one contract, run against the development sink and against the real sender (SMS
through the `twilio` SDK to the local Twilio server, or through the second provider, Vonage, chosen by
`CIVICLOOP_SMS_*`; email through `aiosmtplib` to an aiosmtpd inbox); then what only the real sender does (languages, refusals, outages), each read back where a resident would read it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_channels.environment import sms_settings_from_environment
from civicloop_channels.message import Channel
from civicloop_channels.sms_provider import ClosingSender, sms_sender
from civicloop_channels.twilio_sms import TwilioSender, TwilioSettings
from civicloop_intake.adapters.access_code_sink import FileAccessCodeSink, read_sink
from civicloop_intake.adapters.channel_access_codes import ChannelAccessCodeSender
from civicloop_intake.domain.resident_access import ContactKind, ResidentContact
from civicloop_intake.service_layer.resident_ports import (
    AccessCodeMessage,
    AccessCodeSender,
    CodeNotDelivered,
)
from civicloop_testing.processes import free_port
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.twilio_server import TwilioServer, twilio_server
from civicloop_testing.vonage_server import VonageServer, vonage_server

OUR_NUMBER = "+15005550006"
PHONE = ResidentContact(ContactKind.phone, "+12025550171")
EMAIL = ResidentContact(ContactKind.email, "rosa.diaz@example.org")
_CODE = re.compile(r"\b(\d{6})\b")


def message(to: ResidentContact, code: str, language: str = "en") -> AccessCodeMessage:
    return AccessCodeMessage(to, code, datetime.now(UTC) + timedelta(minutes=10), language)


@dataclass
class Delivery:
    """A sender and where its codes land, read back per contact as a resident would find them."""

    sender: AccessCodeSender
    codes_at: Callable[[ResidentContact], list[str]]


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


@pytest.fixture(scope="module")
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as server:
        yield server


def twilio_settings(twilio: TwilioServer, **changes: object) -> TwilioSettings:
    values: dict[str, object] = {
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "sms_from": OUR_NUMBER,
        "base_url": twilio.url,
        "timeout_s": 5.0,
    }
    return TwilioSettings(**{**values, **changes})  # type: ignore[arg-type]


def smtp_settings(port: int) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1", port=port, mail_from="CivicLoop <no-reply@civicloop.example>", timeout_s=5
    )


@pytest.fixture(scope="module")
def vonage() -> Iterator[VonageServer]:
    with vonage_server() as server:
        yield server


def vonage_environment(vonage: VonageServer) -> dict[str, str]:
    """The second provider, chosen the way a service reads it (`CIVICLOOP_SMS_*`)."""
    return {
        "CIVICLOOP_SMS_PROVIDER": "vonage",
        "CIVICLOOP_SMS_API_KEY": vonage.api_key,
        "CIVICLOOP_SMS_SMS_FROM": OUR_NUMBER,
        "CIVICLOOP_SMS_BASE_URL": vonage.url,
        "CIVICLOOP_SECRET_SMS_API_SECRET": vonage.api_secret,
    }


@asynccontextmanager
async def real_sender(
    twilio: TwilioServer, inbox: SmtpInbox, vonage: VonageServer | None = None
) -> AsyncIterator[ChannelAccessCodeSender]:
    """SMS to the local Twilio (or Vonage), email to the inbox, all emptied first (they serve the whole module)."""
    twilio.accepted.clear()
    inbox.received.clear()
    sms: ClosingSender = TwilioSender(Channel.sms, twilio_settings(twilio))
    if vonage is not None:
        vonage.taken.clear()
        settings = sms_settings_from_environment(vonage_environment(vonage))
        assert settings is not None
        sms = sms_sender(Channel.sms, settings)
    email = SmtpEmailSender(smtp_settings(inbox.port))
    try:
        yield ChannelAccessCodeSender(sms=sms, email=email)
    finally:
        await sms.aclose()
        await email.close()


@pytest.fixture
async def channels(twilio: TwilioServer, inbox: SmtpInbox) -> AsyncIterator[ChannelAccessCodeSender]:
    async with real_sender(twilio, inbox) as sender:
        yield sender


def landed(
    twilio: TwilioServer, inbox: SmtpInbox, contact: ResidentContact, vonage: VonageServer | None = None
) -> list[str]:
    if contact.kind is ContactKind.phone and vonage is not None:
        texts = [t.text for t in vonage.to(contact.value)]
    elif contact.kind is ContactKind.phone:
        texts = [m.body for m in twilio.to(contact.value)]
    else:
        texts = [r.message.get_body(preferencelist=("plain",)).get_content() for r in inbox.to(contact.value)]
    return [found.group(1) for text in texts for found in [_CODE.search(text)] if found]


@pytest.fixture(params=["sink", "twilio+smtp", "vonage+smtp"])
async def delivery(
    request, tmp_path: Path, twilio: TwilioServer, inbox: SmtpInbox, vonage: VonageServer
) -> AsyncIterator[Delivery]:
    if request.param == "sink":
        path = tmp_path / "codes.jsonl"
        yield Delivery(
            FileAccessCodeSink(path),
            lambda contact: [c["code"] for c in read_sink(path) if c["to"] == contact.value],
        )
        return
    second = vonage if request.param == "vonage+smtp" else None
    async with real_sender(twilio, inbox, second) as sender:
        yield Delivery(sender, lambda contact: landed(twilio, inbox, contact, second))


# -- the contract ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("contact", [PHONE, EMAIL], ids=["phone", "email"])
async def test_a_code_reaches_its_contact_once(delivery: Delivery, contact: ResidentContact):
    assert delivery.sender.delivers(contact.kind)
    await delivery.sender.send(message(contact, "482913"))
    assert delivery.codes_at(contact) == ["482913"]


async def test_codes_sent_at_once_each_reach_their_own_contact_once(delivery: Delivery):
    phones = [ResidentContact(ContactKind.phone, f"+1202555{n:04d}") for n in range(180, 186)]
    emails = [ResidentContact(ContactKind.email, f"resident{n}@example.org") for n in range(6)]
    contacts = phones + emails
    await asyncio.gather(*(delivery.sender.send(message(c, f"{n:06d}")) for n, c in enumerate(contacts)))
    assert [delivery.codes_at(c) for c in contacts] == [[f"{n:06d}"] for n in range(len(contacts))]


async def test_a_message_shows_neither_its_contact_nor_its_code(delivery: Delivery):
    shown = repr(message(PHONE, "482913"))
    assert "482913" not in shown and "5550171" not in shown


# -- what only the real sender does ----------------------------------------------------------------------------------


async def test_a_spanish_speaking_resident_reads_spanish(channels, twilio: TwilioServer, inbox: SmtpInbox):
    await channels.send(message(PHONE, "551204", language="es"))
    await channels.send(message(EMAIL, "551205", language="es"))
    [sms] = twilio.to(PHONE.value)
    assert sms.body.startswith("CivicLoop: su código es 551204.") and sms.sender == OUR_NUMBER
    [mail] = [r.message for r in inbox.to(EMAIL.value)]
    assert mail["Content-Language"] == "es" and mail["Subject"] == "Su código para entrar en CivicLoop"
    assert "minutos" in mail.get_body().get_content()


async def test_an_email_code_says_nothing_of_it_outside_its_body(channels, inbox: SmtpInbox):
    await channels.send(message(EMAIL, "551206"))
    [mail] = [r.message for r in inbox.to(EMAIL.value)]
    for header in ("Subject", "Message-ID"):
        assert "551206" not in mail[header] and "rosa" not in mail[header].lower()
    assert mail["Auto-Submitted"] == "auto-generated"


async def test_a_number_twilio_refuses_is_not_delivered_and_the_error_names_neither_number_nor_code(
    channels, twilio: TwilioServer
):
    twilio.unsubscribed.add("+12025550172")
    with pytest.raises(CodeNotDelivered) as refused:
        await channels.send(message(ResidentContact(ContactKind.phone, "+12025550172"), "551207"))
    assert "twilio refused" in str(refused.value) and "21610" in str(refused.value)
    assert "5550172" not in str(refused.value) and "551207" not in str(refused.value)


async def test_an_sms_outage_is_not_delivered_and_the_next_code_goes(channels, twilio: TwilioServer):
    twilio.answer_next(1, 500)
    with pytest.raises(CodeNotDelivered, match="twilio failed"):
        await channels.send(message(PHONE, "551208"))
    await channels.send(message(PHONE, "551209"))
    assert [_CODE.search(m.body).group(1) for m in twilio.to(PHONE.value)] == ["551209"]


async def test_a_relay_nobody_answers_is_not_delivered():
    email = SmtpEmailSender(smtp_settings(free_port()))
    with pytest.raises(CodeNotDelivered, match="smtp failed"):
        await ChannelAccessCodeSender(email=email).send(message(EMAIL, "551210"))


async def test_a_kind_of_contact_without_its_channel_is_not_delivered_to(inbox: SmtpInbox):
    only_email = ChannelAccessCodeSender(email=SmtpEmailSender(smtp_settings(inbox.port)))
    assert only_email.delivers(ContactKind.email) and not only_email.delivers(ContactKind.phone)
    with pytest.raises(CodeNotDelivered, match="no channel delivers codes to a phone"):
        await only_email.send(message(PHONE, "551211"))
