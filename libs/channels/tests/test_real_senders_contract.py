"""The real senders keep the contract every channel sender keeps (`civicloop_testing.channel_contract`): Twilio's
SMS through the `twilio` SDK against the local Twilio server, and email through `aiosmtplib` against aiosmtpd."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from civicloop_channels.email import SmtpEmailSender, SmtpSettings, message_id_of
from civicloop_channels.message import Channel, OutgoingMessage
from civicloop_channels.twilio_sms import TwilioSender, TwilioSettings
from civicloop_testing.channel_contract import ChannelSenderContract
from civicloop_testing.processes import free_port
from civicloop_testing.twilio_server import TwilioServer, twilio_server

OUR_NUMBER = "+15005550006"


class TestTwilioSmsContract(ChannelSenderContract):
    @pytest.fixture
    def twilio(self) -> Iterator[TwilioServer]:
        with twilio_server(numbers=(OUR_NUMBER,)) as server:
            self.server = server
            yield server

    @pytest.fixture
    async def sender(self, twilio: TwilioServer) -> AsyncIterator[TwilioSender]:
        settings = TwilioSettings(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token,
            sms_from=OUR_NUMBER,
            base_url=twilio.url,
            timeout_s=5.0,
        )
        sender = TwilioSender(Channel.sms, settings)
        yield sender
        await sender.aclose()

    @pytest.fixture
    def address(self) -> str:
        return "+12025550143"

    async def arrange_refusal(self, sender: TwilioSender) -> None:
        self.server.unsubscribed.add("+12025550143")  # the resident texted STOP: Twilio's 21610

    async def arrange_failure(self, sender: TwilioSender) -> None:
        self.server.answer_next(1, 500)

    async def received(self, sender: TwilioSender, message: OutgoingMessage) -> bool:
        return any(m.to == message.to and m.body == message.text for m in self.server.accepted)


class _RelayWithAnswers:
    """aiosmtpd keeping what it accepts, answering RCPT with the next queued reply (a refusal, a deferral)."""

    def __init__(self) -> None:
        self.inbox: list[EmailMessage] = []
        self.next_rcpt: deque[str] = deque()

    async def handle_RCPT(  # aiosmtpd calls it by this name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.next_rcpt:
            return self.next_rcpt.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's name
        self.inbox.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


class TestSmtpEmailContract(ChannelSenderContract):
    @pytest.fixture
    def relay(self) -> Iterator[_RelayWithAnswers]:
        handler = _RelayWithAnswers()
        self.port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=self.port)
        controller.start()
        self.relay = handler
        try:
            yield handler
        finally:
            controller.stop()

    @pytest.fixture
    async def sender(self, relay: _RelayWithAnswers) -> AsyncIterator[SmtpEmailSender]:
        sender = SmtpEmailSender(
            SmtpSettings(
                host="127.0.0.1",
                port=self.port,
                mail_from="CivicLoop <no-reply@county.example>",
                timeout_s=5.0,
            )
        )
        yield sender
        await sender.close()

    @pytest.fixture
    def address(self) -> str:
        return "resident@example.org"

    async def arrange_refusal(self, sender: SmtpEmailSender) -> None:
        self.relay.next_rcpt.append("550 5.1.1 <resident@example.org>: no such mailbox")

    async def arrange_failure(self, sender: SmtpEmailSender) -> None:
        self.relay.next_rcpt.append("451 4.3.0 try again later")

    async def received(self, sender: SmtpEmailSender, message: OutgoingMessage) -> bool:
        message_id = message_id_of(message.message_id, "county.example")
        return any(m["Message-ID"] == message_id and m["To"] == message.to for m in self.relay.inbox)
