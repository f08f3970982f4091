"""The real code sender over channel senders that record what they were handed (no provider): which channel a
kind of contact takes, the message it is handed, and what a refusal says."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage, SendResult
from civicloop_intake.adapters.channel_access_codes import ChannelAccessCodeSender
from civicloop_intake.domain.resident_access import ContactKind, ResidentContact
from civicloop_intake.service_layer.resident_ports import AccessCodeMessage, CodeNotDelivered

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
PHONE = ResidentContact(ContactKind.phone, "+12025550143")
EMAIL = ResidentContact(ContactKind.email, "ana@example.org")


class Recorded:
    def __init__(self, channel: Channel, answer: SendResult | None = None) -> None:
        self.channel = channel
        self.answer = answer or SendResult(Outcome.accepted, "fake", provider_id="p-1")
        self.handed: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.handed.append(message)
        return self.answer


def code_for(contact: ResidentContact, language: str = "en") -> AccessCodeMessage:
    return AccessCodeMessage(contact, "482913", NOW + timedelta(minutes=10), language)


async def test_a_phone_takes_the_sms_sender_and_an_address_the_email_sender():
    sms, email = Recorded(Channel.sms), Recorded(Channel.email)
    sender = ChannelAccessCodeSender(sms=sms, email=email, clock=lambda: NOW)
    await sender.send(code_for(PHONE, "es"))
    await sender.send(code_for(EMAIL))
    [text] = sms.handed
    assert (text.channel, text.to, text.language, text.subject) == (Channel.sms, "+12025550143", "es", None)
    assert text.text == "CivicLoop: su código es 482913. Vence en 10 min. No lo comparta."
    [mail] = email.handed
    assert (mail.channel, mail.to, mail.subject) == (
        Channel.email,
        "ana@example.org",
        "Your CivicLoop sign-in code",
    )
    assert "482913" in mail.text and "10 minutes" in mail.text
    # Each message its own id, saying nothing of the contact or the code.
    assert text.message_id != mail.message_id
    for message_id in (text.message_id, mail.message_id):
        assert (
            message_id.startswith("resident-code-") and "482913" not in message_id and "555" not in message_id
        )


@pytest.mark.parametrize("outcome", [Outcome.refused, Outcome.failed])
async def test_what_a_channel_did_not_take_is_not_delivered_with_the_code_blanked(outcome):
    said = SendResult(outcome, "smtp", error="SMTP 550: spam filter quoted '482913'")
    sender = ChannelAccessCodeSender(email=Recorded(Channel.email, said))
    with pytest.raises(CodeNotDelivered) as not_delivered:
        await sender.send(code_for(EMAIL))
    assert str(not_delivered.value) == f"smtp {outcome.value}: SMTP 550: spam filter quoted '<code>'"


def test_a_sender_on_the_wrong_channel_is_refused_at_start():
    with pytest.raises(ValueError, match="sms sender"):
        ChannelAccessCodeSender(sms=Recorded(Channel.whatsapp))
    with pytest.raises(ValueError, match="email sender"):
        ChannelAccessCodeSender(email=Recorded(Channel.sms))
