"""Residents' one-time codes delivered for real, through `civicloop_channels`: a phone by SMS (the configured
provider, `CIVICLOOP_SMS_*`), an e-mail address by email (intake's SMTP relay, `CIVICLOOP_STAFF_SMTP_*`).

Each code goes once, under a message id of its own that says nothing of the contact or the code. What a channel
answered other than `accepted` becomes `CodeNotDelivered`, its words (which name no recipient, by the port's
contract) with the code blanked in case a provider quoted the text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from civicloop_channels.message import Channel, ChannelSender, Outcome, OutgoingMessage

from civicloop_intake.domain.code_texts import email_letter, minutes_left, sms_text
from civicloop_intake.domain.resident_access import ContactKind
from civicloop_intake.service_layer.resident_ports import (
    AccessCodeMessage,
    AccessCodeSender,
    CodeNotDelivered,
)


class ChannelAccessCodeSender(AccessCodeSender):
    """`sms` for phones, `email` for e-mail addresses; a kind without its channel is not delivered to."""

    def __init__(
        self,
        *,
        sms: ChannelSender | None = None,
        email: ChannelSender | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if sms is not None and sms.channel is not Channel.sms:
            raise ValueError("codes to phones go by an sms sender")
        if email is not None and email.channel is not Channel.email:
            raise ValueError("codes to e-mail addresses go by an email sender")
        self._senders: dict[ContactKind, ChannelSender] = {}
        if sms is not None:
            self._senders[ContactKind.phone] = sms
        if email is not None:
            self._senders[ContactKind.email] = email
        self._clock = clock

    def delivers(self, kind: ContactKind) -> bool:
        return kind in self._senders

    async def send(self, message: AccessCodeMessage) -> None:
        sender = self._senders.get(message.to.kind)
        if sender is None:
            raise CodeNotDelivered(f"no channel delivers codes to a {message.to.kind.value}")
        outgoing = self._outgoing(message, sender.channel)
        result = await sender.send(outgoing)
        if result.outcome is not Outcome.accepted:
            said = (result.error or "-").replace(message.code, "<code>")
            raise CodeNotDelivered(f"{result.provider} {result.outcome.value}: {said}")

    def _outgoing(self, message: AccessCodeMessage, channel: Channel) -> OutgoingMessage:
        """The message on `channel`, in the resident's language."""
        minutes = minutes_left(message.expires_at, self._clock())
        message_id = f"resident-code-{uuid.uuid4()}"
        if channel is Channel.sms:
            text = sms_text(message.code, message.language, minutes)
            return OutgoingMessage(message_id, channel, message.to.value, text, language=message.language)
        letter = email_letter(message.code, message.language, minutes)
        return OutgoingMessage(
            message_id,
            channel,
            message.to.value,
            letter.text,
            language=message.language,
            subject=letter.subject,
        )
